"""Settings of the strict AWS layer: how long things take, how stale backups are, how often AWS says no."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrictConfig:
    # Seconds a resource stays in its transitional state (`creating`, `CREATING`, `pending`, `deleting`).
    create_seconds: float = 1.0  # CreateDBInstance/Cluster, CreateTable, CreateVolume, Create*Snapshot
    restore_seconds: float = 1.0  # RDS and DynamoDB restores, a volume made from a snapshot
    copy_seconds: float = 1.0  # CopyDBSnapshot, CopyDBClusterSnapshot, EC2 CopySnapshot
    delete_seconds: float = 0.5  # DeleteDBInstance/Cluster, DeleteTable: `deleting`, then gone
    # Failovers: RebootDBInstance(ForceFailover) / FailoverDBCluster `rebooting`/`failing-over`,
    # PromoteReadReplica `modifying`, SwitchoverGlobalCluster `switching-over`.
    failover_seconds: float = 1.0
    promote_seconds: float = 1.0
    switchover_seconds: float = 1.0
    # AWS FIS: an experiment runs this long, then ends as planned (StrictAws.fis_outcome); a stop takes
    # experiment_stop_seconds (`stopping`, then `stopped`).
    experiment_seconds: float = 1.0
    experiment_stop_seconds: float = 0.2
    replica_lag_seconds: float = 2.0  # the ReplicaLag each new read replica reports (CloudWatch, AWS/RDS)
    # How far LatestRestorableTime (RDS) / LatestRestorableDateTime (DynamoDB) trails now.
    restorable_lag_seconds: float = 300.0
    # Lifetime of AssumeRole credentials; None honours the request's DurationSeconds (900 s at the least)
    # as AWS does, a number lets a test watch credentials expire within seconds.
    credential_seconds: float | None = None
    # Share of API calls (RDS, EC2, DynamoDB, STS, ...; not S3) refused as throttled, drawn from `seed`.
    throttle_share: float = 0.0
    seed: int = 0

    @classmethod
    def fast(cls, seconds: float = 1.0, **overrides) -> StrictConfig:
        """Every transition takes `seconds` (deletes half that): short enough for a test suite."""
        values: dict = {
            "create_seconds": seconds,
            "restore_seconds": seconds,
            "copy_seconds": seconds,
            "delete_seconds": seconds / 2,
            "failover_seconds": seconds,
            "promote_seconds": seconds,
            "switchover_seconds": seconds,
            "experiment_seconds": seconds,
        }
        values.update(overrides)
        return cls(**values)
