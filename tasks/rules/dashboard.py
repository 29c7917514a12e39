"""The dashboard's decisions, all pure: from the catalog, the run history and the tickets to per-service
status rows, fleet coverage, quarter-over-quarter trends and the steering committee's quarterly pack.

No I/O, no Prefect, no AWS: inputs are plain values (tasks/history.py reads the runs,
tasks/ticket_history.py the tickets), so every rule here is testable with a few literals.

Definitions (documented in docs/dashboard.md):
  * The last run of a control (review, restore test, simulation) for a service is the newest completed
    run of that flow whose services include it; its result is that service's status in the run.
  * Next due = last run + the tier's cadence (review_every, restore_test_every, simulation_every).
    Never run, or past due, is overdue.
  * Compliant at time T: every control has run within its cadence before T and its last result passed.
  * A ticket is past SLA when it has been open longer than its tier's ticket_sla.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tasks.catalog.policy import Policy
from tasks.catalog.types import Catalog
from tasks.evidence.findings import PROGRAM  # the programme's own tickets: action items, vault gaps
from tasks.evidence.records import (
    AUDIT_FLOW,
    NOT_TESTED,
    RESTORE_FLOW,
    REVIEW_FLOW,
    SIMULATION_FLOW,
    MeasurementSummary,
    RunSummary,
    TicketRecord,
)
from tasks.rules.digest import tickets_by_severity
from tasks.rules.quarters import Quarter
from tasks.rules.status import CONDITIONS, STATUS_ORDER, Status, legend, status_of

CRITICAL_TIERS = (0, 1)
CONTROLS = ("review", "restore", "simulation")
CONTROL_FLOWS = {"review": REVIEW_FLOW, "restore": RESTORE_FLOW, "simulation": SIMULATION_FLOW}
SWEPT_FLOWS = {**CONTROL_FLOWS, "audit": AUDIT_FLOW}  # the audit is shown, not a control with a cadence
CONTROL_LABELS = {"review": "documentation review", "restore": "restore test", "simulation": "DR simulation"}
# The overall status rule (worst first) is tasks/rules/status.py; judge_row finds its conditions.
UNRECOVERABLE = "simulation.unrecoverable"
ACTION_ITEM = "simulation.action_item"
TIER_WEIGHT = {0: 4.0, 1: 3.0, 2: 1.5, 3: 1.0}


# --- quarters -------------------------------------------------------------------------------------


# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    service: str
    name: str
    tier: int | None
    owner: str | None = None
    champion: str | None = None
    valid: bool = True
    fleets: tuple[str, ...] = ()  # "service|fleet label", as the restore test records them


def services_from_catalog(catalog: Catalog) -> list[ServiceInfo]:
    """The catalog's services (valid and invalid runbooks) as the dashboard lists them."""
    services = [
        ServiceInfo(
            service=rb.service,
            name=rb.name,
            tier=rb.tier,
            owner=rb.owner,
            champion=rb.dr_champion,
            fleets=tuple(f"{rb.service}|{spec.label()}" for spec in rb.resources if spec.is_fleet),
        )
        for rb in catalog.runbooks.values()
    ]
    known = {s.service for s in services}
    for bad in catalog.invalid:
        if bad.service not in known:
            known.add(bad.service)
            services.append(ServiceInfo(service=bad.service, name="invalid runbook", tier=bad.tier, valid=False))
    return services


@dataclass(frozen=True)
class Cadence:
    review: timedelta
    restore: timedelta
    simulation: timedelta
    ticket_sla: timedelta

    def every(self, control: str) -> timedelta:
        value: timedelta = getattr(self, control)
        return value


def cadences(policy: Policy) -> dict[int | None, Cadence]:
    table: dict[int | None, Cadence] = {
        tier: Cadence(t.review_every, t.restore_test_every, t.simulation_every, t.ticket_sla)
        for tier, t in policy.tiers.items()
    }
    # A runbook too broken to name its tier is held to Tier 1's cadence (as severity does).
    table[None] = table.get(1) or next(iter(table.values()))
    return table


# --- per-service status ---------------------------------------------------------------------------

# One control's latest run for one service: (started_at, the service's status in it, the run).
# A plain tuple: the history sweep makes one per service per run (hundreds of thousands at scale).
Entry = tuple[datetime, str, RunSummary]


@dataclass(slots=True)
class Control:
    name: str
    last: datetime | None = None
    result: str | None = None
    due: datetime | None = None  # None: never run, due now
    overdue: bool = True
    link: str | None = None  # the run's evidence location (its report.html is there)
    detail: str = ""  # e.g. the simulation scenario
    checks: int | None = None  # audit: checks run on the service's resources (None: not counted)
    failing: int = 0  # audit: findings (one per failing check and resource)

    @property
    def passed(self) -> bool:
        return self.result == "pass"


