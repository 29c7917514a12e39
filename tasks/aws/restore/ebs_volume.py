"""EBS volume: create a volume from the newest snapshot (or its DR-region copy)."""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from tasks.aws import ec2
from tasks.aws.clients import AwsClients
from tasks.aws.errors import is_not_found
from tasks.aws.restore.base import (
    CopyState,
    NoRecoveryPoint,
    RecoveryPoint,
    RestoreSpec,
    rpo_from_point,
)
from tasks.aws.restore.configure import ensure_carried, where
from tasks.rules.ebs_copies import is_copy_of
from tasks.rules.restore_config import CopyConfig, ebs_volume_config

KIND = "ebs_volume"
NAMED_COPY = False


def recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = clients.client("ec2", spec.region, spec.account)
    if spec.mode == "snapshot-dr":
        # A copy keeps only its source snapshot's id (tasks/rules/ebs_copies.py): match it against the
        # source volume's snapshots in the source region.
        source = clients.client("ec2", spec.source_region, spec.account)
        sources = {
            s["SnapshotId"]
            for s in source.describe_snapshots(
                OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [spec.source_id]}]
            )["Snapshots"]
        }
        snapshots = [
            s
            for s in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]
            if is_copy_of(s, spec.source_id, sources)
        ]
    else:
        snapshots = client.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [spec.source_id]}]
        )["Snapshots"]
    ready = [s for s in snapshots if s.get("State") == "completed"]
    if not ready:
        raise NoRecoveryPoint(f"no completed snapshot of {spec.source_id} in {spec.region}")
    newest = max(ready, key=lambda s: s["StartTime"])
    return RecoveryPoint(
        newest["SnapshotId"],
        newest["StartTime"],
        {"encrypted": bool(newest.get("Encrypted"))},
        mechanism=ec2.snapshot_mechanism(newest),
    )


def configure(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint | None = None) -> CopyConfig:
    """The source volume's type, IOPS, throughput and encryption (read in the source's region); if the
    source is gone, the snapshot says whether it is encrypted and the copy takes CreateVolume's defaults."""
    volume = ec2.get_volume(clients.client("ec2", spec.source_region, spec.account), spec.source_id)
    if volume is None:
        volume = {"VolumeId": spec.source_id, "Encrypted": bool(point and point.detail.get("encrypted"))}
    return ebs_volume_config(volume, where(spec))


def start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint, config: CopyConfig | None = None) -> str:
    """Raises NotCarried, before any create call, when the copy's KMS key is missing in its region.
    `config`: what `configure` returned (read again if not given)."""
    config = config if config is not None else configure(clients, spec, point)
    ensure_carried(clients, spec, config)
    client = clients.client("ec2", spec.region, spec.account)
    zone = spec.availability_zone if spec.region == spec.source_region and spec.availability_zone else f"{spec.region}a"
    volume = client.create_volume(
        SnapshotId=point.identifier,
        AvailabilityZone=zone,
        **{"VolumeType": "gp3", **config.kwargs},  # the source's type (gp3 if it cannot be read)
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": spec.tag_list + [{"Key": "Name", "Value": spec.copy_name}]}
        ],
    )
    return volume["VolumeId"]


def state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    volume = ec2.get_volume(clients.client("ec2", spec.region, spec.account), copy_id)
    if volume is None:
        return CopyState("missing")
    state = volume.get("State", "")
    mapped = "available" if state in ("available", "in-use") else ("failed" if state == "error" else "creating")
    return CopyState(
        mapped,
        copy_id,
        None,
        {
            "status": state,
            "size": volume.get("Size"),
            "type": volume.get("VolumeType"),
            "kms_key": volume.get("KmsKeyId"),
        },
    )


def delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> bool:
    """True once the delete is accepted; False while the volume is not yet `available` (API_DeleteVolume:
    "The volume must be in the available state"; the teardown asks again)."""
    try:
        clients.client("ec2", spec.region, spec.account).delete_volume(VolumeId=copy_id)
    except ClientError as exc:
        if is_not_found(exc, "IncorrectState", "VolumeInUse"):
            return False
        if not is_not_found(exc, "InvalidVolume.NotFound"):
            raise
    return True


def rpo_seconds(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    return rpo_from_point(point, started, mode)
