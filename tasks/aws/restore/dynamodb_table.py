"""DynamoDB table: restore from a backup or to a point in time."""

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
from tasks.rules.restore_config import CopyConfig

KIND = "dynamodb_table"
NAMED_COPY = True


PITR = "DynamoDB point-in-time recovery"


def recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = clients.client("dynamodb", spec.region, spec.account)
    if spec.mode == "snapshot":
        return _newest_backup(client, spec)
    try:
        description = client.describe_continuous_backups(TableName=spec.source_id)["ContinuousBackupsDescription"]
    except ClientError as exc:
        if is_not_found(exc, "TableNotFoundException", "ResourceNotFoundException"):
            raise NoRecoveryPoint(f"table {spec.source_id} not found in {spec.region}") from None
        raise
    pitr = description.get("PointInTimeRecoveryDescription", {})
    if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise NoRecoveryPoint(f"point-in-time recovery is off for table {spec.source_id}")
    if spec.mode == "pitr-time":
        return RecoveryPoint(spec.restore_time.isoformat(), spec.restore_time, mechanism=PITR)
    return RecoveryPoint("latest", pitr.get("LatestRestorableDateTime"), mechanism=PITR)


def _newest_backup(client, spec: RestoreSpec) -> RecoveryPoint:
    """The newest on-demand backup: AWS Backup's (BackupType AWS_BACKUP) or the owner's (USER)."""
    from tasks.aws import dynamodb

    try:
        backups = dynamodb.newest_backups(client, spec.source_id)
    except ClientError as exc:
        if is_not_found(exc, "TableNotFoundException", "ResourceNotFoundException"):
            raise NoRecoveryPoint(f"table {spec.source_id} not found in {spec.region}") from None
        raise
    if not backups:
        raise NoRecoveryPoint(f"no available on-demand or AWS Backup backup of table {spec.source_id}")
    newest = backups[0]
    mechanism = dynamodb.BACKUP_MECHANISMS.get(newest.get("BackupType", ""), newest.get("BackupType"))
    return RecoveryPoint(newest["BackupArn"], newest["BackupCreationDateTime"], mechanism=mechanism)


def start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint, config: CopyConfig | None = None) -> str:
    """`config` is unused: no configuration is carried for this kind (no `configure`)."""
    client = clients.client("dynamodb", spec.region, spec.account)
    if spec.mode == "snapshot":
        # API_RestoreTableFromBackup takes the backup's ARN, whoever made it (AWS Backup's included).
        table = client.restore_table_from_backup(TargetTableName=spec.copy_name, BackupArn=point.identifier)[
            "TableDescription"
        ]
    else:
        kwargs = (
            {"UseLatestRestorableTime": True} if spec.mode != "pitr-time" else {"RestoreDateTime": spec.restore_time}
        )
        table = client.restore_table_to_point_in_time(
            SourceTableName=spec.source_id, TargetTableName=spec.copy_name, **kwargs
        )["TableDescription"]
    client.tag_resource(ResourceArn=table["TableArn"], Tags=spec.tag_list)
    return spec.copy_name


def state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    from tasks.aws import dynamodb

    table = dynamodb.get_table(clients.client("dynamodb", spec.region, spec.account), copy_id)
    if table is None:
        return CopyState("missing")
    status = table.get("TableStatus", "")
    mapped = "available" if status == "ACTIVE" else "creating"
    return CopyState(mapped, table.get("TableArn"), None, {"status": status, "items": table.get("ItemCount")})


def delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> bool:
    """True once the delete is accepted; False while the table is still CREATING (API_DeleteTable:
    ResourceInUseException; the teardown asks again)."""
    try:
        clients.client("dynamodb", spec.region, spec.account).delete_table(TableName=copy_id)
    except ClientError as exc:
        if is_not_found(exc, "ResourceInUseException"):
            return False
        if not is_not_found(exc, "ResourceNotFoundException", "TableNotFoundException"):
            raise
    return True


def rpo_seconds(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    return rpo_from_point(point, started, mode)