@dataclass(slots=True)
class RestoreFigures:
    restores: int = 0
    passed: int = 0
    failed: int = 0  # attempted restores with no measured RTO (failed, timed out)
    rto_seconds: float | None = None
    rto_target_seconds: float | None = None
    rpo_seconds: float | None = None
    rpo_target_seconds: float | None = None
    rto_disruption: str = "in-region"  # which disruption's target each worst figure was judged against
    rpo_disruption: str = "in-region"

    @property
    def rto_ratio(self) -> float | None:
        return (
            self.rto_seconds / self.rto_target_seconds
            if self.rto_seconds is not None and self.rto_target_seconds
            else None
        )

    @property
    def rpo_ratio(self) -> float | None:
        return (
            self.rpo_seconds / self.rpo_target_seconds
            if self.rpo_seconds is not None and self.rpo_target_seconds
            else None
        )


@dataclass(slots=True)
class TicketSummary:
    open: int = 0
    past_sla: int = 0
    oldest_key: str | None = None
    oldest_opened: datetime | None = None
    oldest_age_days: int | None = None


@dataclass(slots=True)
class ServiceRow:
    info: ServiceInfo
    review: Control
    restore: Control
    simulation: Control
    figures: RestoreFigures
    tickets: TicketSummary
    audit: Control = field(default_factory=lambda: Control("audit", overdue=False))
    status: str = "ok"
    reasons: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)  # the reasons that decided the status (the rest are lesser)
    risk: float = 0.0

    @property
    def service(self) -> str:
        return self.info.service

    @property
    def tier(self) -> int | None:
        return self.info.tier

    @property
    def compliant(self) -> bool:
        return all(not c.overdue and c.passed for c in (self.review, self.restore, self.simulation))

    def control(self, name: str) -> Control:
        value: Control = getattr(self, name)
        return value


def control_from(name: str, entry: Entry | None, every: timedelta, as_of: datetime) -> Control:
    if entry is None:
        return Control(name=name)
    at, status, run = entry
    due = at + every
    detail = str(run.parameters.get("scenario") or "") if name == "simulation" else ""
    return Control(
        name=name, last=at, result=status, due=due, overdue=due < as_of, link=run.evidence_dir, detail=detail
    )


def restore_figures(measurements: list[MeasurementSummary]) -> RestoreFigures:
    """A service's restores in one run: counts, and the worst achieved RTO and RPO against target."""
    fig = RestoreFigures()
    worst_rto = worst_rpo = -1.0
    for m in measurements:
        if m.status in NOT_TESTED:
            fig.failed += 1
            fig.restores += 1
            continue
        fig.restores += 1
        fig.passed += bool(m.passed)
        rto, rto_target = m.rto_seconds, m.rto_target_seconds
        rpo, rpo_target = m.rpo_seconds, m.rpo_target_seconds
        if rto is None:
            fig.failed += 1
        elif rto_target and rto / rto_target > worst_rto:
            worst_rto = rto / rto_target
            fig.rto_seconds, fig.rto_target_seconds, fig.rto_disruption = rto, rto_target, m.disruption
        # An RPO another path answers for (a daily snapshot beside PITR) is not the service's worst.
        if m.rpo_judged and rpo is not None and rpo_target and rpo / rpo_target > worst_rpo:
            worst_rpo = rpo / rpo_target
            fig.rpo_seconds, fig.rpo_target_seconds, fig.rpo_disruption = rpo, rpo_target, m.disruption
    if fig.rto_target_seconds is None and measurements:
        fig.rto_target_seconds = measurements[0].rto_target_seconds
    if fig.rpo_target_seconds is None and measurements:
        fig.rpo_target_seconds = measurements[0].rpo_target_seconds
    return fig


def summarize_tickets(tickets: list[TicketRecord], sla: dict[int | None, timedelta], as_of: datetime) -> TicketSummary:
    summary = TicketSummary()
    for t in tickets:
        if not is_open(t, as_of):
            continue
        summary.open += 1
        if t.opened_at + sla.get(t.tier, sla[None]) < as_of:
            summary.past_sla += 1
        if summary.oldest_opened is None or t.opened_at < summary.oldest_opened:
            summary.oldest_opened, summary.oldest_key = t.opened_at, t.key
    if summary.oldest_opened is not None:
        summary.oldest_age_days = (as_of - summary.oldest_opened).days
    return summary


def is_open(t: TicketRecord, as_of: datetime) -> bool:
    """Open at a point in time (reopened tickets count from their first opening)."""
    if t.opened_at > as_of:
        return False
    return t.status == "open" or (t.closed_at is not None and t.closed_at > as_of)


