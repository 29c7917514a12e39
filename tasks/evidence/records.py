"""The evidence's value types: what a run, a service, a restore and a ticket are, apart from where they are
stored. Pure: the rules compute from these, the stores persist them.

The states are `Literal`s so a typo is a validation error when evidence is written or read, and every page
that lists them (dashboard, events, reports) uses the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import (
    Any,
    Literal,
    NamedTuple,
    NotRequired,  # pydantic reads TypedDict from here on 3.11
    get_args,
)

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict

from tasks.evidence.findings import Finding

# timed_out / abandoned: a suspended tabletop that Prefect ended while it waited for answers; cancelled: a run
# stopped through Prefect (a drill stops between steps and rolls back first).
RunStatus = Literal["running", "completed", "failed", "crashed", "timed_out", "abandoned", "cancelled"]
ServiceState = Literal["pass", "gaps", "invalid", "not_assessed"]
KindName = Literal["rds_instance", "rds_cluster", "dynamodb_table", "ebs_volume", "s3_bucket"]
MeasurementStatus = Literal[
    "pending", "passed", "failed", "timeout", "validation_failed", "no_recovery_point", "preflight_failed"
]
Cleanup = Literal["none", "deleted", "left"]
TicketState = Literal["open", "closed"]

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
SERVICE_STATES: tuple[ServiceState, ...] = get_args(ServiceState)
MEASUREMENT_STATUSES: tuple[MeasurementStatus, ...] = get_args(MeasurementStatus)
# No copy was made: the restore is counted as failed, and its RTO/RPO are not plotted.
NOT_TESTED: frozenset[MeasurementStatus] = frozenset({"no_recovery_point", "preflight_failed"})


class ServiceStatus(BaseModel):
    service: str
    tier: int | None
    status: ServiceState
    findings: int = 0
    checks: int | None = None  # checks run (one per check and resource), where the flow counts them (audit)


class Measurement(BaseModel):
    """One restore, measured: achieved RTO (start to validated) and RPO (start minus recovery point)."""

    service: str
    tier: int
    resource: str
    kind: KindName
    mode: str = ""  # the recovery path (tasks/rules/restore_plan.py MODES)
    region: str = ""
    source_region: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    rto_seconds: float | None = None
    rto_target_seconds: float
    rpo_seconds: float | None = None
    rpo_target_seconds: float
    # The disruption the restore path recovers from (in-region | region), whose targets the two above are;
    # rpo_judged False: the RPO is shown but another path answers for it (a snapshot beside PITR).
    disruption: str = "in-region"
    rpo_judged: bool = True
    judged_against: str = ""
    passed: bool = False
    status: MeasurementStatus = "pending"
    recovery_point: str | None = None
    recovery_point_time: datetime | None = None
    recovery_mechanism: str | None = None  # what made the point: RDS automated backups, AWS Backup, ...
    copy_id: str | None = None
    instance_class: str | None = None
    # What the copy carried of its source's configuration, as the restore call was given it (groups, storage
    # type, IOPS, throughput, KMS key; `overridden`: group -> the source's name the policy replaced). Empty in
    # evidence written before it was recorded.
    configuration: dict[str, object] = {}
    validation: list[dict[str, object]] = []
    cleanup: Cleanup = "none"
    error: str | None = None
    resumed_from: str | None = None


class RunRecord(BaseModel):
    flow: str
    run_id: str
    run_url: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    status: RunStatus = "running"
    parameters: dict[str, object] = {}
    services: list[ServiceStatus] = []
    findings: list[Finding] = []
    measurements: list[Measurement] = []
    tracker: dict[str, object] = {}
    errors: list[str] = []
    details: dict[str, object] = {}  # flow-specific results (a simulation's impact table and decision log)
    evidence_dir: str | None = None
    reports: dict[str, str] = Field(default_factory=dict)
    # Fleet label -> member resource keys seen when the run planned: the denominator of fleet coverage.
    fleets: dict[str, list[str]] = Field(default_factory=dict)


SUMMARY_VERSION = 1


def run_summary(record: RunRecord) -> dict[str, Any]:
    """What later reports need from a run, without finding details, validation output or errors."""
    data = record.model_dump(
        mode="json",
        include={
            "flow",
            "run_id",
            "run_url",
            "started_at",
            "finished_at",
            "status",
            "parameters",
            "services",
            "evidence_dir",
            "reports",
            "fleets",
            "tracker",
        },
    )
    data["summary_version"] = SUMMARY_VERSION
    data["measurements"] = [
        m.model_dump(mode="json", include=set(MEASUREMENT_SUMMARY_FIELDS)) for m in record.measurements
    ]
    data["findings"] = [
        {
            "service": f.service,
            "tier": f.tier,
            "check": f.check,
            "severity": f.severity,
            "title": f.title,
            "ticket": f.ticket,
        }
        for f in record.findings
    ]
    return data


REVIEW_FLOW = "documentation-review"
RESTORE_FLOW = "backup-restore-test"
SIMULATION_FLOW = "dr-simulation"
AUDIT_FLOW = "backup-posture-audit"
DASHBOARD_FLOWS = (REVIEW_FLOW, RESTORE_FLOW, SIMULATION_FLOW, AUDIT_FLOW)


class MeasurementSummary(NamedTuple):
    """A restore as later reports need it (the summary.json form of a Measurement).

    A named tuple built by measurement_summaries(), not a pydantic model: a 10,000-service history holds
    40,000 of them, and a model took three times the memory (its field dict and fields-set)."""

    service: str
    tier: int
    resource: str
    kind: KindName
    started_at: datetime
    rto_target_seconds: float
    rpo_target_seconds: float
    mode: str = ""
    region: str = ""
    rto_seconds: float | None = None
    rpo_seconds: float | None = None
    passed: bool = False
    status: MeasurementStatus = "pending"
    disruption: str = "in-region"
    rpo_judged: bool = True
    judged_against: str = ""
    recovery_mechanism: str | None = None


MEASUREMENT_SUMMARY_FIELDS = frozenset(MeasurementSummary._fields)


@with_config(ConfigDict(extra="ignore"))
class _MeasurementFields(TypedDict):
    """What a summary.json measurement must hold; pydantic checks it (types, the kind and status
    vocabularies) in one call per run, and measurement_summaries() makes the tuples."""

    service: str
    tier: int
    resource: str
    kind: KindName
    started_at: datetime
    rto_target_seconds: float
    rpo_target_seconds: float
    mode: NotRequired[str]
    region: NotRequired[str]
    rto_seconds: NotRequired[float | None]
    rpo_seconds: NotRequired[float | None]
    passed: NotRequired[bool]
    status: NotRequired[MeasurementStatus]
    disruption: NotRequired[str]
    rpo_judged: NotRequired[bool]
    judged_against: NotRequired[str]
    recovery_mechanism: NotRequired[str | None]


@lru_cache(maxsize=1)
def _measurements_adapter() -> TypeAdapter[list[_MeasurementFields]]:
    return TypeAdapter(list[_MeasurementFields])


def measurement_summaries(items: list[dict[str, Any]]) -> list[MeasurementSummary]:
    """summary.json measurements, checked (pydantic's ValidationError, a ValueError, names the field)."""
    return [MeasurementSummary(**m) for m in _measurements_adapter().validate_python(items)]


def measurement_summary(data: dict[str, Any]) -> MeasurementSummary:
    return measurement_summaries([data])[0]


@dataclass(slots=True)
class RunSummary:
    flow: str
    run_id: str
    started_at: datetime
    status: RunStatus
    finished_at: datetime | None = None
    run_url: str | None = None
    evidence_dir: str | None = None
    reports: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    services: list[dict[str, Any]] = field(default_factory=list)  # {service, tier, status, findings}
    measurements: list[MeasurementSummary] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)  # {service, tier, check, severity, title, ticket}
    fleets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.status == "completed"


