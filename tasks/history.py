"""Read the evidence history compactly: one summary per run, from summary.json or, for runs written
before summaries existed, from results.json (parsed fully once, then reduced to the same shape)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .evidence import SUMMARY_FILE, EvidenceStore, RunRecord, list_dirs, run_summary

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


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def summary_from_dict(data: dict) -> RunSummary:
    return RunSummary(
        flow=data["flow"], run_id=data["run_id"], started_at=_utc(data["started_at"]), status=data["status"],
        finished_at=_utc(data.get("finished_at")), run_url=data.get("run_url"),
        evidence_dir=data.get("evidence_dir"), reports=data.get("reports") or {},
        parameters=data.get("parameters") or {}, services=data.get("services") or [],
        measurements=data.get("measurements") or [], findings=data.get("findings") or [],
        fleets=data.get("fleets") or {})


def read_run(store: EvidenceStore, run_dir: str) -> RunSummary | None:
    raw = store.read_bytes(f"{run_dir}/{SUMMARY_FILE}")
    if raw is not None:
        return summary_from_dict(json.loads(raw))
    raw = store.read_bytes(f"{run_dir}/results.json")
    if raw is None:
        return None  # a directory without results (an interrupted first write): nothing to report
    return summary_from_dict(run_summary(RunRecord.model_validate_json(raw)))


def load_summaries(store: EvidenceStore, flow: str, workers: int = 1) -> list[RunSummary]:
    """Every run of a flow (any status), oldest first. Remote stores read with a few threads."""
    dirs = list_dirs(store, flow)
    if workers > 1 and len(dirs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            runs = list(pool.map(lambda d: read_run(store, d), dirs))
    else:
        runs = [read_run(store, d) for d in dirs]
    return sorted((r for r in runs if r is not None), key=lambda r: r.started_at)


def load_dashboard_history(store: EvidenceStore, workers: int | None = None) -> dict[str, list[RunSummary]]:
    remote = "://" in store.location
    workers = workers or (8 if remote else 1)
    return {flow: load_summaries(store, flow, workers) for flow in DASHBOARD_FLOWS}
