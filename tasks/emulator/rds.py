"""RDS: instances and clusters that take time, refuse what AWS refuses, and keep backups as AWS keeps them."""

from __future__ import annotations

import threading
from datetime import timedelta

from moto.core.exceptions import ServiceException
from moto.core.utils import utcnow
from moto.rds import models as rds

from tasks.emulator.errors import StrictError
from tasks.emulator.timeline import last_window_start, naive_utc, within

AURORA_STORAGE_TYPES = ("aurora", "aurora-iopt1")
_restoring = threading.local()  # set while a restore builds its new instance or cluster


def install(strict) -> None:
    config, life, patch = strict.config, strict.lifecycle, strict.patcher

    # --- statuses over time -------------------------------------------------------------------------
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status
    # (a new or restored instance is `creating` for minutes, a deleted one `deleting`).
    def timed_status(pending: str, stored: str = "_strict_status"):
        def get(self):
            value = self.__dict__.get(stored, "available")
            if value == "available" and life.busy(self):
                return life.label(self) or pending
            return value

        def set_(self, value):
            self.__dict__[stored] = value

        return property(get, set_)

    patch.set(rds.DBInstance, "status", timed_status("creating"))
    patch.set(rds.DBSnapshot, "status", timed_status("creating"))
    patch.set(rds.DBClusterSnapshot, "status", timed_status("creating"))

    def cluster_status(self):
        value = self._status
        if value == "creating":  # moto's own one-read `creating`; time decides here
            value = "available"
        if value == "available" and life.busy(self):
            return life.label(self) or "creating"
        return value

    def set_cluster_status(self, value):
        self._status = value

    patch.set(rds.DBCluster, "status", property(cluster_status, set_cluster_status))

    def timed(name: str, seconds: float, restoring: bool = False):
        """Wrap RDSBackend.name so the resource it returns (and the stored one) starts in transition."""

        def make(original):
            def method(self, *args, **kwargs):
                previous = getattr(_restoring, "on", False)
                _restoring.on = previous or restoring
                try:
                    result = original(self, *args, **kwargs)
                finally:
                    _restoring.on = previous
                life.start(result, seconds)
                stored = _stored(self, result)
                if stored is not None:
                    life.start(stored, seconds)
                return result

            return method

        patch.wrap(rds.RDSBackend, name, make)

    # --- an Aurora cluster's storage type is aurora (or aurora-iopt1), not an instance's gp2 -----------
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html, StorageType: "Valid
    # Values: aurora, aurora-iopt1 (Aurora DB clusters) ... Default: aurora (Aurora DB clusters)"; the same in
    # API_RestoreDBClusterFromSnapshot and API_RestoreDBClusterToPointInTime, so a restore that names none
    # gets aurora, not its source's type (a restore that keeps I/O-Optimized storage must ask for it). moto
    # gives every cluster gp2, and a restored one its source's.
    def make_cluster_init(original):
        def __init__(self, *args, **kwargs):
            wanted = kwargs.get("storage_type")
            aurora_type = wanted in AURORA_STORAGE_TYPES
            if aurora_type:  # moto sizes a cluster by storage type and knows only gp2, io1 and standard
                kwargs = {**kwargs, "storage_type": None}
            original(self, *args, **kwargs)
            if str(self.engine).startswith("aurora") and (aurora_type or wanted is None):
                self.storage_type = wanted if aurora_type else "aurora"

        return __init__

    patch.wrap(rds.DBCluster, "__init__", make_cluster_init)

    def aurora_default(cluster, asked: str | None):
        if asked is None and str(getattr(cluster, "engine", "")).startswith("aurora"):
            cluster.storage_type = "aurora"
        return cluster

    def make_storage_from_snapshot(original):
        def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
            return aurora_default(original(self, from_snapshot_id, overrides), overrides.get("storage_type"))

        return restore_db_cluster_from_snapshot

    def make_storage_pitr(original):
        def restore_db_cluster_to_point_in_time(self, *args, **kwargs):
            return aurora_default(original(self, *args, **kwargs), kwargs.get("storage_type"))

        return restore_db_cluster_to_point_in_time

    patch.wrap(rds.RDSBackend, "restore_db_cluster_from_snapshot", make_storage_from_snapshot)
    patch.wrap(rds.RDSBackend, "restore_db_cluster_to_point_in_time", make_storage_pitr)

    # --- an instance joins a cluster only when the cluster is available ----------------------------
    def make_create_instance(original):
        def create_db_instance(self, db_kwargs):
            cluster_id = db_kwargs.get("db_cluster_identifier")
            cluster = self.clusters.get(cluster_id) if cluster_id else None
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
            # InvalidDBClusterStateFault: "The requested operation can't be performed while the cluster is in this state."
            if cluster is not None and cluster.status != "available":
                raise StrictError(
                    "InvalidDBClusterStateFault",
                    f"DB cluster {cluster_id} is {cluster.status}; instances can be added only when it is available.",
                )
            return original(self, db_kwargs)

        return create_db_instance

    patch.wrap(rds.RDSBackend, "create_db_instance", make_create_instance)

    timed("create_db_instance", config.create_seconds)
    timed("create_db_instance_read_replica", config.create_seconds)
    timed("create_db_cluster", config.create_seconds)
    timed("create_db_snapshot", config.create_seconds)
    timed("create_db_cluster_snapshot", config.create_seconds)
    timed("restore_db_instance_from_db_snapshot", config.restore_seconds, restoring=True)
    timed("restore_db_instance_to_point_in_time", config.restore_seconds, restoring=True)
    timed("restore_db_cluster_from_snapshot", config.restore_seconds, restoring=True)
    timed("restore_db_cluster_to_point_in_time", config.restore_seconds, restoring=True)
    timed("copy_db_snapshot", config.copy_seconds)
    timed("copy_db_cluster_snapshot", config.copy_seconds)

    # --- restores start only from an available snapshot --------------------------------------------
    def make_restore_from_snapshot(original):
        def restore_db_instance_from_db_snapshot(self, from_snapshot_id, overrides):
            snapshot = _find(lambda: self.get_db_snapshot(_local_id(from_snapshot_id)))
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBInstanceFromDBSnapshot.html
            # InvalidDBSnapshotState: the snapshot must be `available`.
            if snapshot is not None and snapshot.status != "available":
                raise StrictError(
                    "InvalidDBSnapshotState", f"Snapshot {from_snapshot_id} is {snapshot.status}, not available."
                )
            return original(self, from_snapshot_id, overrides)

        return restore_db_instance_from_db_snapshot

    patch.wrap(rds.RDSBackend, "restore_db_instance_from_db_snapshot", make_restore_from_snapshot)

    def make_restore_cluster_from_snapshot(original):
        def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
            snapshot = _find(lambda: self.get_db_cluster_snapshot(_local_id(from_snapshot_id)))
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html
            # InvalidDBClusterSnapshotStateFault: the snapshot must be `available`.
            if snapshot is not None and snapshot.status != "available":
                raise StrictError(
                    "InvalidDBClusterSnapshotStateFault",
                    f"Cluster snapshot {from_snapshot_id} is {snapshot.status}, not available.",
                )
            return original(self, from_snapshot_id, overrides)

        return restore_db_cluster_from_snapshot

    patch.wrap(rds.RDSBackend, "restore_db_cluster_from_snapshot", make_restore_cluster_from_snapshot)

    # --- restorable times and point-in-time restores ----------------------------------------------
    lag = timedelta(seconds=config.restorable_lag_seconds)

    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html: LatestRestorableTime is
    # typically within the last five minutes; none without automated backups (retention 0).
    def instance_latest(self):
        if not self.backup_retention_period:
            return None
        return utcnow() - lag

    patch.set(rds.DBInstance, "latest_restorable_time", property(instance_latest))
    patch.set(rds.DBCluster, "latest_restorable_time", property(lambda self: utcnow() - lag))
    # The emulator takes every resource as having existed for its whole retention period.
    patch.set(
        rds.DBCluster,
        "earliest_restorable_time",
        property(lambda self: utcnow() - timedelta(days=self.backup_retention_period or 1), lambda self, value: None),
    )

    def make_pitr(original):
        def restore_db_instance_to_point_in_time(self, source_db_identifier, target_db_identifier, overrides):
            source = self.describe_db_instances(db_instance_identifier=source_db_identifier)[0]
            restore_time = overrides.get("restore_time")
            use_latest = overrides.get("use_latest_restorable_time")
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBInstanceToPointInTime.html
            # RestoreTime "can't be specified if the UseLatestRestorableTime parameter is enabled".
            if restore_time is not None and use_latest:
                raise StrictError(
                    "InvalidParameterCombination", "Cannot specify both RestoreTime and UseLatestRestorableTime."
                )
            # Same page: PointInTimeRestoreNotEnabled when the source's BackupRetentionPeriod is 0.
            if not source.backup_retention_period:
                raise StrictError(
                    "PointInTimeRestoreNotEnabled",
                    f"Automated backups are off for {source_db_identifier} (retention 0).",
                )
            if restore_time is not None:
                latest = source.latest_restorable_time
                earliest = utcnow() - timedelta(days=source.backup_retention_period)
                # Same page: the time must lie between the earliest and latest restorable times, else InvalidRestoreFault.
                if not within(restore_time, earliest, latest):
                    raise StrictError(
                        "InvalidRestoreFault",
                        f"RestoreTime {naive_utc(restore_time).isoformat()}Z is outside the "
                        f"restorable range {earliest.isoformat()}Z .. {latest.isoformat()}Z.",
                    )
            return original(self, source_db_identifier, target_db_identifier, overrides)

        return restore_db_instance_to_point_in_time

    patch.wrap(rds.RDSBackend, "restore_db_instance_to_point_in_time", make_pitr)

    def make_cluster_pitr(original):
        def restore_db_cluster_to_point_in_time(
            self,
            db_cluster_identifier,
            source_db_cluster_identifier,
            restore_type="full-copy",
            restore_to_time=None,
            use_latest_restorable_time=False,
            **overrides,
        ):
            if restore_to_time is not None and not use_latest_restorable_time:
                source = self.describe_db_clusters(db_cluster_identifier=source_db_cluster_identifier)[0]
                earliest, latest = source.earliest_restorable_time, source.latest_restorable_time
                # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterToPointInTime.html
                # RestoreToTime must be before the latest restorable time (InvalidRestoreFault).
                if not within(restore_to_time, earliest, latest):
                    raise StrictError(
                        "InvalidRestoreFault",
                        f"RestoreToTime is outside {earliest.isoformat()}Z .. {latest.isoformat()}Z.",
                    )
            return original(
                self,
                db_cluster_identifier,
                source_db_cluster_identifier,
                restore_type,
                restore_to_time,
                use_latest_restorable_time,
                **overrides,
            )

        return restore_db_cluster_to_point_in_time

    patch.wrap(rds.RDSBackend, "restore_db_cluster_to_point_in_time", make_cluster_pitr)

    # --- automated snapshots: once a day in the backup window ------------------------------------
    # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html:
    # automated backups happen daily during the preferred backup window; retention 0 disables them.
    # Only the newest daily snapshot is listed. A restored copy gets its first one in a later window, and
    # Aurora members have none of their own (the cluster is backed up).
    def make_auto_snapshot(original):
        def create_auto_snapshot(self, db_instance_identifier, db_snapshot_identifier):
            database = self.databases.get(db_instance_identifier)
            if (
                getattr(_restoring, "on", False)
                or database is None
                or isinstance(database, rds.DBInstanceClustered)
                or not database.backup_retention_period
            ):
                return None
            when = last_window_start(database.preferred_backup_window, utcnow())
            snapshot = original(self, db_instance_identifier, f"rds:{db_instance_identifier}-{when:%Y-%m-%d-%H-%M}")
            snapshot.created = snapshot.original_snapshot_create_time = when
            life.finish(snapshot)
            return snapshot

        return create_auto_snapshot

    patch.wrap(rds.RDSBackend, "create_auto_snapshot", make_auto_snapshot)

    def make_auto_cluster_snapshot(original):
        def create_auto_cluster_snapshot(self, db_cluster_identifier, db_snapshot_identifier):
            cluster = self.clusters.get(db_cluster_identifier)
            if getattr(_restoring, "on", False) or cluster is None:
                return None
            when = last_window_start(cluster.preferred_backup_window, utcnow())
            snapshot = original(self, db_cluster_identifier, f"rds:{db_cluster_identifier}-{when:%Y-%m-%d-%H-%M}")
            snapshot.created = when
            life.finish(snapshot)
            return snapshot

        return create_auto_cluster_snapshot

    patch.wrap(rds.RDSBackend, "create_auto_cluster_snapshot", make_auto_cluster_snapshot)

    # --- copies name their source as AWS does ------------------------------------------------------
    def make_copy(original):
        def copy_db_snapshot(self, source_db_snapshot_identifier, target_db_snapshot_identifier, *args, **kwargs):
            copy = original(self, source_db_snapshot_identifier, target_db_snapshot_identifier, *args, **kwargs)
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBSnapshot.html: a cross-Region
            # copy records SourceDBSnapshotIdentifier (the source ARN) and SourceRegion.
            if source_db_snapshot_identifier.startswith("arn:"):
                copy.source_db_snapshot_identifier = source_db_snapshot_identifier
                copy.source_region = source_db_snapshot_identifier.split(":")[3]
            return copy

        return copy_db_snapshot

    patch.wrap(rds.RDSBackend, "copy_db_snapshot", make_copy)

    def make_cluster_copy(original):
        def copy_db_cluster_snapshot(
            self, source_db_cluster_snapshot_identifier, target_db_cluster_snapshot_identifier, *args, **kwargs
        ):
            source = _find(lambda: self.get_db_cluster_snapshot(source_db_cluster_snapshot_identifier))
            copy = original(
                self, source_db_cluster_snapshot_identifier, target_db_cluster_snapshot_identifier, *args, **kwargs
            )
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBClusterSnapshot.html:
            # SourceDBClusterSnapshotArn is the ARN of the snapshot it was copied from.
            copy.source_db_cluster_snapshot_arn = (
                source_db_cluster_snapshot_identifier
                if source_db_cluster_snapshot_identifier.startswith("arn:")
                else getattr(source, "arn", None)
            )
            return copy

        return copy_db_cluster_snapshot

    patch.wrap(rds.RDSBackend, "copy_db_cluster_snapshot", make_cluster_copy)

    # --- deletes -----------------------------------------------------------------------------------
    def make_delete_instance(original):
        def delete_db_instance(
            self,
            db_instance_identifier,
            final_db_snapshot_identifier=None,
            skip_final_snapshot=False,
            delete_automated_backups=True,
        ):
            database = self.databases.get(db_instance_identifier)
            if database is None:
                return original(
                    self,
                    db_instance_identifier,
                    final_db_snapshot_identifier,
                    skip_final_snapshot,
                    delete_automated_backups,
                )
            if life.deleting(database):
                raise StrictError(
                    "InvalidDBInstanceState", f"Instance {db_instance_identifier} is already being deleted."
                )
            if database.deletion_protection:
                raise StrictError(
                    "InvalidParameterCombination",
                    "Cannot delete protected DB Instance, please disable deletion protection and try again.",
                )
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html: without
            # SkipFinalSnapshot a FinalDBSnapshotIdentifier is required, and the two can't be combined
            # (neither applies to an Aurora cluster's instances).
            if not isinstance(database, rds.DBInstanceClustered):
                if skip_final_snapshot and final_db_snapshot_identifier:
                    raise StrictError(
                        "InvalidParameterCombination",
                        "Cannot specify both SkipFinalSnapshot and FinalDBSnapshotIdentifier.",
                    )
                if not skip_final_snapshot and not final_db_snapshot_identifier:
                    raise StrictError(
                        "InvalidParameterCombination",
                        "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
                    )
                if final_db_snapshot_identifier:
                    self.create_db_snapshot(db_instance_identifier, final_db_snapshot_identifier)
            database.status = "deleting"
            life.delete_later(
                database,
                config.delete_seconds,
                lambda: original(self, db_instance_identifier, None, True, delete_automated_backups),
            )
            return database

        return delete_db_instance

    patch.wrap(rds.RDSBackend, "delete_db_instance", make_delete_instance)

    @strict.requests.on("rds", "DeleteDBCluster")
    def delete_cluster_needs_final_snapshot_choice(response, proceed):
        skip = bool(response.params.get("SkipFinalSnapshot"))
        final = response.params.get("FinalDBSnapshotIdentifier")
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBCluster.html: SkipFinalSnapshot
        # defaults to false, and then FinalDBSnapshotIdentifier must be given (not both).
        if skip and final:
            raise StrictError(
                "InvalidParameterCombination", "Cannot specify both SkipFinalSnapshot and FinalDBSnapshotIdentifier."
            )
        if not skip and not final:
            raise StrictError(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
            )
        return proceed()

    def make_delete_cluster(original):
        def delete_db_cluster(self, cluster_identifier, snapshot_name=None):
            cluster = self.clusters.get(cluster_identifier)
            if cluster is None:
                return original(self, cluster_identifier, snapshot_name)
            if life.deleting(cluster):
                raise StrictError(
                    "InvalidDBClusterStateFault", f"DB cluster {cluster_identifier} is already being deleted."
                )
            if cluster.deletion_protection:
                raise StrictError(
                    "InvalidParameterCombination",
                    "Cannot delete protected Cluster, please disable deletion protection and try again.",
                )
            # Same page: InvalidDBClusterStateFault while the cluster still has instances (a member that is
            # itself `deleting` still counts until it is gone).
            if cluster.members:
                raise StrictError(
                    "InvalidDBClusterStateFault",
                    f"Cluster {cluster_identifier} still contains DB instances: "
                    + ", ".join(m.db_instance_identifier for m in cluster.members),
                )
            if snapshot_name:
                self.create_db_cluster_snapshot(cluster_identifier, snapshot_name)
            cluster.status = "deleting"
            life.delete_later(cluster, config.delete_seconds, lambda: original(self, cluster_identifier, None))
            return cluster

        return delete_db_cluster

    patch.wrap(rds.RDSBackend, "delete_db_cluster", make_delete_cluster)


def _stored(backend, result):
    """The object the backend keeps for a returned resource (moto sometimes returns a copy)."""
    if isinstance(result, rds.DBCluster):
        return backend.clusters.get(result.db_cluster_identifier)
    return None


def _local_id(identifier: str) -> str:
    # arn:aws:rds:<region>:<account>:snapshot:<name>; an automated snapshot's name holds a colon itself.
    return identifier.split(":", 6)[6] if identifier.startswith("arn:") else identifier


def _find(lookup):
    try:
        return lookup()
    except ServiceException:  # not found: let moto's own call raise its proper error
        return None
