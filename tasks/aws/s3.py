"""S3 bucket configuration reads. Each "not configured" error code means "off", not a failure."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tasks.aws.errors import is_not_found
from tasks.aws.tags import tag_dict

MISSING_BUCKET = ("NoSuchBucket", "404")


def get_versioning(client, bucket: str) -> str | None:
    """'Enabled', 'Suspended', or None for never enabled; raises BucketMissing if there is no bucket."""
    try:
        return client.get_bucket_versioning(Bucket=bucket).get("Status")
    except ClientError as exc:
        if is_not_found(exc, *MISSING_BUCKET):
            raise BucketMissing(bucket) from None
        raise


def get_replication_destinations(client, bucket: str) -> list[str]:
    try:
        rules = client.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"].get("Rules", [])
    except ClientError as exc:
        if is_not_found(exc, "ReplicationConfigurationNotFoundError"):
            return []
        raise
    return sorted(
        {rule["Destination"]["Bucket"].split(":::")[-1] for rule in rules if rule.get("Status", "Enabled") == "Enabled"}
    )


def get_default_encryption(client, bucket: str) -> bool:
    try:
        rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"].get("Rules", [])
    except ClientError as exc:
        if is_not_found(exc, "ServerSideEncryptionConfigurationNotFoundError"):
            return False
        raise
    return bool(rules)


def get_object_lock(client, bucket: str) -> bool:
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except ClientError as exc:
        if is_not_found(exc, "ObjectLockConfigurationNotFoundError"):
            return False
        raise
    return config.get("ObjectLockEnabled") == "Enabled"


def get_tags(client, bucket: str) -> dict[str, str]:
    try:
        tag_set = client.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except ClientError as exc:
        if is_not_found(exc, "NoSuchTagSet"):
            return {}
        raise
    return tag_dict(tag_set)


def list_bucket_names(client) -> list[str]:
    names = []
    for page in client.get_paginator("list_buckets").paginate():
        names += [bucket["Name"] for bucket in page.get("Buckets", [])]
    return names


class BucketMissing(Exception):
    pass
