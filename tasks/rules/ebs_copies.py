"""Pure: which EBS snapshots in a DR region are copies of a volume's snapshots.

A cross-region copy does not keep its source volume: AWS gives it an arbitrary `VolumeId` (vol-ffffffff,
API_CopySnapshot) and, unless the caller writes its own, the description "[Copied snap-... from REGION]".
What survives a real copy is the source snapshot's id: recorded in a tag by the copying job (COPY_SOURCE_TAG)
or in AWS's default description. The audit (tasks/aws/observe.py) and the restore test
(tasks/aws/restore/ebs_volume.py) both decide with `is_copy_of`.
"""

from __future__ import annotations

import re
from typing import Any

# AWS Backup tags its EBS snapshots with the protected volume, and a copy to another Region carries all
# the original's tags (https://docs.aws.amazon.com/aws-backup/latest/devguide/tags-on-backups.html).
AWS_BACKUP_TAG = "aws:backup:source-resource"
COPY_SOURCE_TAG = "dr:source-snapshot-id"  # written by copy jobs (and the demo's) when they copy a snapshot
ARBITRARY_VOLUME_ID = "vol-ffffffff"
_COPIED = re.compile(r"\[Copied (snap-[0-9a-f]+) from [a-z0-9-]+\]")


def source_snapshot_id(snapshot: dict[str, Any]) -> str | None:
    """The snapshot this one was copied from, if it says: its tag first, then AWS's default description."""
    tags = {t.get("Key"): t.get("Value") for t in snapshot.get("Tags") or []}
    tagged = tags.get(COPY_SOURCE_TAG)
    if isinstance(tagged, str) and tagged:
        return tagged
    match = _COPIED.search(str(snapshot.get("Description") or ""))
    return match.group(1) if match else None


def backup_source_volume(snapshot: dict[str, Any]) -> str | None:
    """The volume an AWS Backup snapshot (or its copy) was taken from, from AWS Backup's tag (the volume's
    ARN, ending volume/vol-..., or its id)."""
    for tag in snapshot.get("Tags") or []:
        if tag.get("Key") == AWS_BACKUP_TAG:
            match = re.search(r"vol-[0-9a-f]+", str(tag.get("Value") or ""))
            return match.group(0) if match else None
    return None


def is_copy_of(snapshot: dict[str, Any], volume_id: str, source_snapshot_ids: set[str]) -> bool:
    """A snapshot in another region holds `volume_id`'s data: copied from one of its snapshots, made by
    AWS Backup from the volume, or (a copy tool that keeps it) still naming the volume itself."""
    if source_snapshot_id(snapshot) in source_snapshot_ids or backup_source_volume(snapshot) == volume_id:
        return True
    return snapshot.get("VolumeId") == volume_id and volume_id != ARBITRARY_VOLUME_ID