def is_failure(control: Control) -> bool:
    """A result that shows recovery would not work, as opposed to gaps to fix or nothing assessed.
    Restore tests: `gaps` means a restore failed or missed its targets. Reviews: an invalid runbook.
    Simulations: anything but pass, gaps (action items only) or not assessed."""
    result = control.result or ""
    if control.name == "restore":
        return result not in ("pass", "not_assessed")
    if control.name == "review":
        return result == "invalid"
    # A simulation that filed simulation.unrecoverable for the service is recorded here as "unrecoverable"
    # (see _apply), whatever status the run gave the service.
    return result not in ("pass", "gaps", "not_assessed", "skipped")


FAILURE_CONDITIONS = {
    "restore": ("restore_failed", "last restore test failed or missed a target"),
    "simulation": ("simulation_unrecoverable", "unrecoverable in the last DR simulation"),
    "review": ("runbook_invalid", "runbook invalid"),
}


LATE_WEIGHT = {"restore": 3, "simulation": 2}  # risk of a control never run or past due, by control


def judge_row(row: ServiceRow) -> None:
    """Overall status (the rule in tasks/rules/status.py), the reasons for it, and a risk score that ranks
    rows for the top risks."""
    found: list[tuple[str, str]] = []  # (condition, reason)
    risk = 0.0

    def add(condition: str, reason: str, weight: float) -> None:
        nonlocal risk
        found.append((condition, reason))
        risk += weight

    if not row.info.valid:
        add("runbook_invalid", "runbook invalid", 4)
    for control in (row.review, row.restore, row.simulation):
        label = CONTROL_LABELS[control.name]
        late = LATE_WEIGHT.get(control.name, 2)
        if control.last is None:
            add("control_overdue", f"{label} never run", late)
            continue
        if control.overdue:
            add("control_overdue", f"{label} overdue since {control.due:%Y-%m-%d}", late)
        if control.passed:
            continue
        if is_failure(control):
            add(*FAILURE_CONDITIONS[control.name], 5)
        else:
            add("control_gaps", f"last {label}: {(control.result or 'unknown').replace('_', ' ')}", 1)
    if row.tickets.past_sla:
        add("ticket_past_sla", f"{row.tickets.past_sla} ticket(s) past SLA", min(3, row.tickets.past_sla))
    elif row.tickets.open:
        add("tickets_open", f"{row.tickets.open} open ticket(s)", 0.5)
    row.status = status_of({condition for condition, _ in found})
    row.reasons = list(dict.fromkeys(reason for _, reason in found))
    row.why = list(dict.fromkeys(reason for condition, reason in found if CONDITIONS[condition] == row.status))
    row.risk = risk * (TIER_WEIGHT.get(row.tier, 3.0) if row.tier is not None else 3.0)


def build_rows(
    services: list[ServiceInfo],
    state: dict[str, dict[str, Entry]],
    tickets_by_service: dict[str, list[TicketRecord]],
    table: dict[int | None, Cadence],
    as_of: datetime,
) -> list[ServiceRow]:
    sla = {tier: c.ticket_sla for tier, c in table.items()}
    figures_cache: dict[tuple[str, str], RestoreFigures] = {}
    by_run: dict[str, dict[str, list[MeasurementSummary]]] = {}
    audited: dict[str, dict[str, dict[str, Any]]] = {}  # audit run id -> service -> its status entry
    rows = []
    for info in services:
        cadence = table.get(info.tier, table[None])
        entries = {name: state[name].get(info.service) for name in CONTROLS}
        restore_entry = entries["restore"]
        figures = RestoreFigures()
        if restore_entry is not None:
            run = restore_entry[2]
            if run.run_id not in by_run:
                grouped: dict[str, list[MeasurementSummary]] = defaultdict(list)
                for m in run.measurements:
                    grouped[m.service].append(m)
                by_run[run.run_id] = grouped
            key = (run.run_id, info.service)
            if key not in figures_cache:
                figures_cache[key] = restore_figures(by_run[run.run_id].get(info.service, []))
            figures = figures_cache[key]
        row = ServiceRow(
            info=info,
            review=control_from("review", entries["review"], cadence.review, as_of),
            restore=control_from("restore", restore_entry, cadence.restore, as_of),
            simulation=control_from("simulation", entries["simulation"], cadence.simulation, as_of),
            figures=figures,
            tickets=summarize_tickets(tickets_by_service.get(info.service, []), sla, as_of),
        )
        audit_entry = state["audit"].get(info.service)
        if audit_entry is not None:
            at, status, run = audit_entry
            if run.run_id not in audited:
                audited[run.run_id] = {s["service"]: s for s in run.services}
            entry = audited[run.run_id][info.service]
            row.audit = Control(
                "audit",
                last=at,
                result=status,
                overdue=False,
                link=run.evidence_dir,
                checks=entry.get("checks"),
                failing=int(entry.get("findings") or 0),
            )
        judge_row(row)
        rows.append(row)
    order: dict[str, int] = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows.sort(key=lambda r: (r.tier if r.tier is not None else 9, order[r.status], r.service))
    return rows


