"""Restore drivers: find a recovery point, restore it into an isolated tagged copy, watch it, delete it.

One driver per resource kind. Every mutating call goes through the interlock in guard.py, so a copy
must carry the `drt-` prefix and the ownership tags, and only such copies can be deleted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import ClientError

from . import rds
from .clients import AwsClients
from .errors import is_not_found


@dataclass(frozen=True)
class Isolation:
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestoreSpec:
    kind: str                 # rds_instance | rds_cluster | dynamodb_table | s3_bucket | ebs_volume
    mode: str                 # snapshot | snapshot-dr | pitr-latest | pitr-time | object-version
    source_id: str
    source_region: str
    region: str               # where the copy is made (the source region, or the DR region)
    copy_name: str
    tags: tuple[tuple[str, str], ...]
    account: str | None = None
    instance_class: str | None = None
    engine: str | None = None
    availability_zone: str | None = None
    isolation: Isolation = Isolation()
    restore_time: datetime | None = None

    @property
    def tag_list(self) -> list[dict]:
        return [{"Key": k, "Value": v} for k, v in self.tags]


@dataclass
class RecoveryPoint:
    identifier: str           # snapshot id, version id, or "latest"/ISO time for point-in-time
    time: datetime | None     # the moment the data is from (for RPO)
    detail: dict = field(default_factory=dict)


@dataclass
class CopyState:
    status: str               # creating | available | failed | missing
    endpoint: str | None = None
    port: int | None = None
    detail: dict = field(default_factory=dict)


class NoRecoveryPoint(Exception):
    pass


def _rds(clients: AwsClients, spec: RestoreSpec):
    return clients.client("rds", spec.region, spec.account)


# --- RDS instance ---------------------------------------------------------------------------------

def _newest(snapshots: list[dict], time_key: str) -> dict | None:
    ready = [s for s in snapshots if s.get("Status", "available") == "available"]
    return max(ready, key=lambda s: s[time_key]) if ready else None


def rds_instance_recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = _rds(clients, spec)
    if spec.mode in ("snapshot", "snapshot-dr"):
        snapshots = list(rds.iter_db_snapshots(client, instance_id=spec.source_id))
        if spec.mode == "snapshot":
            automated = [s for s in snapshots if s.get("SnapshotType") == "automated"]
            snapshots = automated or snapshots
        newest = _newest(snapshots, "SnapshotCreateTime")
        if newest is None:
            where = f"in {spec.region}" + (" (cross-region copy)" if spec.mode == "snapshot-dr" else "")
            raise NoRecoveryPoint(f"no available snapshot of {spec.source_id} {where}")
        # A copy keeps the moment the data is from as OriginalSnapshotCreateTime.
        when = newest.get("OriginalSnapshotCreateTime") or newest["SnapshotCreateTime"]
        return RecoveryPoint(newest["DBSnapshotIdentifier"], when, {"snapshot_type": newest.get("SnapshotType")})
    db = rds.get_db_instance(client, spec.source_id)
    if db is None:
        raise NoRecoveryPoint(f"{spec.source_id} not found in {spec.region}")
    if not db.get("BackupRetentionPeriod"):
        raise NoRecoveryPoint(f"{spec.source_id} has automated backups disabled: no point-in-time recovery")
    if spec.mode == "pitr-time":
        return RecoveryPoint(spec.restore_time.isoformat(), spec.restore_time)
    latest = db.get("LatestRestorableTime")
    if latest is None:
        raise NoRecoveryPoint(f"{spec.source_id} reports no latest restorable time")
    return RecoveryPoint("latest", latest)


def rds_instance_start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint) -> str:
    client = _rds(clients, spec)
    common = {"DBInstanceClass": spec.instance_class, "PubliclyAccessible": False, "DeletionProtection": False,
              "MultiAZ": False, "Tags": spec.tag_list}
    if spec.isolation.subnet_group:
        common["DBSubnetGroupName"] = spec.isolation.subnet_group
    if spec.isolation.security_group_ids:
        common["VpcSecurityGroupIds"] = list(spec.isolation.security_group_ids)
    common = {k: v for k, v in common.items() if v is not None}
    if spec.mode in ("snapshot", "snapshot-dr"):
        client.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=spec.copy_name,
                                                    DBSnapshotIdentifier=point.identifier, **common)
    elif spec.mode == "pitr-latest":
        client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=spec.source_id,
                                                    TargetDBInstanceIdentifier=spec.copy_name,
                                                    UseLatestRestorableTime=True, **common)
    else:
        client.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=spec.source_id,
                                                    TargetDBInstanceIdentifier=spec.copy_name,
                                                    RestoreTime=spec.restore_time, **common)
    return spec.copy_name


def rds_instance_state(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> CopyState:
    db = rds.get_db_instance(_rds(clients, spec), copy_id)
    if db is None:
        return CopyState("missing")
    status = db.get("DBInstanceStatus", "")
    endpoint = db.get("Endpoint") or {}
    mapped = "available" if status == "available" else ("failed" if status in _RDS_FAILED else "creating")
    return CopyState(mapped, endpoint.get("Address"), endpoint.get("Port"),
                     {"status": status, "engine": db.get("Engine"), "class": db.get("DBInstanceClass"),
                      "publicly_accessible": bool(db.get("PubliclyAccessible", False))})


_RDS_FAILED = {"failed", "incompatible-restore", "incompatible-parameters", "incompatible-network",
               "restore-error", "storage-full", "inaccessible-encryption-credentials"}


def rds_instance_delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> None:
    try:
        _rds(clients, spec).delete_db_instance(DBInstanceIdentifier=copy_id, SkipFinalSnapshot=True,
                                               DeleteAutomatedBackups=True)
    except ClientError as exc:
        if not is_not_found(exc, "DBInstanceNotFound", "DBInstanceNotFoundFault"):
            raise


# --- Aurora cluster -------------------------------------------------------------------------------

def rds_cluster_recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    snapshots = list(rds.iter_db_cluster_snapshots(_rds(clients, spec), cluster_id=spec.source_id))
    if spec.mode == "snapshot":
        snapshots = [s for s in snapshots if s.get("SnapshotType") == "automated"] or snapshots
    newest = _newest(snapshots, "SnapshotCreateTime")
    if newest is None:
        raise NoRecoveryPoint(f"no available cluster snapshot of {spec.source_id} in {spec.region}")
    return RecoveryPoint(newest["DBClusterSnapshotIdentifier"], newest["SnapshotCreateTime"],
                         {"snapshot_type": newest.get("SnapshotType")})


def rds_cluster_start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint) -> str:
    client = _rds(clients, spec)
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


def rds_cluster_state(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> CopyState:
    client = _rds(clients, spec)
    cluster = rds.get_db_cluster(client, copy_id)
    if cluster is None:
        return CopyState("missing")
    writer = rds.get_db_instance(client, f"{copy_id}-w")
    statuses = [cluster.get("Status", ""), (writer or {}).get("DBInstanceStatus", "missing")]
    if any(s in _RDS_FAILED for s in statuses):
        mapped = "failed"
    elif all(s == "available" for s in statuses):
        mapped = "available"
    else:
        mapped = "creating"
    return CopyState(mapped, cluster.get("Endpoint"), cluster.get("Port"),
                     {"status": statuses[0], "writer": statuses[1], "engine": cluster.get("Engine")})


def rds_cluster_delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> None:
    client = _rds(clients, spec)
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


# --- DynamoDB -------------------------------------------------------------------------------------

def dynamodb_recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = clients.client("dynamodb", spec.region, spec.account)
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
        return RecoveryPoint(spec.restore_time.isoformat(), spec.restore_time)
    return RecoveryPoint("latest", pitr.get("LatestRestorableDateTime"))


def dynamodb_start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint) -> str:
    client = clients.client("dynamodb", spec.region, spec.account)
    kwargs = {"UseLatestRestorableTime": True} if spec.mode != "pitr-time" else {"RestoreDateTime": spec.restore_time}
    table = client.restore_table_to_point_in_time(SourceTableName=spec.source_id, TargetTableName=spec.copy_name,
                                                  **kwargs)["TableDescription"]
    client.tag_resource(ResourceArn=table["TableArn"], Tags=spec.tag_list)
    return spec.copy_name


def dynamodb_state(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> CopyState:
    from . import dynamodb

    table = dynamodb.get_table(clients.client("dynamodb", spec.region, spec.account), copy_id)
    if table is None:
        return CopyState("missing")
    status = table.get("TableStatus", "")
    mapped = "available" if status == "ACTIVE" else "creating"
    return CopyState(mapped, table.get("TableArn"), None, {"status": status, "items": table.get("ItemCount")})


def dynamodb_delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> None:
    try:
        clients.client("dynamodb", spec.region, spec.account).delete_table(TableName=copy_id)
    except ClientError as exc:
        if not is_not_found(exc, "ResourceNotFoundException", "TableNotFoundException"):
            raise


# --- EBS ------------------------------------------------------------------------------------------

def ebs_recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = clients.client("ec2", spec.region, spec.account)
    if spec.mode == "snapshot-dr":
        snapshots = [s for s in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]
                     if s.get("VolumeId") == spec.source_id or spec.source_id in (s.get("Description") or "")]
    else:
        snapshots = client.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "volume-id", "Values": [spec.source_id]}])["Snapshots"]
    ready = [s for s in snapshots if s.get("State") == "completed"]
    if not ready:
        raise NoRecoveryPoint(f"no completed snapshot of {spec.source_id} in {spec.region}")
    newest = max(ready, key=lambda s: s["StartTime"])
    return RecoveryPoint(newest["SnapshotId"], newest["StartTime"])


def ebs_start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint) -> str:
    client = clients.client("ec2", spec.region, spec.account)
    zone = spec.availability_zone if spec.region == spec.source_region and spec.availability_zone else f"{spec.region}a"
    volume = client.create_volume(SnapshotId=point.identifier, AvailabilityZone=zone, VolumeType="gp3",
                                  TagSpecifications=[{"ResourceType": "volume",
                                                      "Tags": spec.tag_list + [{"Key": "Name", "Value": spec.copy_name}]}])
    return volume["VolumeId"]


def ebs_state(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> CopyState:
    from . import ec2

    volume = ec2.get_volume(clients.client("ec2", spec.region, spec.account), copy_id)
    if volume is None:
        return CopyState("missing")
    state = volume.get("State", "")
    mapped = "available" if state in ("available", "in-use") else ("failed" if state == "error" else "creating")
    return CopyState(mapped, copy_id, None, {"status": state, "size": volume.get("Size")})


def ebs_delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> None:
    try:
        clients.client("ec2", spec.region, spec.account).delete_volume(VolumeId=copy_id)
    except ClientError as exc:
        if not is_not_found(exc, "InvalidVolume.NotFound"):
            raise


# --- S3 -------------------------------------------------------------------------------------------

def s3_recovery_point(clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint:
    client = clients.client("s3", spec.region, spec.account)
    try:
        listing = client.list_object_versions(Bucket=spec.source_id, MaxKeys=100)
    except ClientError as exc:
        if is_not_found(exc, "NoSuchBucket"):
            raise NoRecoveryPoint(f"bucket {spec.source_id} not found") from None
        raise
    versions = [v for v in listing.get("Versions", []) if v.get("VersionId") not in (None, "null")]
    if not versions:
        raise NoRecoveryPoint(f"bucket {spec.source_id} has no object versions to restore (versioning off or empty)")
    # Restore a prior version when one exists: that is what recovering from an overwrite needs.
    chosen = next((v for v in versions if not v.get("IsLatest")), versions[0])
    return RecoveryPoint(chosen["VersionId"], chosen["LastModified"], {"key": chosen["Key"], "etag": chosen.get("ETag")})


def s3_start(clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint) -> str:
    client = clients.client("s3", spec.region, spec.account)
    create = {} if spec.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": spec.region}}
    client.create_bucket(Bucket=spec.copy_name, **create)
    client.put_bucket_tagging(Bucket=spec.copy_name, Tagging={"TagSet": spec.tag_list})
    key = point.detail["key"]
    client.copy_object(Bucket=spec.copy_name, Key=f"restore/{key}",
                       CopySource={"Bucket": spec.source_id, "Key": key, "VersionId": point.identifier})
    return spec.copy_name


def s3_state(clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None) -> CopyState:
    client = clients.client("s3", spec.region, spec.account)
    try:
        client.head_bucket(Bucket=copy_id)
    except ClientError as exc:
        if is_not_found(exc, "404", "NoSuchBucket"):
            return CopyState("missing")
        raise
    detail = {}
    if point is not None:
        key = point.detail["key"]
        original = client.get_object(Bucket=spec.source_id, Key=key, VersionId=point.identifier)["Body"].read()
        restored = client.get_object(Bucket=copy_id, Key=f"restore/{key}")["Body"].read()
        detail = {"key": key, "source_sha256": hashlib.sha256(original).hexdigest(),
                  "restored_sha256": hashlib.sha256(restored).hexdigest()}
        detail["checksum_match"] = detail["source_sha256"] == detail["restored_sha256"]
    return CopyState("available", f"s3://{copy_id}/restore/", None, detail)


def s3_delete(clients: AwsClients, spec: RestoreSpec, copy_id: str) -> None:
    client = clients.client("s3", spec.region, spec.account)
    try:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=copy_id):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                client.delete_object(Bucket=copy_id, Key=item["Key"], VersionId=item["VersionId"])
        client.delete_bucket(Bucket=copy_id)
    except ClientError as exc:
        if not is_not_found(exc, "NoSuchBucket", "404"):
            raise


DRIVERS = {
    "rds_instance": (rds_instance_recovery_point, rds_instance_start, rds_instance_state, rds_instance_delete),
    "rds_cluster": (rds_cluster_recovery_point, rds_cluster_start, rds_cluster_state, rds_cluster_delete),
    "dynamodb_table": (dynamodb_recovery_point, dynamodb_start, dynamodb_state, dynamodb_delete),
    "ebs_volume": (ebs_recovery_point, ebs_start, ebs_state, ebs_delete),
    "s3_bucket": (s3_recovery_point, s3_start, s3_state, s3_delete),
}
