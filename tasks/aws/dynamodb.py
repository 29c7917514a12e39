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


# Who made each on-demand backup type (API_BackupDetails: BackupType). ListBackups lists USER ones unless
# asked for another type; ALL means USER and SYSTEM only, so AWS Backup's are asked for on their own
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ListBackups.html).
BACKUP_MECHANISMS = {"USER": "DynamoDB on-demand backup", "AWS_BACKUP": "AWS Backup"}


def newest_backups(client, table: str) -> list[dict]:
    """The newest AVAILABLE backup of each type this tool restores from (USER, AWS_BACKUP), newest first."""
    newest = []
    for backup_type in BACKUP_MECHANISMS:
        best = None
        for page in client.get_paginator("list_backups").paginate(TableName=table, BackupType=backup_type):
            for summary in page.get("BackupSummaries", []):
                if summary.get("BackupStatus") != "AVAILABLE":
                    continue
                if best is None or summary["BackupCreationDateTime"] > best["BackupCreationDateTime"]:
                    best = summary
        if best is not None:
            newest.append(best)
    return sorted(newest, key=lambda b: b["BackupCreationDateTime"], reverse=True)
