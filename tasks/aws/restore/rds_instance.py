"""RDS DB instance: restore from a snapshot (or its DR-region copy) or to a point in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from botocore.exceptions import ClientError

from tasks.aws import rds
from tasks.aws.clients import AwsClients
from tasks.aws.errors import is_not_found
from tasks.aws.restore.base import (
    RDS_FAILED,
    CopyState,
    NoRecoveryPoint,
    RecoveryPoint,
    RestoreSpec,
    newest_available,
    rds_client,
    rpo_from_point,
)
from tasks.aws.restore.configure import ensure_carried, where
from tasks.aws.restore.polling import instance_poller, read_instances
from tasks.rules.restore_config import CopyConfig, rds_instance_config

KIND = "rds_instance"
NAMED_COPY = True
PACED_STATE = True  # `state` answers from the run's shared reads, one per poll interval
PITR = "RDS automated backups (point in time)"


def recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    kept = clients.take(_point_key(spec.account, spec.region, spec.source_id, spec.mode))
    if kept is not None:
        return kept  # read for this restore just before the run's first restores began (prefetch)
    client = rds_client(clients, spec)
    if spec.mode in ("snapshot", "snapshot-dr"):
        return _snapshot_point(spec.source_id, spec.mode, spec.region, rds.recovery_snapshots(client, spec.source_id))
    db = rds.get_db_instance(client, spec.source_id)  # fresh: LatestRestorableTime moves
    if spec.region == spec.source_region:
        clients.remember(_source_key(spec), db)  # `configure` needs no second read of the same source
    return _point_in_time(spec.source_id, spec.mode, spec.region, db, spec.restore_time)


def _snapshot_point(source_id: str, mode: str, region: str, snapshots: list[dict]) -> RecoveryPoint:
    if mode == "snapshot":
        # Scheduled points (RDS's daily backup, AWS Backup's plan) before one-off manual snapshots.
        scheduled = [s for s in snapshots if s.get("SnapshotType") in ("automated", "awsbackup")]
        snapshots = scheduled or snapshots
    newest = newest_available(snapshots, "SnapshotCreateTime")
    if newest is None:
        where = f"in {region}" + (" (cross-region copy)" if mode == "snapshot-dr" else "")
        raise NoRecoveryPoint(f"no available snapshot of {source_id} {where}")
    # A copy keeps the moment the data is from as OriginalSnapshotCreateTime.
    when = newest.get("OriginalSnapshotCreateTime") or newest["SnapshotCreateTime"]
    return RecoveryPoint(
        newest["DBSnapshotIdentifier"],
        when,
        {"snapshot_type": newest.get("SnapshotType")},
        mechanism=rds.snapshot_mechanism(newest),
    )


def _point_in_time(
    source_id: str, mode: str, region: str, db: dict | None, restore_time: datetime | None
) -> RecoveryPoint:
    if db is None:
        raise NoRecoveryPoint(f"{source_id} not found in {region}")
    if not db.get("BackupRetentionPeriod"):
        raise NoRecoveryPoint(f"{source_id} has automated backups disabled: no point-in-time recovery")
    if mode == "pitr-time":
        return RecoveryPoint(restore_time.isoformat(), restore_time, mechanism=PITR)
    latest = db.get("LatestRestorableTime")
    if latest is None:
        raise NoRecoveryPoint(f"{source_id} reports no latest restorable time")
    return RecoveryPoint("latest", latest, mechanism=PITR)


def configure(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint | None = None) -> CopyConfig:
    """What the copy carries of its source (read in the source's region, once per run: a snapshot and a
    point-in-time restore of one source share the read); nothing if the source is gone (then the copy takes
    the snapshot's own settings and its engine's default groups)."""
    client = clients.client("rds", spec.source_region, spec.account)
    source = clients.read_once(_source_key(spec), lambda: rds.get_db_instance(client, spec.source_id))
    return rds_instance_config(source, where(spec)) if source is not None else CopyConfig()


def _source_key(spec: RestoreSpec) -> tuple:
    return source_key(spec.account, spec.source_region, spec.source_id)


def source_key(account: str | None, region: str, source_id: str) -> tuple:
    return ("rds-instance", account, region, source_id)


def prefetch(
    clients: AwsClients,
    account: str | None,
    region: str,
    source_ids: list[str],
    starting: Sequence[tuple[str, str]] = (),
) -> None:
    """Every source's configuration for `configure`, in one read for the run's sources in a region instead
    of one read on each source's first restore, before it can start. `starting`: (source, mode) of the
    restores that begin as soon as the run does (no slot to wait for): their recovery points are read here
    too, for those restores alone (`take`n once), with one snapshot listing for all of them; a restore that
    waits for a slot, or runs again, reads its own when it begins (a newer snapshot, a later restorable
    time). A point this read cannot give is left to the restore, which reads again and reports why."""
    client = clients.client("rds", region, account)
    found = read_instances(client, sorted(set(source_ids)))
    for source_id, db in found.items():
        clients.remember(source_key(account, region, source_id), db)
    listed = rds.recovery_snapshots_of(client, [source for source, mode in starting if mode == "snapshot"])
    for source, mode in starting:
        try:
            if mode == "snapshot":
                point = _snapshot_point(source, mode, region, listed[source])
            elif mode == "pitr-latest":
                point = _point_in_time(source, mode, region, found.get(source), None)
            else:
                continue
        except NoRecoveryPoint:
            continue
        clients.keep(_point_key(account, region, source, mode), point)


def _point_key(account: str | None, region: str, source_id: str, mode: str) -> tuple:
    return ("rds-instance-point", account, region, source_id, mode)


def start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint, config: CopyConfig | None = None) -> str:
    """Raises NotCarried, before any create call, when a group the copy needs is missing in its region.
    `config`: what `configure` returned (read again if not given)."""
    config = config if config is not None else configure(clients, spec, point)
    ensure_carried(clients, spec, config)
    client = rds_client(clients, spec)
    common = {
        **config.kwargs,
        "DBInstanceClass": spec.instance_class,
        "PubliclyAccessible": False,
        "DeletionProtection": False,
        "MultiAZ": False,
        "Tags": spec.tag_list,
    }
    if spec.isolation.subnet_group:
        common["DBSubnetGroupName"] = spec.isolation.subnet_group
    if spec.isolation.security_group_ids:
        common["VpcSecurityGroupIds"] = list(spec.isolation.security_group_ids)
    common = {k: v for k, v in common.items() if v is not None}
    if spec.mode in ("snapshot", "snapshot-dr"):
        client.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier=spec.copy_name, DBSnapshotIdentifier=point.identifier, **common
        )
    elif spec.mode == "pitr-latest":
        client.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier=spec.source_id,
            TargetDBInstanceIdentifier=spec.copy_name,
            UseLatestRestorableTime=True,
            **common,
        )
    else:
        client.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier=spec.source_id,
            TargetDBInstanceIdentifier=spec.copy_name,
            RestoreTime=spec.restore_time,
            **common,
        )
    return spec.copy_name


def state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    """The copy as the next of the run's shared reads saw it, one per poll interval for every copy polled
    (tasks/aws/restore/polling.py)."""
    db = instance_poller(clients, spec.region, spec.account, spec.poll_seconds).describe(copy_id)
    if db is None:
        return CopyState("missing")
    status = db.get("DBInstanceStatus", "")
    endpoint = db.get("Endpoint") or {}
    mapped = "available" if status == "available" else ("failed" if status in RDS_FAILED else "creating")
    return CopyState(
        mapped,
        endpoint.get("Address"),
        endpoint.get("Port"),
        {
            "status": status,
            "engine": db.get("Engine"),
            "engine_version": db.get("EngineVersion"),
            "class": db.get("DBInstanceClass"),
            "publicly_accessible": bool(db.get("PubliclyAccessible", False)),
        },
    )


def delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> bool:
    """True once the delete is accepted (or it is gone); False while the instance's state refuses it
    (InvalidDBInstanceState; the teardown asks again)."""
    try:
        rds_client(clients, spec).delete_db_instance(
            DBInstanceIdentifier=copy_id, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
        )
    except ClientError as exc:
        if is_not_found(exc, "InvalidDBInstanceState", "InvalidDBInstanceStateFault"):
            return False
        if not is_not_found(exc, "DBInstanceNotFound", "DBInstanceNotFoundFault"):
            raise
    return True


def rpo_seconds(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    return rpo_from_point(point, started, mode)
