"""Aurora DB cluster: restore from a cluster snapshot (or its DR-region copy) or to a point in time, then (once
the cluster is available) add a writer. Both restore calls get the same carried configuration."""

from __future__ import annotations

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
from tasks.rules.restore_config import CopyConfig, rds_cluster_config

KIND = "rds_cluster"
NAMED_COPY = True
PITR = "Aurora continuous backups (point in time)"


def recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    if spec.mode in ("pitr-latest", "pitr-time"):
        return _pitr_point(clients, spec)
    snapshots = list(rds.iter_db_cluster_snapshots(rds_client(clients, spec), cluster_id=spec.source_id))
    if spec.mode == "snapshot":
        snapshots = [s for s in snapshots if s.get("SnapshotType") == "automated"] or snapshots
    newest = newest_available(snapshots, "SnapshotCreateTime")
    if newest is None:
        raise NoRecoveryPoint(f"no available cluster snapshot of {spec.source_id} in {spec.region}")
    return RecoveryPoint(
        newest["DBClusterSnapshotIdentifier"],
        newest["SnapshotCreateTime"],
        {"snapshot_type": newest.get("SnapshotType"), "encrypted": bool(newest.get("StorageEncrypted"))},
        mechanism=rds.snapshot_mechanism(newest),
    )


def _pitr_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    cluster = rds.get_db_cluster(rds_client(clients, spec), spec.source_id)
    if cluster is None:
        raise NoRecoveryPoint(f"{spec.source_id} not found in {spec.region}")
    if not cluster.get("BackupRetentionPeriod"):
        raise NoRecoveryPoint(f"{spec.source_id} has automated backups disabled: no point-in-time recovery")
    if spec.mode == "pitr-time" and spec.restore_time is not None:
        return RecoveryPoint(spec.restore_time.isoformat(), spec.restore_time, mechanism=PITR)
    latest = cluster.get("LatestRestorableTime")
    if latest is None:
        raise NoRecoveryPoint(f"{spec.source_id} reports no latest restorable time")
    return RecoveryPoint("latest", latest, mechanism=PITR)


def writer_id(copy_id: str) -> str:
    return f"{copy_id}-w"


def configure(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint | None = None) -> CopyConfig:
    """What the copy carries of its source cluster and its writer (read in the source's region). If the
    source is gone, the snapshot says whether it is encrypted and the copy gets default groups."""
    source = clients.client("rds", spec.source_region, spec.account)
    cluster = rds.get_db_cluster(source, spec.source_id)
    if cluster is None:
        encrypted = bool((point.detail if point else {}).get("encrypted"))
        return rds_cluster_config(
            {"DBClusterIdentifier": spec.source_id, "StorageEncrypted": encrypted}, None, where(spec)
        )
    writer_id_ = next(
        (m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")), None
    )
    writer = rds.get_db_instance(source, writer_id_) if writer_id_ else None
    return rds_cluster_config(cluster, writer, where(spec))


def start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint, config: CopyConfig | None = None) -> str:
    """Restore the cluster only: AWS adds an instance only to an `available` cluster, so the writer comes
    from `advance` once the cluster is ready. Raises NotCarried, before any create call, when a group or
    the KMS key the copy needs is missing in its region. `config`: what `configure` returned."""
    config = config if config is not None else configure(clients, spec, point)
    ensure_carried(clients, spec, config)
    client = rds_client(clients, spec)
    # API_RestoreDBClusterFromSnapshot and API_RestoreDBClusterToPointInTime both take the carried
    # DBClusterParameterGroupName, StorageType and KmsKeyId, and DBSubnetGroupName / VpcSecurityGroupIds.
    kwargs = {
        **config.kwargs,
        "DBClusterIdentifier": spec.copy_name,
        "Tags": spec.tag_list,
        "DeletionProtection": False,
    }
    if spec.isolation.subnet_group:
        kwargs["DBSubnetGroupName"] = spec.isolation.subnet_group
    if spec.isolation.security_group_ids:
        kwargs["VpcSecurityGroupIds"] = list(spec.isolation.security_group_ids)
    if spec.mode == "pitr-latest":
        client.restore_db_cluster_to_point_in_time(
            SourceDBClusterIdentifier=spec.source_id, UseLatestRestorableTime=True, **kwargs
        )
    elif spec.mode == "pitr-time":
        client.restore_db_cluster_to_point_in_time(
            SourceDBClusterIdentifier=spec.source_id, RestoreToTime=spec.restore_time, **kwargs
        )
    else:
        client.restore_db_cluster_from_snapshot(
            SnapshotIdentifier=point.identifier, Engine=spec.engine or "aurora-postgresql", **kwargs
        )
    return spec.copy_name