# --- history sweep --------------------------------------------------------------------------------


def _control_runs(history: dict[str, list[RunSummary]]) -> list[tuple[datetime, str, RunSummary]]:
    events = [
        (run.started_at, control, run)
        for control, flow in SWEPT_FLOWS.items()
        for run in history.get(flow, [])
        if run.completed
    ]
    events.sort(key=lambda e: e[0])
    return events


def _apply(state: dict[str, dict[str, Entry]], control: str, run: RunSummary) -> None:
    target, at = state[control], run.started_at
    # The simulation records an unrecoverable service as "gaps"; its finding says what it is.
    unrecoverable = (
        {f.get("service") for f in run.findings if f.get("check") == UNRECOVERABLE}
        if control == "simulation"
        else set()
    )
    for s in run.services:
        status = "unrecoverable" if s["service"] in unrecoverable else s.get("status", "unknown")
        target[s["service"]] = (at, status, run)


def sweep_states(
    history: dict[str, list[RunSummary]], checkpoints: list[datetime]
) -> list[dict[str, dict[str, Entry]]]:
    """Each control's (and the audit's) latest entry per service as of each checkpoint (ascending), in one pass."""
    events = _control_runs(history)
    state: dict[str, dict[str, Entry]] = {name: {} for name in SWEPT_FLOWS}
    snapshots, i = [], 0
    for checkpoint in checkpoints:
        while i < len(events) and events[i][0] <= checkpoint:
            _apply(state, events[i][1], events[i][2])
            i += 1
        snapshots.append({name: dict(entries) for name, entries in state.items()})
    return snapshots


def compliance(
    services: list[ServiceInfo], state: dict[str, dict[str, Entry]], table: dict[int | None, Cadence], as_of: datetime
) -> tuple[int, int]:
    """(compliant, total) over Tier 0/1 services at a point in time."""
    compliant = total = 0
    latest = [state[name] for name in CONTROLS]  # looked up once, not per service (8 quarters x 10,000)
    for info in services:
        if info.tier not in CRITICAL_TIERS:
            continue
        total += 1
        if not info.valid:
            continue
        cadence = table.get(info.tier, table[None])
        for entries, every in zip(latest, (cadence.every(name) for name in CONTROLS)):
            entry = entries.get(info.service)
            if entry is None or entry[1] != "pass" or entry[0] + every < as_of:
                break
        else:
            compliant += 1
    return compliant, total


# --- fleet coverage -------------------------------------------------------------------------------


@dataclass(slots=True)
class FleetCoverage:
    service: str
    tier: int | None
    fleet: str  # the runbook's fleet label (kind, regions, tag selector)
    members: int | None  # None: no restore test has inventoried this fleet yet
    tested: int = 0
    passed: int = 0
    inventoried_at: datetime | None = None

    @property
    def share(self) -> float | None:
        return self.tested / self.members if self.members else None


def fleet_coverage(
    services: list[ServiceInfo], restore_runs: list[RunSummary], window_start: datetime, as_of: datetime
) -> list[FleetCoverage]:
    """Per fleet: how many of its current members were restore-tested since window_start."""
    wanted = {key: info for info in services for key in info.fleets}
    if not wanted:
        return []
    membership: dict[str, tuple[datetime, list[str]]] = {}
    latest: dict[str, bool] = {}  # member -> passed, from its newest test in the window
    for run in sorted(restore_runs, key=lambda r: r.started_at, reverse=True):
        if run.started_at > as_of:
            continue
        for key, members in run.fleets.items():
            if key in wanted and key not in membership:
                membership[key] = (run.started_at, members)
        if run.started_at < window_start:
            continue
        verdicts: dict[str, bool] = {}
        for m in run.measurements:
            if m.status in NOT_TESTED:
                continue
            verdicts[m.resource] = verdicts.get(m.resource, True) and bool(m.passed)
        for resource, passed in verdicts.items():
            latest.setdefault(resource, passed)
    rows = []
    for key, info in wanted.items():
        label = key.split("|", 1)[1]
        if key not in membership:
            rows.append(FleetCoverage(info.service, info.tier, label, None))
            continue
        at, members = membership[key]
        tested = [m for m in members if m in latest]
        rows.append(
            FleetCoverage(
                info.service, info.tier, label, len(members), len(tested), sum(1 for m in tested if latest[m]), at
            )
        )
    rows.sort(key=lambda f: (f.tier if f.tier is not None else 9, f.share if f.share is not None else -1, f.service))
    return rows