def now() -> datetime:
    """The current time in UTC: every timestamp the tool records is timezone-aware UTC."""
    return datetime.now(timezone.utc)


def now_text() -> str:
    """`now()` as ISO 8601 text to the second, as the ledger, the outbox and the run lock record it."""
    return now().isoformat(timespec="seconds")


def utc(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def summary_from_dict(data: dict[str, Any]) -> RunSummary:
    started = utc(data["started_at"])
    if started is None:
        raise ValueError("a run summary without started_at")
    return RunSummary(
        flow=data["flow"],
        run_id=data["run_id"],
        started_at=started,
        status=data["status"],
        finished_at=utc(data.get("finished_at")),
        run_url=data.get("run_url"),
        evidence_dir=data.get("evidence_dir"),
        reports=data.get("reports") or {},
        parameters=data.get("parameters") or {},
        services=data.get("services") or [],
        measurements=measurement_summaries(data.get("measurements") or []),
        findings=data.get("findings") or [],
        fleets=data.get("fleets") or {},
    )


@dataclass(frozen=True, slots=True)
class TicketRecord:
    key: str
    service: str
    tier: int | None
    severity: str
    status: TicketState
    opened_at: datetime
    closed_at: datetime | None = None
    title: str = ""
    check: str = ""
    url: str | None = None
    resource: str = ""  # what the ticket is about (four tickets of one check differ only here)