def advance(clients: AwsClients, spec: RestoreSpec, copy_id: str, current: CopyState) -> None:
    """The restore's next step while it is under way: a restored Aurora cluster has no compute, so attach a
    writer once the cluster is `available` (before that AWS answers InvalidDBClusterStateFault)."""
    if current.detail.get("status") != "available" or current.detail.get("writer") != "missing":
        return
    # The source writer's own parameter group (checked to exist by `start`, with the cluster's).
    writer_kwargs = configure(clients, spec).writer_kwargs
    rds_client(clients, spec).create_db_instance(
        **writer_kwargs,
        DBInstanceIdentifier=writer_id(copy_id),
        DBClusterIdentifier=copy_id,
        Engine=spec.engine or "aurora-postgresql",
        DBInstanceClass=spec.instance_class or "db.r6g.large",
        PubliclyAccessible=False,
        Tags=spec.tag_list,
    )


def state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    client = rds_client(clients, spec)
    cluster = rds.get_db_cluster(client, copy_id)
    if cluster is None:
        return CopyState("missing")
    writer = rds.get_db_instance(client, writer_id(copy_id))
    statuses = [cluster.get("Status", ""), (writer or {}).get("DBInstanceStatus", "missing")]
    if any(s in RDS_FAILED for s in statuses):
        mapped = "failed"
    elif all(s == "available" for s in statuses):
        mapped = "available"
    else:
        mapped = "creating"
    return CopyState(
        mapped,
        cluster.get("Endpoint"),
        cluster.get("Port"),
        {
            "status": statuses[0],
            "writer": statuses[1],
            "engine": cluster.get("Engine"),
            "engine_version": cluster.get("EngineVersion"),
            "members": [m.get("DBInstanceIdentifier") for m in cluster.get("DBClusterMembers", [])],
        },
    )


# Answers that mean "not now": the instance or cluster is in a state that refuses a delete (still creating,
# or the cluster still has a member that is being deleted), so the teardown asks again on its next poll.
_NOT_YET = ("InvalidDBClusterStateFault", "InvalidDBInstanceState", "InvalidDBInstanceStateFault")


def delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> bool:
    """One step of the teardown: the writer first, then the cluster once it has no members
    (API_DeleteDBCluster: InvalidDBClusterStateFault while instances remain). True once the cluster's
    delete has been accepted (or it is gone); False: call again later."""
    client = rds_client(clients, spec)
    writer = rds.get_db_instance(client, writer_id(copy_id))
    if writer is not None:
        if writer.get("DBInstanceStatus") != "deleting":
            _request(client.delete_db_instance, DBInstanceIdentifier=writer_id(copy_id), SkipFinalSnapshot=True)
        return False
    cluster = rds.get_db_cluster(client, copy_id)
    if cluster is None or cluster.get("Status") == "deleting":
        return True
    if cluster.get("DBClusterMembers"):
        return False
    return _request(client.delete_db_cluster, DBClusterIdentifier=copy_id, SkipFinalSnapshot=True)


def _request(call, **kwargs) -> bool:
    try:
        call(**kwargs)
    except ClientError as exc:
        if is_not_found(
            exc, "DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "DBClusterNotFound"
        ):
            return True
        if is_not_found(exc, *_NOT_YET):
            return False
        raise
    return True


def rpo_seconds(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    return rpo_from_point(point, started, mode)
