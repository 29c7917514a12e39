"""DynamoDB table and point-in-time-recovery reads."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tasks.aws.errors import is_not_found
from tasks.aws.tags import tag_dict


def get_table(client, name: str) -> dict | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if is_not_found(exc, "ResourceNotFoundException", "TableNotFoundException"):
            return None
        raise


def get_pitr_status(client, name: str) -> str:
    return get_pitr(client, name).get("PointInTimeRecoveryStatus", "DISABLED")


def get_pitr(client, name: str) -> dict:
    """The table's PointInTimeRecoveryDescription (status, and EarliestRestorableDateTime while enabled)."""
    description = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    return description.get("PointInTimeRecoveryDescription", {})


def list_table_names(client) -> list[str]:
    names = []
    for page in client.get_paginator("list_tables").paginate():
        names += page.get("TableNames", [])
    return names


def get_tags(client, table_arn: str) -> dict[str, str]:
    return tag_dict(client.list_tags_of_resource(ResourceArn=table_arn).get("Tags"))
