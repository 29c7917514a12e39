"""DynamoDB: tables that are CREATING and DELETING for a while, and point-in-time recovery as AWS bounds it."""

from __future__ import annotations

import copy
import threading
from datetime import datetime, timedelta

from moto.core.utils import unix_time, utcnow
from moto.dynamodb import models as ddb
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import table as ddb_table

from tasks.emulator.errors import StrictError
from tasks.emulator.timeline import from_epoch, naive_utc, within

_restore_to = threading.local()  # the point a RestoreTableToPointInTime request asked for


def install(strict) -> None:
    config, life, patch = strict.config, strict.lifecycle, strict.patcher
    lag = timedelta(seconds=config.restorable_lag_seconds)

    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TableDescription.html: TableStatus
    # is CREATING until the table (or the restore into it) is ready, DELETING after DeleteTable.
    def make_describe(original):
        def describe(self, base_key="TableDescription"):
            result = original(self, base_key=base_key)
            body = result[base_key]
            if life.deleting(self):
                body["TableStatus"] = "DELETING"
            elif life.busy(self):
                body["TableStatus"] = "CREATING"
                if "RestoreSummary" in body:
                    body["RestoreSummary"]["RestoreInProgress"] = True
            return result

        return describe

    for model in (ddb_table.Table, ddb_table.RestoredTable, ddb_table.RestoredPITTable):
        patch.wrap(model, "describe", make_describe)  # the restored kinds add RestoreSummary after Table's

    def timed(name: str, seconds: float):
        def make(original):
            def method(self, *args, **kwargs):
                table = original(self, *args, **kwargs)
                life.start(table, seconds)
                return table

            return method

        patch.wrap(ddb.DynamoDBBackend, name, make)

    timed("create_table", config.create_seconds)
    timed("restore_table_to_point_in_time", config.restore_seconds)

    def make_pitr(original):
        def restore_table_to_point_in_time(self, *args, **kwargs):
            table = original(self, *args, **kwargs)
            when = getattr(_restore_to, "value", None)
            if when is not None:
                table.restore_date_time = when  # RestoreSummary.RestoreDateTime: the point restored to
            return table

        return restore_table_to_point_in_time

    patch.wrap(ddb.DynamoDBBackend, "restore_table_to_point_in_time", make_pitr)
    timed("restore_table_from_backup", config.restore_seconds)

    def make_delete(original):
        def delete_table(self, name):
            table = self.get_table(name)
            if life.deleting(table):
                return table  # API_DeleteTable: "If table is already in the DELETING state, no error is returned."
            # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html: a table in
            # CREATING or UPDATING state fails with ResourceInUseException.
            if life.busy(table):
                raise StrictError(
                    "ResourceInUseException",
                    f"Attempt to change a resource which is still in use: Table is being created: {name}",
                )
            if getattr(table, "deletion_protection_enabled", False):
                return original(self, name)  # moto's own DeletionProtectedException
            life.delete_later(table, config.delete_seconds, lambda: original(self, table.name))
            return table

        return delete_table

    patch.wrap(ddb.DynamoDBBackend, "delete_table", make_delete)

    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PointInTimeRecoveryDescription.html:
    # LatestRestorableDateTime is typically 5 minutes before now; the earliest is the start of the recovery
    # period (the emulator takes every table as having had PITR for its whole period).
    def window(description: dict) -> dict:
        pitr = description.get("PointInTimeRecoveryDescription", {})
        if pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            return description
        description = copy.deepcopy(description)
        pitr = description["PointInTimeRecoveryDescription"]
        now = utcnow()
        pitr["LatestRestorableDateTime"] = unix_time(now - lag)
        pitr["EarliestRestorableDateTime"] = unix_time(now - timedelta(days=pitr.get("RecoveryPeriodInDays") or 35))
        return description

    for name in ("describe_continuous_backups", "update_continuous_backups"):
        patch.wrap(
            ddb.DynamoDBBackend,
            name,
            lambda original: lambda self, *args, **kwargs: window(original(self, *args, **kwargs)),
        )

    @strict.requests.on("dynamodb", "RestoreTableToPointInTime")
    def point_in_time_bounds(response, proceed):
        body = response.body
        backend = response.dynamodb_backend
        name = body.get("SourceTableName") or (body.get("SourceTableArn") or "").split("/")[-1]
        try:
            source = backend.get_table(name)
        except ResourceNotFoundException:
            return proceed()  # moto's SourceTableNotFoundException
        described = window(backend.describe_continuous_backups(source.name))["PointInTimeRecoveryDescription"]
        # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_RestoreTableToPointInTime.html:
        # PointInTimeRecoveryUnavailableException when PITR is not on for the source table.
        if described.get("PointInTimeRecoveryStatus") != "ENABLED":
            raise StrictError(
                "PointInTimeRecoveryUnavailableException",
                f"Point in time recovery is not enabled for table '{source.name}'",
            )
        when, latest = body.get("RestoreDateTime"), body.get("UseLatestRestorableTime")
        if when is not None and latest:
            raise StrictError(
                "ValidationException", "Only one of RestoreDateTime or UseLatestRestorableTime can be specified"
            )
        earliest_at = from_epoch(described["EarliestRestorableDateTime"])
        latest_at = from_epoch(described["LatestRestorableDateTime"])
        restore_to = latest_at
        if when is not None:
            restore_to = naive_utc(when) if isinstance(when, datetime) else from_epoch(float(when))
            # Same page: InvalidRestoreTimeException unless RestoreDateTime lies within the two bounds.
            if not within(restore_to, earliest_at, latest_at):
                raise StrictError(
                    "InvalidRestoreTimeException",
                    "RestoreDateTime must be between EarliestRestorableDateTime and LatestRestorableDateTime",
                )
        _restore_to.value = restore_to
        try:
            return proceed()
        finally:
            _restore_to.value = None
