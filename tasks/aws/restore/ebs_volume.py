"""EBS volume: create a volume from the newest snapshot (or its DR-region copy)."""
from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from tasks.aws.clients import AwsClients
from tasks.aws.errors import is_not_found
from tasks.aws.restore.base import (
    CopyState,
    NoRecoveryPoint,
    RecoveryPoint,
    RestoreSpec,
    rpo_from_point,
)

KIND = "ebs_volume"
NAMED_COPY = False


def recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = clients.client("ec2", spec.region, spec.account)
    if spec.mode == "snapshot-dr":
        snapshots = [s for s in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]
                     if s.get("VolumeId") == spec.source_id or spec.source_id in (s.get("Description") or "")]
    else:
        snapshots = client.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "volume-id", "Values": [spec.source_id]}])["Snapshots"]
    ready = [s for s in snapshots if s.get("State") == "completed"]
    if not ready:
        raise NoRecoveryPoint(f"no completed snapshot of {spec.source_id} in {spec.region}")
    newest = max(ready, key=lambda s: s["StartTime"])
    return RecoveryPoint(newest["SnapshotId"], newest["StartTime"])


def start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint) -> str:
    client = clients.client("ec2", spec.region, spec.account)
    zone = spec.availability_zone if spec.region == spec.source_region and spec.availability_zone else f"{spec.region}a"
    volume = client.create_volume(SnapshotId=point.identifier, AvailabilityZone=zone, VolumeType="gp3",
                                  TagSpecifications=[{"ResourceType": "volume",
                                                      "Tags": spec.tag_list + [{"Key": "Name", "Value": spec.copy_name}]}])
    return volume["VolumeId"]


def state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    from tasks.aws import ec2

    volume = ec2.get_volume(clients.client("ec2", spec.region, spec.account), copy_id)
    if volume is None:
        return CopyState("missing")
    state = volume.get("State", "")
    mapped = "available" if state in ("available", "in-use") else ("failed" if state == "error" else "creating")
    return CopyState(mapped, copy_id, None, {"status": state, "size": volume.get("Size")})


def delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> None:
    try:
        clients.client("ec2", spec.region, spec.account).delete_volume(VolumeId=copy_id)
    except ClientError as exc:
        if not is_not_found(exc, "InvalidVolume.NotFound"):
            raise


def rpo_seconds(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    return rpo_from_point(point, started, mode)
