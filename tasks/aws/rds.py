"""RDS instances, Aurora clusters and their snapshots: paged reads returning botocore's dicts."""
from __future__ import annotations

from collections.abc import Iterator

from botocore.exceptions import ClientError

from tasks.aws.errors import is_not_found

PAGE_SIZE = 100  # the API maximum: one request per hundred databases


def get_db_instance(client, identifier: str) -> dict | None:
    try:
        return client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except ClientError as exc:
        if is_not_found(exc, "DBInstanceNotFound", "DBInstanceNotFoundFault"):
            return None
        raise


def iter_db_instances(client) -> Iterator[dict]:
    for page in client.get_paginator("describe_db_instances").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page["DBInstances"]


def get_db_cluster(client, identifier: str) -> dict | None:
    try:
        return client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    except ClientError as exc:
        if is_not_found(exc, "DBClusterNotFoundFault", "DBClusterNotFound"):
            return None
        raise


def iter_db_clusters(client) -> Iterator[dict]:
    for page in client.get_paginator("describe_db_clusters").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page["DBClusters"]


def iter_db_snapshots(client, instance_id: str | None = None, snapshot_type: str | None = None) -> Iterator[dict]:
    kwargs = {}
    if instance_id:
        kwargs["DBInstanceIdentifier"] = instance_id
    if snapshot_type:
        kwargs["SnapshotType"] = snapshot_type
    paginator = client.get_paginator("describe_db_snapshots")
    for page in paginator.paginate(**kwargs, PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page["DBSnapshots"]


def iter_db_cluster_snapshots(client, cluster_id: str | None = None, snapshot_type: str | None = None) -> Iterator[dict]:
    kwargs = {}
    if cluster_id:
        kwargs["DBClusterIdentifier"] = cluster_id
    if snapshot_type:
        kwargs["SnapshotType"] = snapshot_type
    paginator = client.get_paginator("describe_db_cluster_snapshots")
    for page in paginator.paginate(**kwargs, PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page["DBClusterSnapshots"]