# --- trends ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class QuarterStats:
    quarter: Quarter
    as_of: datetime
    partial: bool
    compliant: int = 0
    services: int = 0
    reviews: int = 0
    reviews_passed: int = 0
    restores: int = 0
    restores_passed: int = 0
    rto_median: float | None = None  # achieved / target
    rpo_median: float | None = None
    simulations: int = 0
    unrecoverable: int = 0
    action_items: int = 0
    tickets_opened: int = 0
    tickets_closed: int = 0
    open_at_end: int = 0
    past_sla_at_end: int = 0
    has_data: bool = True  # False: the quarter ended before the first evidence (no data, not zero)
    review_runs: list[RunSummary] = field(default_factory=list)  # the runs each figure counts
    restore_runs: list[RunSummary] = field(default_factory=list)
    simulation_runs: list[RunSummary] = field(default_factory=list)

    @property
    def compliance(self) -> float | None:
        return self.compliant / self.services if self.services and self.has_data else None

    @property
    def review_pass_rate(self) -> float | None:
        return self.reviews_passed / self.reviews if self.reviews else None

    @property
    def restore_pass_rate(self) -> float | None:
        return self.restores_passed / self.restores if self.restores else None


def quarter_stats(
    quarters: list[Quarter],
    snapshots: list[dict[str, Any]],
    services: list[ServiceInfo],
    history: dict[str, list[RunSummary]],
    tickets: list[TicketRecord],
    table: dict[int | None, Cadence],
    now: datetime,
) -> list[QuarterStats]:
    stats = {q: QuarterStats(q, min(q.end, now), q.end > now) for q in quarters}
    ratios: dict[Quarter, tuple[list[float], list[float]]] = {q: ([], []) for q in quarters}
    first, last_end = quarters[0].start, quarters[-1].end
    started = [run.started_at for runs in history.values() for run in runs if run.completed]
    started += [t.opened_at for t in tickets]
    first_evidence = min(started, default=None)
    for st in stats.values():
        st.has_data = first_evidence is not None and first_evidence <= st.as_of
    for flow, runs in history.items():
        for run in runs:
            if not run.completed or not (first <= run.started_at < last_end) or run.started_at > now:
                continue
            st = stats[Quarter.of(run.started_at)]
            if flow == REVIEW_FLOW:
                st.review_runs.append(run)
                st.reviews += len(run.services)
                st.reviews_passed += sum(1 for s in run.services if s.get("status") == "pass")
            elif flow == RESTORE_FLOW:
                st.restore_runs.append(run)
                rto, rpo = ratios[st.quarter]
                for m in run.measurements:
                    # A restore with nothing to restore from failed: it counts against the pass rate.
                    st.restores += 1
                    st.restores_passed += bool(m.passed)
                    if m.status in NOT_TESTED:
                        continue
                    if m.rto_seconds is not None and m.rto_target_seconds:
                        rto.append(m.rto_seconds / m.rto_target_seconds)
                    if m.rpo_seconds is not None and m.rpo_target_seconds and m.rpo_judged:
                        rpo.append(m.rpo_seconds / m.rpo_target_seconds)
            elif flow == SIMULATION_FLOW:
                st.simulation_runs.append(run)
                st.simulations += 1
                st.unrecoverable += sum(1 for f in run.findings if f.get("check") == UNRECOVERABLE)
                st.action_items += sum(1 for f in run.findings if f.get("check") == ACTION_ITEM)
    for q, (rto, rpo) in ratios.items():
        stats[q].rto_median = statistics.median(rto) if rto else None
        stats[q].rpo_median = statistics.median(rpo) if rpo else None
    sla = {tier: c.ticket_sla for tier, c in table.items()}
    by_month = {(q.year, 3 * q.q - 2 + m): stats[q] for q in quarters for m in range(3)}  # not a Quarter per ticket
    for t in tickets:
        if first <= t.opened_at < last_end and t.opened_at <= now:
            by_month[t.opened_at.year, t.opened_at.month].tickets_opened += 1
        if t.status == "closed" and t.closed_at is not None and first <= t.closed_at < last_end and t.closed_at <= now:
            by_month[t.closed_at.year, t.closed_at.month].tickets_closed += 1
    # Per ticket once: (opened, open until, past SLA from); open until is far future while it is open.
    # The same test as is_open, without a call per ticket per quarter (16,000 tickets x 8 quarters).
    never = datetime.max.replace(tzinfo=timezone.utc)
    spans = [
        (
            t.opened_at,
            never if t.status == "open" else (t.closed_at or t.opened_at),
            t.opened_at + sla.get(t.tier, sla[None]),
        )
        for t in tickets
    ]
    for q, snapshot in zip(quarters, snapshots):
        st = stats[q]
        st.compliant, st.services = compliance(services, snapshot, table, st.as_of)
        as_of = st.as_of
        for opened, until, due in spans:
            if opened <= as_of < until:
                st.open_at_end += 1
                st.past_sla_at_end += due < as_of
    return [stats[q] for q in quarters]


