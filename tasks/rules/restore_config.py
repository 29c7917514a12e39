"""What a restored copy carries of its source's configuration: the source's description (as AWS's Describe*
call returns it) and the policy's settings for the copy's region -> the restore call's parameters.

Pure: the restore drivers read the source, check that every named group and key exists in the copy's
region (before anything is created), then pass `CopyConfig.kwargs` to the restore call.

Only what each restore API accepts is passed (AWS API reference, per call):
- RestoreDBInstanceFromDBSnapshot / RestoreDBInstanceToPointInTime: DBParameterGroupName (else the
  engine's default group), OptionGroupName, StorageType, Iops, StorageThroughput. No EngineVersion (a
  point-in-time copy runs the source's, a snapshot copy the snapshot's) and no KmsKeyId (the copy keeps
  the snapshot's or source's key; a DR snapshot copy's key is already one of the DR region's).
- RestoreDBClusterFromSnapshot: DBClusterParameterGroupName, StorageType, Iops, KmsKeyId (without it the
  snapshot's key); EngineVersion defaults to the snapshot's and is not passed.
- CreateDBInstance (the Aurora writer): DBParameterGroupName; storage and encryption are the cluster's.
- CreateVolume: VolumeType (default gp2), Iops (io1, io2, gp3), Throughput (gp3), Encrypted + KmsKeyId.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.catalog.policy import RestoreRegionPolicy

PARAMETER_GROUP = "DB parameter group"
CLUSTER_PARAMETER_GROUP = "DB cluster parameter group"
OPTION_GROUP = "option group"

# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Storage.html#gp3-storage: below these sizes a
# gp3 volume has its baseline IOPS and throughput, which cannot be provisioned (RDS refuses Iops then).
_GP3_THRESHOLD_GIB = {"oracle": 200, "sqlserver": 20}
_GP3_DEFAULT_THRESHOLD_GIB = 400


class NotCarried(Exception):
    """The source's configuration cannot be carried into the copy's region: the restore must not start."""


@dataclass(frozen=True)
class CopyConfig:
    kwargs: dict[str, Any] = field(default_factory=dict)  # for the restore call
    writer_kwargs: dict[str, Any] = field(default_factory=dict)  # for an Aurora writer's CreateDBInstance
    groups: tuple[tuple[str, str], ...] = ()  # (kind, name) that must exist in the copy's region first
    kms_key: str | None = None  # a key that must exist in the copy's region first
    error: str | None = None  # why the configuration cannot be carried (nothing may be created)


@dataclass(frozen=True)
class Where:
    region: str  # where the copy is made
    source_region: str
    overrides: RestoreRegionPolicy | None = None  # the policy's restore.regions entry for `region`

    @property
    def elsewhere(self) -> bool:
        return self.region != self.source_region


def is_default_group(name: str) -> bool:
    # RDS's own groups (default.postgres16, default:mysql-8-0) exist in every region; a copy gets its
    # engine's default there when none is named.
    return name.startswith(("default.", "default:"))


def carried_group(kind: str, source_name: str | None, where: Where) -> tuple[str | None, bool]:
    """The group a copy uses for the source's `source_name`, and whether it must be checked to exist first.

    The policy's mapping for the copy's region wins; else the source's own group (as it is in the source
    region; by the same name in another region, where it must exist)."""
    if not source_name or is_default_group(source_name):
        return None, False
    mapping = _mapping(kind, where.overrides)
    if source_name in mapping:
        return mapping[source_name], True
    return source_name, where.elsewhere


def _mapping(kind: str, overrides: RestoreRegionPolicy | None) -> dict[str, str]:
    if overrides is None:
        return {}
    return {
        PARAMETER_GROUP: overrides.db_parameter_groups,
        CLUSTER_PARAMETER_GROUP: overrides.db_cluster_parameter_groups,
        OPTION_GROUP: overrides.option_groups,
    }[kind]


def _kms(encrypted: bool, where: Where, what: str) -> tuple[str | None, str | None]:
    """(key, error): an encrypted source's copy in another region needs the policy's key for that region."""
    key = where.overrides.kms_key if where.overrides else None
    if not encrypted:
        return None, None
    if key is None and where.elsewhere:
        return None, (
            f"{what} is encrypted and its copy in {where.region} needs a KMS key of that region: "
            f"name one in the policy's restore.regions.{where.region}.kms_key"
        )
    return key, None


def _first(items: list[dict[str, Any]] | None, key: str) -> str | None:
    for item in items or []:
        if item.get(key):
            return str(item[key])
    return None


def _groups(pairs: list[tuple[str, str | None, bool]]) -> tuple[tuple[str, str], ...]:
    return tuple((kind, name) for kind, name, check in pairs if name and check)


def rds_storage(db: dict[str, Any]) -> dict[str, Any]:
    """StorageType, Iops, StorageThroughput of a DB instance, as its restore accepts them."""
    storage = db.get("StorageType")
    if not storage:
        return {}
    kwargs: dict[str, Any] = {"StorageType": storage}
    if storage in ("io1", "io2") and db.get("Iops"):
        kwargs["Iops"] = db["Iops"]
    elif storage == "gp3":
        engine = str(db.get("Engine") or "")
        family = next((name for name in _GP3_THRESHOLD_GIB if engine.startswith(name)), None)
        threshold = _GP3_THRESHOLD_GIB[family] if family else _GP3_DEFAULT_THRESHOLD_GIB
        if (db.get("AllocatedStorage") or 0) >= threshold:
            kwargs.update({k: db[k] for k in ("Iops", "StorageThroughput") if db.get(k)})
    return kwargs


def rds_instance_config(db: dict[str, Any], where: Where) -> CopyConfig:
    """A DB instance's copy (DescribeDBInstances' DBInstance -> restore parameters)."""
    parameter_group = carried_group(PARAMETER_GROUP, _first(db.get("DBParameterGroups"), "DBParameterGroupName"), where)
    option_group = carried_group(OPTION_GROUP, _first(db.get("OptionGroupMemberships"), "OptionGroupName"), where)
    kwargs = rds_storage(db)
    if parameter_group[0]:
        kwargs["DBParameterGroupName"] = parameter_group[0]
    if option_group[0]:
        kwargs["OptionGroupName"] = option_group[0]
    return CopyConfig(
        kwargs=kwargs,
        groups=_groups([(PARAMETER_GROUP, *parameter_group), (OPTION_GROUP, *option_group)]),
    )


def rds_cluster_config(cluster: dict[str, Any], writer: dict[str, Any] | None, where: Where) -> CopyConfig:
    """An Aurora cluster's copy (DescribeDBClusters' DBCluster, and its writer's DBInstance if any)."""
    cluster_group = carried_group(CLUSTER_PARAMETER_GROUP, cluster.get("DBClusterParameterGroup"), where)
    writer_group = carried_group(
        PARAMETER_GROUP, _first((writer or {}).get("DBParameterGroups"), "DBParameterGroupName"), where
    )
    key, error = _kms(bool(cluster.get("StorageEncrypted")), where, f"cluster {cluster.get('DBClusterIdentifier')}")
    kwargs: dict[str, Any] = {}
    if cluster_group[0]:
        kwargs["DBClusterParameterGroupName"] = cluster_group[0]
    if cluster.get("StorageType"):
        kwargs["StorageType"] = cluster["StorageType"]
        if cluster["StorageType"] in ("io1", "io2", "gp3") and cluster.get("Iops"):  # Multi-AZ DB clusters
            kwargs["Iops"] = cluster["Iops"]
    if key:
        kwargs["KmsKeyId"] = key
    return CopyConfig(
        kwargs=kwargs,
        writer_kwargs={"DBParameterGroupName": writer_group[0]} if writer_group[0] else {},
        groups=_groups([(CLUSTER_PARAMETER_GROUP, *cluster_group), (PARAMETER_GROUP, *writer_group)]),
        kms_key=key,
        error=error,
    )


def ebs_volume_config(volume: dict[str, Any], where: Where) -> CopyConfig:
    """An EBS volume's copy (DescribeVolumes' Volume -> CreateVolume parameters)."""
    kwargs: dict[str, Any] = {}
    volume_type = volume.get("VolumeType")
    if volume_type:
        kwargs["VolumeType"] = volume_type
        if volume_type in ("io1", "io2", "gp3") and volume.get("Iops"):
            kwargs["Iops"] = volume["Iops"]
        if volume_type == "gp3" and volume.get("Throughput"):
            kwargs["Throughput"] = volume["Throughput"]
    key, error = _kms(bool(volume.get("Encrypted")), where, f"volume {volume.get('VolumeId')}")
    if key:
        kwargs.update(Encrypted=True, KmsKeyId=key)
    return CopyConfig(kwargs=kwargs, kms_key=key, error=error)
