"""S3 bucket: copy the object versions as of the recovery point into a new bucket."""

from __future__ import annotations

import hashlib
from datetime import datetime

from botocore.exceptions import ClientError

from tasks.aws.clients import AwsClients
from tasks.aws.errors import is_not_found
from tasks.aws.restore.base import (
    CopyState,
    NoRecoveryPoint,
    RecoveryPoint,
    RestoreSpec,
)
from tasks.rules.restore_config import CopyConfig

KIND = "s3_bucket"
NAMED_COPY = True


def recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = clients.client("s3", spec.region, spec.account)
    try:
        listing = client.list_object_versions(Bucket=spec.source_id, MaxKeys=100)
    except ClientError as exc:
        if is_not_found(exc, "NoSuchBucket"):
            raise NoRecoveryPoint(f"bucket {spec.source_id} not found") from None
        raise
    versions = [v for v in listing.get("Versions", []) if v.get("VersionId") not in (None, "null")]
    if not versions:
        raise NoRecoveryPoint(f"bucket {spec.source_id} has no object versions to restore (versioning off or empty)")
    # Restore a prior version when one exists: that is what recovering from an overwrite needs.
    chosen = next((v for v in versions if not v.get("IsLatest")), versions[0])
    # The newest version listed is the latest state the bucket can be recovered to (as LatestRestorableTime
    # is for PITR): versioning keeps every write, so nothing written before it is lost.
    newest = max(v["LastModified"] for v in versions)
    return RecoveryPoint(
        chosen["VersionId"],
        chosen["LastModified"],
        {"key": chosen["Key"], "etag": chosen.get("ETag"), "newest_version_time": newest},
        mechanism="S3 versioning",
    )


def start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint, config: CopyConfig | None = None) -> str:
    """`config` is unused: no configuration is carried for this kind (no `configure`)."""
    client = clients.client("s3", spec.region, spec.account)
    create = {} if spec.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": spec.region}}
    client.create_bucket(Bucket=spec.copy_name, **create)
    client.put_bucket_tagging(Bucket=spec.copy_name, Tagging={"TagSet": spec.tag_list})
    key = point.detail["key"]
    client.copy_object(
        Bucket=spec.copy_name,
        Key=f"restore/{key}",
        CopySource={"Bucket": spec.source_id, "Key": key, "VersionId": point.identifier},
    )
    return spec.copy_name


def state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    client = clients.client("s3", spec.region, spec.account)
    try:
        client.head_bucket(Bucket=copy_id)
    except ClientError as exc:
        if is_not_found(exc, "404", "NoSuchBucket"):
            return CopyState("missing")
        raise
    detail = {}
    if point is not None:
        key = point.detail["key"]
        original = client.get_object(Bucket=spec.source_id, Key=key, VersionId=point.identifier)["Body"].read()
        restored = client.get_object(Bucket=copy_id, Key=f"restore/{key}")["Body"].read()
        detail = {
            "key": key,
            "source_sha256": hashlib.sha256(original).hexdigest(),
            "restored_sha256": hashlib.sha256(restored).hexdigest(),
        }
        detail["checksum_match"] = detail["source_sha256"] == detail["restored_sha256"]
    return CopyState("available", f"s3://{copy_id}/restore/", None, detail)


def delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> bool:
    client = clients.client("s3", spec.region, spec.account)
    try:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=copy_id):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                client.delete_object(Bucket=copy_id, Key=item["Key"], VersionId=item["VersionId"])
        client.delete_bucket(Bucket=copy_id)
    except ClientError as exc:
        if not is_not_found(exc, "NoSuchBucket", "404"):
            raise
    return True


def rpo_seconds(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    """The age of the newest object version when the restore started (not the restored prior version's)."""
    newest = point.detail.get("newest_version_time")
    return None if newest is None else max(0.0, (started - newest).total_seconds())