# --- the dashboard and the pack -------------------------------------------------------------------


@dataclass(slots=True)
class TicketSplit:
    """Every open ticket counted once: on services in view, on the programme itself, on services the
    catalog no longer lists."""

    services: int = 0
    program: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.services + self.program + self.other


@dataclass
class Dashboard:
    generated_at: datetime
    rows: list[ServiceRow]
    coverage: list[FleetCoverage]
    trends: list[QuarterStats]
    window_start: datetime
    counts: dict[str, int]
    risks: list[ServiceRow] = field(default_factory=list)
    open_tickets: list[TicketRecord] = field(default_factory=list)  # most severe first, then oldest
    ticket_rows: list[tuple[str, TicketSummary]] = field(default_factory=list)  # program / not in the catalog
    legend: list[tuple[Status, str]] = field(default_factory=legend)

    @property
    def first_quarter(self) -> bool:
        """Fewer than two quarters with evidence: there is no trend to draw."""
        return sum(1 for t in self.trends if t.has_data) < 2


@dataclass(slots=True)
class SimulationOutcome:
    run: RunSummary
    scenario: str
    services: int
    passed: int
    unrecoverable: list[dict[str, Any]]
    action_items: list[dict[str, Any]]


@dataclass(slots=True)
class RestoreTally:
    total: int = 0
    passed: int = 0

    @property
    def failed(self) -> int:
        return self.total - self.passed


@dataclass(slots=True)
class TierPosture:
    """The backup posture audit over one tier, from each service's newest audit up to the pack's date."""

    tier: int | None
    services: int = 0
    audited: int = 0
    clean: int = 0  # audited without gaps
    checks: int = 0
    failing: int = 0
    by_check: list[tuple[str, int]] = field(default_factory=list)  # failing check -> resources, worst first
    last: datetime | None = None
    last_link: str | None = None


@dataclass
class Pack:
    quarter: Quarter
    as_of: datetime
    partial: bool
    generated_at: datetime
    rows: list[ServiceRow]  # every service as of the quarter's end
    compliant: int
    critical: int
    previous_compliance: float | None
    overdue: list[tuple[ServiceRow, str, datetime | None]]  # (row, control label, due)
    past_sla: list[TicketRecord]
    risks: list[ServiceRow]
    trends: list[QuarterStats]
    simulations: list[SimulationOutcome]
    opened: list[TicketRecord]
    closed: list[TicketRecord]
    open_tickets: list[TicketRecord] = field(default_factory=list)
    ticket_split: TicketSplit = field(default_factory=TicketSplit)
    restores: RestoreTally = field(default_factory=RestoreTally)
    posture: list[TierPosture] = field(default_factory=list)
    legend: list[tuple[Status, str]] = field(default_factory=legend)

    @property
    def compliance(self) -> float | None:
        return self.compliant / self.critical if self.critical else None

    @property
    def first_quarter(self) -> bool:
        return sum(1 for t in self.trends if t.has_data) < 2

    @property
    def change_points(self) -> int | None:
        return change_in_points(self.compliance, self.previous_compliance)


def change_in_points(now: float | None, before: float | None) -> int | None:
    """The change between two shares as the difference of the whole percentages the page shows for them
    (67% after 66%: +1), so the two figures and the change agree; never -0."""
    if now is None or before is None:
        return None
    return int(f"{now * 100:.0f}") - int(f"{before * 100:.0f}")


def _by_service(tickets: list[TicketRecord]) -> dict[str, list[TicketRecord]]:
    grouped: dict[str, list[TicketRecord]] = defaultdict(list)
    for t in tickets:
        grouped[t.service].append(t)
    return grouped


def _status_counts(rows: list[ServiceRow], split: TicketSplit, past_sla: int) -> dict[str, int]:
    counts: dict[str, int] = {status: 0 for status in STATUS_ORDER}
    for row in rows:
        counts[row.status] += 1
    counts["services"] = len(rows)
    counts["critical"] = sum(1 for r in rows if r.tier in CRITICAL_TIERS)
    counts["critical_compliant"] = sum(1 for r in rows if r.tier in CRITICAL_TIERS and r.info.valid and r.compliant)
    counts["overdue_controls"] = sum(1 for r in rows for c in (r.review, r.restore, r.simulation) if c.overdue)
    counts["open_tickets"] = split.total
    counts["open_service_tickets"] = split.services
    counts["program_tickets"] = split.program
    counts["other_tickets"] = split.other
    counts["past_sla"] = past_sla
    return counts


