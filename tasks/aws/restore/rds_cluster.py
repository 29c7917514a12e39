"""Aurora / RDS DB cluster: restore from a cluster snapshot or to a point in time, then add a writer."""
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

KIND = "rds_cluster"
NAMED_COPY = True


def recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    snapshots = list(rds.iter_db_cluster_snapshots(rds_client(clients, spec), cluster_id=spec.source_id))
    if spec.mode == "snapshot":
        snapshots = [s for s in snapshots if s.get("SnapshotType") == "automated"] or snapshots
    newest = newest_available(snapshots, "SnapshotCreateTime")
    if newest is None:
        raise NoRecoveryPoint(f"no available cluster snapshot of {spec.source_id} in {spec.region}")
    return RecoveryPoint(newest["DBClusterSnapshotIdentifier"], newest["SnapshotCreateTime"],
                         {"snapshot_type": newest.get("SnapshotType")})


def start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint) -> str:
    client = rds_client(clients, spec)
    kwargs = {"DBClusterIdentifier": spec.copy_name, "SnapshotIdentifier": point.identifier,
              "Engine": spec.engine or "aurora-postgresql", "Tags": spec.tag_list, "DeletionProtection": False}
    if spec.isolation.subnet_group:
        kwargs["DBSubnetGroupName"] = spec.isolation.subnet_group
    if spec.isolation.security_group_ids:
        kwargs["VpcSecurityGroupIds"] = list(spec.isolation.security_group_ids)
    client.restore_db_cluster_from_snapshot(**kwargs)
    # A restored Aurora cluster has no compute: attach a writer so the copy can serve queries.
    client.create_db_instance(DBInstanceIdentifier=f"{spec.copy_name}-w", DBClusterIdentifier=spec.copy_name,
                              Engine=spec.engine or "aurora-postgresql",
                              DBInstanceClass=spec.instance_class or "db.r6g.large",
                              PubliclyAccessible=False, Tags=spec.tag_list)
    return spec.copy_name


def state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    client = rds_client(clients, spec)
    cluster = rds.get_db_cluster(client, copy_id)
    if cluster is None:
        return CopyState("missing")
    writer = rds.get_db_instance(client, f"{copy_id}-w")
    statuses = [cluster.get("Status", ""), (writer or {}).get("DBInstanceStatus", "missing")]
    if any(s in RDS_FAILED for s in statuses):
        mapped = "failed"
    elif all(s == "available" for s in statuses):
        mapped = "available"
    else:
        mapped = "creating"
    return CopyState(mapped, cluster.get("Endpoint"), cluster.get("Port"),
                     {"status": statuses[0], "writer": statuses[1], "engine": cluster.get("Engine")})


def delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> None:
    client = rds_client(clients, spec)
    for call, kwargs, codes in (
        (client.delete_db_instance, {"DBInstanceIdentifier": f"{copy_id}-w", "SkipFinalSnapshot": True},
         ("DBInstanceNotFound", "DBInstanceNotFoundFault")),
        (client.delete_db_cluster, {"DBClusterIdentifier": copy_id, "SkipFinalSnapshot": True},
         ("DBClusterNotFoundFault", "DBClusterNotFound")),
    ):
        try:
            call(**kwargs)
        except ClientError as exc:
            if not is_not_found(exc, *codes):
                raise


def rpo_seconds(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    return rpo_from_point(point, started, mode)
