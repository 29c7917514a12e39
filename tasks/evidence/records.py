"""TODO docstring."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from pydantic import BaseModel, Field

from tasks.evidence.findings import Finding


class ServiceStatus(BaseModel):
    service: str
    tier: int | None
    status: str  # pass | gaps | invalid | not_assessed
    findings: int = 0
    checks: int | None = None  # checks run (one per check and resource), where the flow counts them (audit)


class Measurement(BaseModel):
    """One restore, measured: achieved RTO (start to validated) and RPO (start minus recovery point)."""

    service: str
    tier: int
    resource: str
    kind: str
    mode: str = ""
    region: str = ""
    source_region: str = ""
    started_at: datetime
    finished_at: datetime | None = None
    rto_seconds: float | None = None
    rto_target_seconds: float
    rpo_seconds: float | None = None
    rpo_target_seconds: float
    passed: bool = False
    status: str = "pending"  # passed | failed | timeout | validation_failed | no_recovery_point | preflight_failed
    recovery_point: str | None = None
    recovery_point_time: datetime | None = None
    copy_id: str | None = None
    instance_class: str | None = None
    validation: list[dict[str, object]] = []
    cleanup: str = "none"  # none | deleted | left
    error: str | None = None
    resumed_from: str | None = None


class RunRecord(BaseModel):
    flow: str
    run_id: str
    run_url: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"  # running | completed | failed
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


_MEASUREMENT_FIELDS = ("service", "tier", "resource", "kind", "mode", "region", "started_at", "rto_seconds",
                       "rto_target_seconds", "rpo_seconds", "rpo_target_seconds", "passed", "status")


def run_summary(record: RunRecord) -> dict:
    """What later reports need from a run, without finding details, validation output or errors."""
    data = record.model_dump(mode="json", include={"flow", "run_id", "run_url", "started_at", "finished_at",
                                                   "status", "parameters", "services", "evidence_dir",
                                                   "reports", "fleets", "tracker"})
    data["summary_version"] = SUMMARY_VERSION
    data["measurements"] = [m.model_dump(mode="json", include=set(_MEASUREMENT_FIELDS)) for m in record.measurements]
    data["findings"] = [{"service": f.service, "tier": f.tier, "check": f.check, "severity": f.severity,
                         "title": f.title, "ticket": f.ticket} for f in record.findings]
    return data


REVIEW_FLOW = "documentation-review"


RESTORE_FLOW = "backup-restore-test"


SIMULATION_FLOW = "dr-simulation"


AUDIT_FLOW = "backup-posture-audit"


DASHBOARD_FLOWS = (REVIEW_FLOW, RESTORE_FLOW, SIMULATION_FLOW, AUDIT_FLOW)


@dataclass(slots=True)
class RunSummary:
    flow: str
    run_id: str
    started_at: datetime
    status: str
    finished_at: datetime | None = None
    run_url: str | None = None
    evidence_dir: str | None = None
    reports: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    services: list[dict] = field(default_factory=list)      # {service, tier, status, findings}
    measurements: list[dict] = field(default_factory=list)  # compact Measurement dicts (times as ISO text)
    findings: list[dict] = field(default_factory=list)      # {service, tier, check, severity, title, ticket}
    fleets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.status == "completed"


def utc(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def summary_from_dict(data: dict) -> RunSummary:
    return RunSummary(
        flow=data["flow"], run_id=data["run_id"], started_at=utc(data["started_at"]), status=data["status"],
        finished_at=utc(data.get("finished_at")), run_url=data.get("run_url"),
        evidence_dir=data.get("evidence_dir"), reports=data.get("reports") or {},
        parameters=data.get("parameters") or {}, services=data.get("services") or [],
        measurements=data.get("measurements") or [], findings=data.get("findings") or [],
        fleets=data.get("fleets") or {})


@dataclass(frozen=True, slots=True)
class TicketRecord:
    key: str
    service: str
    tier: int | None
    severity: str
    status: str  # open | closed
    opened_at: datetime
    closed_at: datetime | None = None
    title: str = ""
    check: str = ""
    url: str | None = None
    resource: str = ""  # what the ticket is about (four tickets of one check differ only here)