def split_tickets(
    tickets: list[TicketRecord], in_view: set[str], catalog: set[str]
) -> tuple[list[TicketRecord], list[TicketRecord], list[TicketRecord]]:
    """(on services in view, on the programme, on services no longer in the catalog). Tickets of catalog
    services outside a tier filter are in none of them."""
    mine, program, other = [], [], []
    for t in tickets:
        if t.service in in_view:
            mine.append(t)
        elif t.service == PROGRAM:
            program.append(t)
        elif t.service not in catalog:
            other.append(t)
    return mine, program, other


def top_risks(rows: list[ServiceRow], top: int) -> list[ServiceRow]:
    return sorted((r for r in rows if r.risk > 0), key=lambda r: (-r.risk, r.service))[:top]


def _open_split(tickets: list[TicketRecord], in_view: set[str], as_of: datetime) -> TicketSplit:
    split = TicketSplit()
    for t in tickets:
        if is_open(t, as_of):
            if t.service in in_view:
                split.services += 1
            elif t.service == PROGRAM:
                split.program += 1
            else:
                split.other += 1
    return split


def _past_sla(tickets: list[TicketRecord], sla: dict[int | None, timedelta], as_of: datetime) -> list[TicketRecord]:
    return [t for t in tickets if is_open(t, as_of) and t.opened_at + sla.get(t.tier, sla[None]) < as_of]


def build(
    services: list[ServiceInfo],
    history: dict[str, list[RunSummary]],
    tickets: list[TicketRecord],
    policy: Policy,
    now: datetime,
    quarter: Quarter | None = None,
    quarters: int = 8,
    tiers: list[int] | None = None,
    top: int = 10,
) -> tuple[Dashboard, Pack]:
    """The dashboard (as of now) and the quarterly pack (as of the quarter's end), from one pass over
    the history: both share the sweep, and the rows and trends when the pack's quarter is the current one."""
    catalog = {s.service for s in services}
    if tiers is not None:
        services = [s for s in services if s.tier in tiers]
    table = cadences(policy)
    sla = {tier: c.ticket_sla for tier, c in table.items()}
    current = Quarter.of(now)
    quarter = quarter or current
    dash_span, pack_span = current.back(quarters), quarter.back(quarters)
    every_quarter = sorted(set(dash_span) | set(pack_span))
    # Checkpoints never pass now: a quarter in progress (or ahead) is judged as of now.
    checkpoints = [min(q.end - timedelta(microseconds=1), now) for q in every_quarter]
    snapshots = dict(zip(every_quarter, sweep_states(history, checkpoints)))
    service_ids = {s.service for s in services}
    relevant, program, other = split_tickets(tickets, service_ids, catalog)
    # A tier filter narrows the view to those services; otherwise every ticket in the tracker counts.
    counted = relevant if tiers is not None else relevant + program + other
    by_service = _by_service(relevant)

    rows = build_rows(services, snapshots[current], by_service, table, now)
    trends = quarter_stats(dash_span, [snapshots[q] for q in dash_span], services, history, counted, table, now)
    window_start = now - timedelta(days=91.3125 * policy.restore.rotation_quarters)
    split = _open_split(counted, service_ids, now)
    ticket_rows = (
        []
        if tiers is not None
        else [
            (label, summarize_tickets(group, sla, now))
            for label, group in (("DR program", program), ("not in the catalog", other))
            if group or label == "DR program"
        ]
    )
    dashboard = Dashboard(
        generated_at=now,
        rows=rows,
        trends=trends,
        window_start=window_start,
        coverage=fleet_coverage(services, history.get(RESTORE_FLOW, []), window_start, now),
        counts=_status_counts(rows, split, len(_past_sla(counted, sla, now))),
        risks=top_risks(rows, top),
        open_tickets=tickets_by_severity([t for t in counted if is_open(t, now)]),
        ticket_rows=ticket_rows,
    )

    as_of = min(quarter.end - timedelta(microseconds=1), now)
    pack_rows = rows if as_of == now else build_rows(services, snapshots[quarter], by_service, table, as_of)
    pack_trends = (
        trends
        if pack_span == dash_span
        else quarter_stats(pack_span, [snapshots[q] for q in pack_span], services, history, counted, table, now)
    )
    return dashboard, _pack(
        quarter, as_of, now, pack_rows, pack_trends, services, history, counted, table, top, filtered=tiers is not None
    )


