"""EBS volumes and snapshots."""

from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import ClientError

from tasks.aws.errors import is_not_found
from tasks.rules.ebs_copies import backup_source_volume


def get_volume(client, volume_id: str) -> dict | None:
    try:
        volumes = client.describe_volumes(VolumeIds=[volume_id])["Volumes"]
    except ClientError as exc:
        if is_not_found(exc, "InvalidVolume.NotFound", "InvalidVolumeID.Malformed"):
            return None
        raise
    return volumes[0] if volumes else None


def iter_volumes_tagged(client, tags: dict[str, str]) -> Iterator[dict]:
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in sorted(tags.items())]
    for page in client.get_paginator("describe_volumes").paginate(Filters=filters):
        yield from page["Volumes"]


def iter_own_snapshots(client, volume_ids: list[str] | None = None) -> Iterator[dict]:
    # OwnerIds=['self'] keeps public snapshots out on AWS; the volume-id filter narrows to what we need.
    filters = [{"Name": "volume-id", "Values": volume_ids}] if volume_ids else []
    for page in client.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=filters):
        yield from page["Snapshots"]


AWS_BACKUP_DESCRIPTION = "created by the AWS Backup service"


def snapshot_mechanism(snapshot: dict) -> str:
    if backup_source_volume(snapshot) or AWS_BACKUP_DESCRIPTION in (snapshot.get("Description") or ""):
        return "AWS Backup"
    if any(t.get("Key") == "aws:dlm:lifecycle-policy-id" for t in snapshot.get("Tags") or []):
        return "Data Lifecycle Manager"
    return "EBS snapshot"
