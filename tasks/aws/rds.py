"""RDS instances, Aurora clusters and their snapshots: paged reads returning botocore's dicts."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

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


def iter_db_cluster_snapshots(
    client, cluster_id: str | None = None, snapshot_type: str | None = None
) -> Iterator[dict]:
    kwargs = {}
    if cluster_id:
        kwargs["DBClusterIdentifier"] = cluster_id
    if snapshot_type:
        kwargs["SnapshotType"] = snapshot_type
    paginator = client.get_paginator("describe_db_cluster_snapshots")
    for page in paginator.paginate(**kwargs, PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page["DBClusterSnapshots"]


AWS_BACKUP_PREFIX = "awsbackup:"  # AWS Backup names its RDS and Aurora snapshots awsbackup:job-...


def iter_recovery_snapshots(client, instance_id: str | None = None) -> Iterator[dict]:
    """Every snapshot a restore can use: automated and manual (the default listing), then AWS Backup's,
    which DescribeDBSnapshots returns only when asked for with SnapshotType=awsbackup."""
    yield from iter_db_snapshots(client, instance_id=instance_id)
    yield from iter_db_snapshots(client, instance_id=instance_id, snapshot_type="awsbackup")


# The second listing of recovery_snapshots_of runs here while the calling thread makes the first.
_LISTINGS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rds-awsbackup-listing")
_PER_FILTER = 50  # instance identifiers per db-instance-id filter


def recovery_snapshots(client, instance_id: str) -> list[dict]:
    """iter_recovery_snapshots' snapshots of one instance, its two listings made at once."""
    return recovery_snapshots_of(client, [instance_id])[instance_id]


def recovery_snapshots_of(client, instance_ids: list[str]) -> dict[str, list[dict]]:
    """Every snapshot a restore can use of these instances, by instance: the default listing and AWS Backup's
    made at once (a restore waits for both before it can start, and AWS will not answer them in one call),
    each once for all of them with a db-instance-id filter (API_DescribeDBSnapshots: it accepts DB instance
    identifiers). RDS stores identifiers in lowercase (API_CreateDBInstance): they are asked and matched so."""
    wanted = sorted({identifier.lower() for identifier in instance_ids})
    found: dict[str, list[dict]] = {identifier: [] for identifier in wanted}
    for start in range(0, len(wanted), _PER_FILTER):
        chunk = wanted[start : start + _PER_FILTER]
        awsbackup = _LISTINGS.submit(lambda chunk=chunk: list(_filtered_snapshots(client, chunk, "awsbackup")))
        for snapshot in [*_filtered_snapshots(client, chunk), *awsbackup.result()]:
            found.setdefault(snapshot["DBInstanceIdentifier"].lower(), []).append(snapshot)
    return {identifier: found[identifier.lower()] for identifier in instance_ids}


def _filtered_snapshots(client, instance_ids: list[str], snapshot_type: str | None = None) -> Iterator[dict]:
    kind = {"SnapshotType": snapshot_type} if snapshot_type else {}
    paginator = client.get_paginator("describe_db_snapshots")
    for page in paginator.paginate(
        Filters=[{"Name": "db-instance-id", "Values": instance_ids}], **kind, PaginationConfig={"PageSize": PAGE_SIZE}
    ):
        yield from page["DBSnapshots"]


def snapshot_mechanism(snapshot: dict) -> str:
    """Which mechanism made a DB or cluster snapshot (Aurora's AWS Backup snapshots have no awsbackup type,
    only the awsbackup: name)."""
    name = snapshot.get("DBSnapshotIdentifier") or snapshot.get("DBClusterSnapshotIdentifier") or ""
    kind = snapshot.get("SnapshotType")
    if kind == "awsbackup" or name.startswith(AWS_BACKUP_PREFIX):
        made = "AWS Backup"
    else:
        made = {"automated": "RDS automated backups", "manual": "manual snapshot"}.get(kind, kind or "unknown")
    source = snapshot.get("SourceRegion")
    return f"{made} (copied from {source})" if source else made