def build_pack(
    services: list[ServiceInfo],
    history: dict[str, list[RunSummary]],
    tickets: list[TicketRecord],
    policy: Policy,
    now: datetime,
    quarter: Quarter,
    quarters: int = 8,
    top: int = 10,
    tiers: list[int] | None = None,
) -> Pack:
    """The steering committee's quarterly pack, judged as of the quarter's end (or now, if it has not ended)."""
    return build(services, history, tickets, policy, now, quarter=quarter, quarters=quarters, tiers=tiers, top=top)[1]


def tier_posture(rows: list[ServiceRow], audits: list[RunSummary]) -> list[TierPosture]:
    """Per tier: services audited, without gaps, checks passing, and which checks fail on how many
    resources, from each service's newest audit (the run its row shows)."""
    runs = {run.evidence_dir: run for run in audits}
    tiers: dict[int | None, TierPosture] = {}
    failing: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    findings_by_run: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        t = tiers.setdefault(row.tier, TierPosture(row.tier))
        t.services += 1
        a = row.audit
        if a.last is None:
            continue
        t.audited += 1
        t.clean += a.result == "pass"
        t.checks += a.checks or 0
        t.failing += a.failing
        if t.last is None or a.last > t.last:
            t.last, t.last_link = a.last, a.link
        if a.link is not None and a.link in runs:
            if a.link not in findings_by_run:
                grouped_findings: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for f in runs[a.link].findings:
                    grouped_findings[str(f.get("service"))].append(f)
                findings_by_run[a.link] = grouped_findings
            for f in findings_by_run[a.link].get(row.service, []):
                failing[row.tier][str(f.get("check"))] += 1
    for tier, checks in failing.items():
        tiers[tier].by_check = sorted(checks.items(), key=lambda c: (-c[1], c[0]))
    return sorted(tiers.values(), key=lambda t: t.tier if t.tier is not None else 9)


def _pack(
    quarter: Quarter,
    as_of: datetime,
    now: datetime,
    rows: list[ServiceRow],
    trends: list[QuarterStats],
    services: list[ServiceInfo],
    history: dict[str, list[RunSummary]],
    tickets: list[TicketRecord],
    table: dict[int | None, Cadence],
    top: int,
    filtered: bool,
) -> Pack:
    critical = [r for r in rows if r.tier in CRITICAL_TIERS]
    this = next((t for t in trends if t.quarter == quarter), None)
    earlier = [t for t in trends if t.quarter < quarter]
    # Only a previous quarter with evidence is something to compare with (no data is not 0%).
    previous = earlier[-1].compliance if earlier and earlier[-1].has_data else None
    overdue = [
        (r, CONTROL_LABELS[c.name], c.due) for r in critical for c in (r.review, r.restore, r.simulation) if c.overdue
    ]
    sla = {tier: c.ticket_sla for tier, c in table.items()}
    past_sla = tickets_by_severity(_past_sla(tickets, sla, as_of))
    service_ids = {s.service for s in services}
    simulations = []
    for run in history.get(SIMULATION_FLOW, []):
        if quarter.start <= run.started_at < quarter.end and run.started_at <= now:
            in_scope = [s for s in run.services if s["service"] in service_ids] if filtered else run.services
            findings = [f for f in run.findings if f.get("service") in service_ids] if filtered else run.findings
            simulations.append(
                SimulationOutcome(
                    run=run,
                    scenario=str(run.parameters.get("scenario") or "unnamed"),
                    services=len(in_scope),
                    passed=sum(1 for s in in_scope if s.get("status") == "pass"),
                    unrecoverable=[f for f in findings if f.get("check") == UNRECOVERABLE],
                    action_items=[f for f in findings if f.get("check") == ACTION_ITEM],
                )
            )
    start, end = quarter.start, quarter.end  # computed once, not per ticket
    opened = tickets_by_severity([t for t in tickets if start <= t.opened_at < end])
    closed = tickets_by_severity(
        [t for t in tickets if t.status == "closed" and t.closed_at is not None and start <= t.closed_at < end]
    )
    open_now = tickets_by_severity([t for t in tickets if is_open(t, as_of)])
    compliant = sum(1 for r in critical if r.info.valid and r.compliant)
    posture = tier_posture(rows, history.get(AUDIT_FLOW, []))
    return Pack(
        quarter=quarter,
        as_of=as_of,
        partial=quarter.end > now,
        generated_at=now,
        rows=rows,
        compliant=compliant,
        critical=len(critical),
        previous_compliance=previous,
        overdue=overdue,
        past_sla=past_sla,
        risks=top_risks(rows, top),
        trends=trends,
        simulations=simulations,
        opened=opened,
        closed=closed,
        open_tickets=open_now,
        ticket_split=_open_split(tickets, service_ids, as_of),
        restores=RestoreTally(this.restores, this.restores_passed) if this else RestoreTally(),
        posture=[p for p in posture if p.audited or p.services],
        legend=legend(),
    )
