"""Read the live side of a runbook's `resources:` entries and normalise it to `expect` names.

Only the attributes asked for are fetched (an S3 bucket with only `versioning` expected costs one call),
fleets are read with paged list calls (a hundred databases a request), the regions and accounts of an
entry are read at the same time (a few threads), and cross-region copies are looked up once per
destination region for a whole fleet, whatever the number of source regions.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError

from tasks.aws import dynamodb, ec2, rds, s3
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error, is_transient
from tasks.aws.tags import tag_dict
from tasks.catalog.runbook import Resource, ResourceKind
from tasks.errors import AwsError
from tasks.evidence.inventory import LiveResource, Observation
from tasks.rules.ebs_copies import is_copy_of, source_snapshot_id

MAX_READERS = 8  # (account, region) pairs of one entry read at once


def observe(
    spec: Resource,
    index: int,
    clients: AwsClients,
    wanted: set[str] | None = None,
    now: datetime | None = None,
    copy_regions: list[str] | None = None,
) -> Observation:
    """`copy_regions` overrides where cross-region copies are looked for (default: expect.copy_regions)."""
    wanted = set(spec.expect.model_fields_set) if wanted is None else wanted
    now = now or datetime.now(timezone.utc)
    observation = Observation(spec=spec, index=index)
    reader = _READERS[spec.kind]
    shared = _Shared()
    reads = []
    for account in spec.all_accounts():
        scoped = spec if account == spec.account else spec.model_copy(update={"account": account, "accounts": None})
        if copy_regions is not None:
            scoped = scoped.model_copy(
                update={"expect": scoped.expect.model_copy(update={"copy_regions": copy_regions})}
            )
        reads += [(account, region, scoped) for region in spec.all_regions()]

    def read(item):
        account, region, scoped = item
        try:
            return reader(scoped, region, clients, wanted, now, shared), None
        except (ClientError, BotoCoreError, AwsError) as exc:
            return None, exc

    # A fleet's copy-region listings do not depend on its members: start them with the region reads.
    prefetch = {
        key: load for _, _, scoped in reads for key, load in _copy_listings(scoped, clients, wanted) if spec.id is None
    }
    if len(reads) + len(prefetch) > 1:
        with ThreadPoolExecutor(
            max_workers=min(MAX_READERS, len(reads) + len(prefetch)), thread_name_prefix="observe"
        ) as pool:
            for key, load in prefetch.items():
                pool.submit(shared.get, key, load, quiet=True)
            outcomes = list(pool.map(read, reads))
    else:
        outcomes = [read(item) for item in reads]
    for (account, region, _), (members, exc) in zip(reads, outcomes):
        if exc is None:
            observation.members += members
        elif is_transient(exc):
            raise exc  # the task's retry policy decides; botocore already retried with backoff
        else:
            detail = exc if isinstance(exc, AwsError) else describe_error(exc)
            observation.errors.append(f"{_where(account, region)}: {detail}")
            observation.unread.append((account, region))
    return observation


class _Shared:
    """Listings that several regions of one entry need (a copy region's snapshots): fetched once, by the
    first region to ask, while the others wait for it. A failure is handed to every region that asked."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[threading.Lock, list]] = {}

    def get(self, key: tuple, load: Callable[[], list], quiet: bool = False) -> list | None:
        """The listing under `key`, loaded by this call if no other has; `quiet` (a prefetch) keeps a failure
        for the regions that ask for it instead of raising it."""
        with self._lock:
            entry = self._entries.setdefault(key, (threading.Lock(), []))
        lock, box = entry
        with lock:
            if not box:
                try:
                    box.append((load(), None))
                except (ClientError, BotoCoreError, AwsError) as exc:
                    box.append((None, exc))
            value, exc = box[0]
        if exc is not None and not quiet:
            raise exc
        return value


def _where(account: str | None, region: str) -> str:
    return f"{account}/{region}" if account else region


def _selected(tags: dict[str, str], spec: Resource) -> bool:
    return all(tags.get(key) == value for key, value in spec.select.tags.items())


def _members(
    spec: Resource,
    get: Callable[[str], object],
    every: Callable[[], Iterable],
    tags: Callable[[object], dict[str, str]] | None,
) -> list:
    """An entry's raw members: its one resource by id (none if it is gone), or every resource listed whose
    tags match `select` (`tags` None: `every` lists only those already)."""
    if spec.id is not None:
        raw = get(spec.id)
        return [raw] if raw else []
    return [item for item in every() if tags is None or _selected(tags(item), spec)]


def _wanted_copy_regions(spec: Resource, wanted: set[str]) -> list[str]:
    if "copy_regions" not in wanted:
        return []
    return list(spec.expect.copy_regions or [])


# --- RDS instances and Aurora clusters -----------------------------------------------------------


def _read_rds(spec, region, clients, wanted, now, shared, get, every, id_key, normalize) -> list[LiveResource]:
    """RDS instances or Aurora clusters (the same shape: `id_key` names them, `normalize` reads them)."""
    client = clients.client("rds", region, spec.account)
    raws = _members(spec, lambda i: get(client, i), lambda: every(client), lambda r: tag_dict(r.get("TagList")))
    copies = _copied(spec, {r[id_key] for r in raws}, clients, wanted, shared)
    return [
        LiveResource(
            kind=spec.kind.value,
            region=region,
            id=r[id_key],
            account=spec.account,
            attrs=normalize(r, copies.get(r[id_key], {}), now),
            tags=tag_dict(r.get("TagList")),
        )
        for r in raws
    ]


def normalize_db_instance(db: dict, copies: dict | set, now: datetime | None = None) -> dict[str, object]:
    """`copies`: copy region -> when the newest copy's data there is from (a set of regions: times unknown)."""
    copies = dict.fromkeys(copies) if isinstance(copies, set) else dict(copies)
    replicas = _replica_regions(db.get("ReadReplicaDBInstanceIdentifiers", []))
    ages = copy_ages(copies, now or datetime.now(timezone.utc))
    ages.update(dict.fromkeys(replicas, 0.0))  # a cross-region replica is current
    return {
        "multi_az": bool(db.get("MultiAZ")),
        "encrypted": bool(db.get("StorageEncrypted")),
        "backup_retention_days": int(db.get("BackupRetentionPeriod", 0)),
        "deletion_protection": bool(db.get("DeletionProtection")),
        "engine": db.get("Engine"),
        "copy_regions": sorted(set(copies) | replicas),
        "copy_ages": ages,
        "latest_restorable_time": db.get("LatestRestorableTime"),
        "status": db.get("DBInstanceStatus"),
        "instance_class": db.get("DBInstanceClass"),
        "availability_zone": db.get("AvailabilityZone"),
    }


def _replica_regions(replicas: list[str]) -> set[str]:
    # Cross-region replicas are listed by ARN (arn:aws:rds:REGION:ACCOUNT:db:ID); same-region ones by id.
    return {arn.split(":")[3] for arn in replicas if arn.startswith("arn:")}


def _copy_listings(spec, clients, wanted) -> list[tuple[tuple, Callable[[], list]]]:
    """(key, loader) of each copy-region listing an entry's members are matched against: the ids of the
    instances (or clusters) that have a snapshot in that region. One listing serves every source region."""
    if spec.kind not in (ResourceKind.rds_instance, ResourceKind.rds_cluster):
        return []
    if spec.kind == ResourceKind.rds_instance:
        id_key = "DBInstanceIdentifier"
        snapshots = partial(rds.iter_recovery_snapshots, instance_id=spec.id)
    else:
        id_key = "DBClusterIdentifier"
        snapshots = partial(rds.iter_db_cluster_snapshots, cluster_id=spec.id)
    listings = []
    for copy_region in _wanted_copy_regions(spec, wanted):

        def load(region=copy_region):
            client = clients.client("rds", region, spec.account)
            return [(s.get(id_key), _data_time(s)) for s in snapshots(client)]

        listings.append(((spec.kind.value, spec.account, copy_region, spec.id), load))
    return listings


def _data_time(snapshot: dict):
    """When a snapshot's data is from: a copy keeps its source's time as OriginalSnapshotCreateTime
    (API_DBSnapshot); a cluster snapshot copy has no such field, so its own create time stands in."""
    return snapshot.get("OriginalSnapshotCreateTime") or snapshot.get("SnapshotCreateTime")


def _copied(spec, ids, clients, wanted, shared) -> dict[str, dict[str, datetime | None]]:
    """Member id -> copy region -> when the newest copy's data there is from (None: time not reported)."""
    found: dict[str, dict[str, datetime | None]] = defaultdict(dict)
    if not ids:
        return found
    for key, load in _copy_listings(spec, clients, wanted):
        copy_region = key[2]
        for member_id, when in shared.get(key, load):
            if member_id in ids:
                _keep_newest(found[member_id], copy_region, when)
    return found


def _keep_newest(times: dict, region: str, when) -> None:
    known = times.get(region)
    if region not in times or (when is not None and (known is None or when > known)):
        times[region] = when


def copy_ages(copies: dict[str, datetime | None], now: datetime) -> dict[str, float | None]:
    """Copy region -> age in seconds of the newest copy's data there (None: AWS reported no time)."""
    return {
        region: (None if when is None else max(0.0, (now - when).total_seconds()))
        for region, when in sorted(copies.items())
    }


# --- Aurora clusters -----------------------------------------------------------------------------


def normalize_db_cluster(cluster: dict, copies: dict | set, now: datetime | None = None) -> dict[str, object]:
    copies = dict.fromkeys(copies) if isinstance(copies, set) else dict(copies)
    members = cluster.get("DBClusterMembers", [])
    return {
        # Aurora storage always spans zones; compute survives a zone only with a reader elsewhere.
        "multi_az": bool(cluster.get("MultiAZ")) or len(members) >= 2,
        "encrypted": bool(cluster.get("StorageEncrypted")),
        "backup_retention_days": int(cluster.get("BackupRetentionPeriod", 0)),
        "deletion_protection": bool(cluster.get("DeletionProtection")),
        "engine": cluster.get("Engine"),
        "copy_regions": sorted(copies),
        "copy_ages": copy_ages(copies, now or datetime.now(timezone.utc)),
        "latest_restorable_time": cluster.get("LatestRestorableTime"),
        "status": cluster.get("Status"),
        "members": len(members),
    }


# --- S3 ------------------------------------------------------------------------------------------


def _read_s3_buckets(spec, region, clients, wanted, now, shared) -> list[LiveResource]:
    client = clients.client("s3", region, spec.account)
    names = _members(spec, lambda name: name, lambda: s3.list_bucket_names(client), lambda n: s3.get_tags(client, n))
    members = []
    for name in names:
        try:
            versioning = s3.get_versioning(client, name)
        except s3.BucketMissing:
            continue
        attrs: dict[str, object] = {"versioning": versioning == "Enabled", "versioning_status": versioning}
        if "replication_to" in wanted:
            attrs["replication_to"] = s3.get_replication_destinations(client, name)
        if "encrypted" in wanted:
            attrs["encrypted"] = s3.get_default_encryption(client, name)
        if "object_lock" in wanted:
            attrs["object_lock"] = s3.get_object_lock(client, name)
        members.append(LiveResource(kind=spec.kind.value, region=region, id=name, account=spec.account, attrs=attrs))
    return members


# --- DynamoDB ------------------------------------------------------------------------------------


def _read_dynamodb_tables(spec, region, clients, wanted, now, shared) -> list[LiveResource]:
    client = clients.client("dynamodb", region, spec.account)

    def every() -> Iterator[dict]:
        for name in dynamodb.list_table_names(client):
            table = dynamodb.get_table(client, name)
            if table:  # deleted between the listing and the read
                yield table

    tables = _members(
        spec, lambda name: dynamodb.get_table(client, name), every, lambda t: dynamodb.get_tags(client, t["TableArn"])
    )
    members = []
    for table in tables:
        pitr = dynamodb.get_pitr(client, table["TableName"])
        status = pitr.get("PointInTimeRecoveryStatus", "DISABLED")
        earliest = pitr.get("EarliestRestorableDateTime")
        # On-demand backups (yours or AWS Backup's) are recovery points too: the audit reports them and the
        # restore test restores the newest.
        backups = [
            {
                "arn": b["BackupArn"],
                "mechanism": dynamodb.BACKUP_MECHANISMS.get(b.get("BackupType", ""), b.get("BackupType", "")),
                "age_seconds": (now - b["BackupCreationDateTime"]).total_seconds(),
            }
            for b in dynamodb.newest_backups(client, table["TableName"])
        ]
        members.append(
            LiveResource(
                kind=spec.kind.value,
                region=region,
                id=table["TableName"],
                account=spec.account,
                attrs={
                    "pitr": status == "ENABLED",
                    # How far back PITR reaches (API_PointInTimeRecoveryDescription: the recovery period, 1-35 days).
                    "pitr_window_seconds": (now - earliest).total_seconds()
                    if status == "ENABLED" and earliest
                    else None,
                    # Global table replicas are the table's copies in other regions.
                    "copy_regions": sorted(
                        r["RegionName"] for r in table.get("Replicas", []) if r.get("RegionName") != region
                    ),
                    # DynamoDB encrypts every table at rest (AWS-owned key by default).
                    "encrypted": True,
                    "status": table.get("TableStatus"),
                    "backups": backups,
                },
            )
        )
    return members


# --- EBS -----------------------------------------------------------------------------------------


def _read_ebs_volumes(spec, region, clients, wanted, now, shared) -> list[LiveResource]:
    client = clients.client("ec2", region, spec.account)
    volumes = _members(
        spec, lambda i: ec2.get_volume(client, i), lambda: ec2.iter_volumes_tagged(client, spec.select.tags), None
    )
    ids = [v["VolumeId"] for v in volumes]
    snapshots: dict[str, list[dict]] = defaultdict(list)
    if ids and ({"snapshot_max_age", "copy_regions"} & wanted):
        for snapshot in ec2.iter_own_snapshots(client, ids):
            snapshots[snapshot["VolumeId"]].append(snapshot)
    copies: dict[str, dict[str, datetime | None]] = defaultdict(dict)
    for copy_region in _wanted_copy_regions(spec, wanted) if ids else []:
        copy_client = clients.client("ec2", copy_region, spec.account)
        for copy in ec2.iter_own_snapshots(copy_client):
            for volume_id in ids:
                taken = {s["SnapshotId"]: s.get("StartTime") for s in snapshots.get(volume_id, [])}
                if is_copy_of(copy, volume_id, set(taken)):
                    # The data is from the source snapshot where the copy names it, else from the copy.
                    when = taken.get(source_snapshot_id(copy) or "") or copy.get("StartTime")
                    _keep_newest(copies[volume_id], copy_region, when)
    members = []
    for volume in volumes:
        taken = [s["StartTime"] for s in snapshots.get(volume["VolumeId"], [])]
        age = (now - max(taken)).total_seconds() if taken else None
        members.append(
            LiveResource(
                kind=spec.kind.value,
                region=region,
                id=volume["VolumeId"],
                account=spec.account,
                attrs={
                    "encrypted": bool(volume.get("Encrypted")),
                    "availability_zone": volume.get("AvailabilityZone"),
                    "snapshot_max_age": age,
                    "snapshot_age_seconds": age,
                    # A corruption is undone only from a snapshot older than the damage.
                    "oldest_snapshot_age_seconds": (now - min(taken)).total_seconds() if taken else None,
                    "copy_regions": sorted(copies.get(volume["VolumeId"], {})),
                    "copy_ages": copy_ages(copies.get(volume["VolumeId"], {}), now),
                },
                tags=tag_dict(volume.get("Tags")),
            )
        )
    return members


_READERS = {
    ResourceKind.rds_instance: partial(
        _read_rds,
        get=rds.get_db_instance,
        every=rds.iter_db_instances,
        id_key="DBInstanceIdentifier",
        normalize=normalize_db_instance,
    ),
    ResourceKind.rds_cluster: partial(
        _read_rds,
        get=rds.get_db_cluster,
        every=rds.iter_db_clusters,
        id_key="DBClusterIdentifier",
        normalize=normalize_db_cluster,
    ),
    ResourceKind.s3_bucket: _read_s3_buckets,
    ResourceKind.dynamodb_table: _read_dynamodb_tables,
    ResourceKind.ebs_volume: _read_ebs_volumes,
}
