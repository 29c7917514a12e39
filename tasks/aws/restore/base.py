"""What every restore driver shares: the spec of a copy, a recovery point, a copy's state, and the
`RestoreDriver` protocol each resource-kind module in this package satisfies.

Every mutating call goes through the interlock in tasks/aws/guard.py, so a copy must carry the `drt-`
prefix and the ownership tags, and only such copies can be deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from tasks.aws.clients import AwsClients
from tasks.catalog.policy import RestoreRegionPolicy
from tasks.rules.restore_config import CopyConfig

CopyStatus = Literal["creating", "available", "failed", "missing"]


@dataclass(frozen=True)
class Isolation:
    subnet_group: str | None = None
    security_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RestoreSpec:
    kind: str  # rds_instance | rds_cluster | dynamodb_table | s3_bucket | ebs_volume
    mode: str  # snapshot | snapshot-dr | pitr-latest | pitr-time | object-version
    source_id: str
    source_region: str
    region: str  # where the copy is made (the source region, or the DR region)
    copy_name: str
    tags: tuple[tuple[str, str], ...]
    account: str | None = None
    instance_class: str | None = None
    engine: str | None = None
    availability_zone: str | None = None
    isolation: Isolation = Isolation()
    restore_time: datetime | None = None
    # The policy's restore.regions entry for `region`: groups and KMS key copies made there use.
    configuration: RestoreRegionPolicy | None = None
    poll_seconds: float = 0.0  # the run's poll interval (drivers with PACED_STATE pace their reads by it)

    @property
    def tag_list(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags]


@dataclass
class RecoveryPoint:
    identifier: str  # snapshot id, version id, or "latest"/ISO time for point-in-time
    time: datetime | None  # the moment the data is from (for RPO)
    detail: dict[str, Any] = field(default_factory=dict)
    mechanism: str | None = None  # what made it: RDS automated backups, AWS Backup, manual snapshot, ...


@dataclass
class CopyState:
    status: CopyStatus
    endpoint: str | None = None
    port: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class NoRecoveryPoint(Exception):
    pass


def rds_client(clients: AwsClients, spec: RestoreSpec) -> Any:
    return clients.client("rds", spec.region, spec.account)


def newest_available(snapshots: list[dict[str, Any]], time_key: str) -> dict[str, Any] | None:
    ready = [s for s in snapshots if s.get("Status", "available") == "available"]
    return max(ready, key=lambda s: s[time_key]) if ready else None


RDS_FAILED = {
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "restore-error",
    "storage-full",
    "inaccessible-encryption-credentials",
}


def rpo_from_point(point: RecoveryPoint, started: datetime, mode: str) -> float | None:
    """Data lost if the source failed when the restore started: the age of the recovery point.

    A point-in-time restore to a chosen moment measures the restore, not the backup: no RPO.
    """
    if point.time is None or mode == "pitr-time":
        return None
    return max(0.0, (started - point.time).total_seconds())


class RestoreDriver(Protocol):
    """One resource kind's restore: each module in tasks/aws/restore/ (but base and drivers) is one.

    recovery_point: the newest point the spec's mode can restore from (raises NoRecoveryPoint).
    start: begin the restore into the spec's isolated, tagged copy; returns the copy's id.
    state: the copy's status and endpoint (`missing` once deleted: how teardown is confirmed).
    delete: one step of tearing the copy down (through the ownership interlock); True once every delete is
      accepted, False when AWS refuses it for now (a table still CREATING, a cluster with a member still
      deleting): the teardown calls it again on its next poll.
    configure (optional, module-level): configure(clients, spec, point) -> CopyConfig, what the copy carries
      of its source (tasks/rules/restore_config.py); start takes it back as `config` (drivers without
      `configure` carry nothing and ignore it), and the measurement records its `applied`.
    advance (optional, module-level): the restore's next step while it is under way, called on each poll
      with the current state (an Aurora writer once its cluster is available).
    rpo_seconds: achieved RPO for a restore from `point` started at `started`.
    prefetch (optional, module-level): prefetch(clients, account, region, source_ids, starting) reads what
      `configure` needs of those sources at once, before the run's restores start (see AwsClients.remember),
      and the recovery points of `starting`, the (source, mode) of the restores that begin at once: each
      kept for that restore's `recovery_point` alone (AwsClients.keep / take).
    PACED_STATE (optional, module-level): True when `state` itself waits for the next of reads made once per
      `spec.poll_seconds` (tasks/aws/restore/polling.py): callers then poll again without sleeping.
    """

    KIND: str
    NAMED_COPY: bool  # the copy's id is the copy name (False: AWS assigns it, e.g. an EBS volume id)

    def recovery_point(self, clients: AwsClients, spec: RestoreSpec) -> RecoveryPoint: ...

    def start(
        self, clients: AwsClients, spec: RestoreSpec, point: RecoveryPoint, config: CopyConfig | None = None
    ) -> str: ...

    def state(
        self, clients: AwsClients, spec: RestoreSpec, copy_id: str, point: RecoveryPoint | None = None
    ) -> CopyState: ...

    def delete(self, clients: AwsClients, spec: RestoreSpec, copy_id: str) -> bool: ...

    def rpo_seconds(self, point: RecoveryPoint, started: datetime, mode: str) -> float | None: ...
