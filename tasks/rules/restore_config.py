"""What a restored copy carries of its source's configuration: the source's description (as AWS's Describe*
call returns it) and the policy's settings for the copy's region -> the restore call's parameters.

Pure: the restore drivers read the source, check that every named group and key exists in the copy's
region (before anything is created), then pass `CopyConfig.kwargs` to the restore call.

Only what each restore API accepts is passed (AWS API reference, per call):
- RestoreDBInstanceFromDBSnapshot / RestoreDBInstanceToPointInTime: DBParameterGroupName (else the
  engine's default group), OptionGroupName, StorageType, Iops, StorageThroughput. No EngineVersion (a
  point-in-time copy runs the source's, a snapshot copy the snapshot's) and no KmsKeyId (the copy keeps
  the snapshot's or source's key; a DR snapshot copy's key is already one of the DR region's).
- RestoreDBClusterFromSnapshot and RestoreDBClusterToPointInTime (Aurora): DBClusterParameterGroupName,
  StorageType (aurora | aurora-iopt1), KmsKeyId (without it the snapshot's or source's key); subnet and
  security groups are the restore's isolation, as for instances. EngineVersion defaults to the snapshot's
  (a point-in-time copy runs the source's) and is not passed.
- No option group for Aurora: API_CreateDBInstance OptionGroupName "doesn't apply to Amazon Aurora", and
  API_RestoreDBClusterFromSnapshot / ToPointInTime: "DB clusters are associated with a default option group
  that can't be modified".
- Multi-AZ DB clusters (engine mysql/postgres, DBClusterInstanceClass) are not restored by this tool: their
  restore needs DBClusterInstanceClass and Iops ("Valid for: Multi-AZ DB clusters only") and their instances
  are not added with CreateDBInstance; such a copy is refused with the reason before anything is created.
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

# RDS User Guide CHAP_Storage.html#gp3-storage: below these sizes gp3 has its baseline IOPS and throughput, which
# cannot be provisioned (RDS refuses Iops then; 400 GiB confirmed by terraform-provider-aws#28382, Oracle's 200 GiB
# by a summary of that page); SQL Server's gp3 IOPS are provisioned from its 20 GiB minimum.
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
    # What the copy was given, for the measurement's evidence: snake_case name -> value; `overridden` maps
    # a group the policy replaced to the source's own name.
    applied: dict[str, Any] = field(default_factory=dict)


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


def _applied(
    kwargs: dict[str, Any], groups: list[tuple[str, str | None, str | None]], kms_key: str | None = None
) -> dict[str, Any]:
    """The measurement's record of a copy's configuration: groups (key, carried name, source name), storage
    and the KMS key as the restore call was given them."""
    applied: dict[str, Any] = {}
    overridden: dict[str, str] = {}
    for key, name, source in groups:
        if name:
            applied[key] = name
            if source and source != name:
                overridden[key] = source
    for key, name in _STORAGE_KEYS.items():
        if kwargs.get(key) is not None:
            applied[name] = kwargs[key]
    if kms_key:
        applied["kms_key"] = kms_key
    if overridden:
        applied["overridden"] = overridden
    return applied


_STORAGE_KEYS = {
    "StorageType": "storage_type",
    "VolumeType": "storage_type",
    "Iops": "iops",
    "StorageThroughput": "throughput",
    "Throughput": "throughput",
}


def rds_instance_config(db: dict[str, Any], where: Where) -> CopyConfig:
    """A DB instance's copy (DescribeDBInstances' DBInstance -> restore parameters)."""
    source_pg = _first(db.get("DBParameterGroups"), "DBParameterGroupName")
    source_og = _first(db.get("OptionGroupMemberships"), "OptionGroupName")
    parameter_group = carried_group(PARAMETER_GROUP, source_pg, where)
    option_group = carried_group(OPTION_GROUP, source_og, where)
    kwargs = rds_storage(db)
    if parameter_group[0]:
        kwargs["DBParameterGroupName"] = parameter_group[0]
    if option_group[0]:
        kwargs["OptionGroupName"] = option_group[0]
    return CopyConfig(
        kwargs=kwargs,
        groups=_groups([(PARAMETER_GROUP, *parameter_group), (OPTION_GROUP, *option_group)]),
        applied=_applied(
            kwargs,
            [("db_parameter_group", parameter_group[0], source_pg), ("option_group", option_group[0], source_og)],
        ),
    )


def is_multi_az_cluster(cluster: dict[str, Any]) -> bool:
    """A Multi-AZ DB cluster (RDS for MySQL/PostgreSQL with DBClusterInstanceClass), not Aurora."""
    return bool(cluster.get("DBClusterInstanceClass")) or str(cluster.get("Engine") or "") in ("mysql", "postgres")


def rds_cluster_config(cluster: dict[str, Any], writer: dict[str, Any] | None, where: Where) -> CopyConfig:
    """An Aurora cluster's copy (DescribeDBClusters' DBCluster, and its writer's DBInstance if any), for
    RestoreDBClusterFromSnapshot and RestoreDBClusterToPointInTime alike."""
    name = cluster.get("DBClusterIdentifier")
    if is_multi_az_cluster(cluster):
        return CopyConfig(
            error=f"cluster {name} is a Multi-AZ DB cluster ({cluster.get('Engine')}); this tool restores Aurora "
            "clusters only (a Multi-AZ DB cluster's restore needs DBClusterInstanceClass and Iops)"
        )
    source_cpg = cluster.get("DBClusterParameterGroup")
    source_wpg = _first((writer or {}).get("DBParameterGroups"), "DBParameterGroupName")
    cluster_group = carried_group(CLUSTER_PARAMETER_GROUP, source_cpg, where)
    writer_group = carried_group(PARAMETER_GROUP, source_wpg, where)
    key, error = _kms(bool(cluster.get("StorageEncrypted")), where, f"cluster {name}")
    kwargs: dict[str, Any] = {}
    if cluster_group[0]:
        kwargs["DBClusterParameterGroupName"] = cluster_group[0]
    if cluster.get("StorageType"):
        kwargs["StorageType"] = cluster["StorageType"]  # aurora | aurora-iopt1 (I/O-Optimized)
    if key:
        kwargs["KmsKeyId"] = key
    return CopyConfig(
        kwargs=kwargs,
        writer_kwargs={"DBParameterGroupName": writer_group[0]} if writer_group[0] else {},
        groups=_groups([(CLUSTER_PARAMETER_GROUP, *cluster_group), (PARAMETER_GROUP, *writer_group)]),
        kms_key=key,
        error=error,
        applied=_applied(
            kwargs,
            [
                ("db_cluster_parameter_group", cluster_group[0], source_cpg),
                ("writer_db_parameter_group", writer_group[0], source_wpg),
            ],
            key,
        ),
    )


def ebs_volume_config(volume: dict[str, Any], where: Where) -> CopyConfig:
    """An EBS volume's copy (DescribeVolumes' Volume -> CreateVolume parameters). gp3 IOPS and throughput are
    carried at any size: API_CreateVolume takes them for every gp3 volume (3,000 IOPS and 125 MiB/s by
    default), and the copy has its source's size, whose limits the source already meets."""
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
    return CopyConfig(kwargs=kwargs, kms_key=key, error=error, applied=_applied(kwargs, [], key))
