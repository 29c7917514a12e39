"""AWS Backup's recovery points as each service's own API shows them (moto makes none; its Backup API
lists no recovery points).

AWS Backup has no recovery points of its own for RDS, EBS and DynamoDB (without advanced features): it
makes them with the service, and they appear there with its marks. `record()` makes one as a finished
backup job (and, with `copy_to`, a copy job) would; the listing rules below keep them where AWS keeps them.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.dynamodb import models as ddb
from moto.ec2.models import ec2_backends
from moto.rds import models as rds

EBS_DESCRIPTION = "This snapshot is created by the AWS Backup service."
SOURCE_TAG = "aws:backup:source-resource"

_backup_type = threading.local()  # the BackupType a ListBackups request asked for


def install(strict) -> None:
    patch = strict.patcher

    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBSnapshots.html: "If you don't
    # specify a SnapshotType value, then both automated and manual snapshots are returned"; `awsbackup`
    # ones only with SnapshotType=awsbackup.
    def make_describe(original):
        def describe_db_snapshots(
            self, db_instance_identifier, db_snapshot_identifier=None, snapshot_type=None, filters=None
        ):
            by_type = snapshot_type is not None or bool((filters or {}).get("snapshot-type"))
            if db_snapshot_identifier is not None and not by_type:
                # A snapshot named by id (RestoreDBInstanceFromDBSnapshot) is found whatever its type.
                filters = {**(filters or {}), "snapshot-type": ["automated", "manual", "awsbackup"]}
            found = original(self, db_instance_identifier, db_snapshot_identifier, snapshot_type, filters)
            if not by_type and db_snapshot_identifier is None:
                found = [s for s in found if s.snapshot_type != "awsbackup"]
            return found

        return describe_db_snapshots

    patch.wrap(rds.RDSBackend, "describe_db_snapshots", make_describe)

    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ListBackups.html: BackupType USER
    # (the default), SYSTEM, AWS_BACKUP, or ALL ("All types of on-demand backups (USER and SYSTEM)").
    @strict.requests.on("dynamodb", "ListBackups")
    def list_backups_by_type(response, proceed):
        _backup_type.value = response.body.get("BackupType") or "USER"
        try:
            return proceed()
        finally:
            _backup_type.value = None

    def make_list(original):
        def list_backups(self, table_name):
            wanted = getattr(_backup_type, "value", None)
            found = original(self, table_name)
            if wanted is None:
                return found
            types = {"USER", "SYSTEM"} if wanted == "ALL" else {wanted}
            return [b for b in found if b.type in types]

        return list_backups

    patch.wrap(ddb.DynamoDBBackend, "list_backups", make_list)


def record(
    kind: str,
    region: str,
    resource_id: str,
    *,
    age: timedelta = timedelta(hours=3),
    copy_to: str | None = None,
    copy_age: timedelta | None = None,
    account: str = DEFAULT_ACCOUNT_ID,
) -> dict[str, str]:
    """A finished AWS Backup job for `resource_id` (rds_instance | ebs_volume | dynamodb_table) taken `age`
    ago, and with `copy_to` its copy in that region (data as old; `copy_age`: when the copy job ran).
    Returns the ids made: {"point": ..., "copy": ...}."""
    job = secrets.token_hex(8)
    taken = utcnow() - age
    made = {}
    if kind == "rds_instance":
        backend = rds.rds_backends[account][region]
        # RDS names AWS Backup's snapshots awsbackup:job-<id> with SnapshotType awsbackup (API_DBSnapshot).
        snapshot = backend.create_db_snapshot(
            resource_id, f"awsbackup:job-{job}", snapshot_type="awsbackup", original_created_at=taken
        )
        snapshot.created = taken
        made["point"] = snapshot.db_snapshot_identifier
        if copy_to:
            target = rds.rds_backends[account][copy_to]
            copy = target.copy_db_snapshot(snapshot.arn, f"awsbackup:copyjob-{job}")
            copy.snapshot_type = "awsbackup"
            copy.original_snapshot_create_time = taken
            copy.created = utcnow() - (copy_age if copy_age is not None else age)
            made["copy"] = copy.db_snapshot_identifier
    elif kind == "ebs_volume":
        backend = ec2_backends[account][region]
        volume_arn = f"arn:aws:ec2:{region}:{account}:volume/{resource_id}"
        snapshot = backend.create_snapshot(resource_id, EBS_DESCRIPTION)
        snapshot.start_time = taken
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/tags-on-backups.html: the protected resource's
        # tags go onto the recovery point; a copy to another Region carries all the original's tags.
        backend.create_tags([snapshot.id], {SOURCE_TAG: volume_arn})
        made["point"] = snapshot.id
        if copy_to:
            target = ec2_backends[account][copy_to]
            copy = target.copy_snapshot(snapshot.id, region, EBS_DESCRIPTION, None)
            copy.start_time = utcnow() - (copy_age if copy_age is not None else age)
            target.create_tags([copy.id], {SOURCE_TAG: volume_arn})
            made["copy"] = copy.id
    elif kind == "dynamodb_table":
        backend = ddb.dynamodb_backends[account][region]
        backup = backend.create_backup(resource_id, f"awsbackup-job-{job}")
        backup.type = "AWS_BACKUP"  # API_BackupSummary: BackupType AWS_BACKUP, made by AWS Backup
        backup.creation_date_time = taken
        made["point"] = backup.arn
    else:
        raise ValueError(f"AWS Backup points for {kind} are not emulated")
    return made
