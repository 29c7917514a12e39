"""The lifecycle every flow shares: evidence first, then tickets, then reports and artifacts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import _console
from tasks.catalog.policy import Policy
from tasks.catalog.runbook import Runbook
from tasks.catalog.types import Catalog, InvalidRunbook
from tasks.errors import DrError, StateCorrupt
from tasks.evidence.findings import Finding
from tasks.evidence.records import RunRecord, RunStatus, now
from tasks.evidence.store import RunEvidence, open_store
from tasks.report import events
from tasks.report.artifacts import publish_run_artifacts
from tasks.report.render import render
from tasks.rules.digest import digest
from tasks.tracker import RunContext, Scope, ServiceRouting, SyncResult, sync_findings
from tasks.tracker.factory import check_state, check_tracker, open_tracker


@dataclass
class FlowRun:
    """What the steps of one flow run share, passed as one object rather than a dozen positional arguments."""

    run: RunEvidence
    catalog: Catalog
    valid: list[Runbook]
    evidence: str
    tracker: str
    concurrency: int
    logger: Any
    invalid: list[InvalidRunbook] = field(default_factory=list)


def retry_if_transient(task, task_run, state) -> bool:
    """Prefect retry condition: throttling, 5xx and timeouts only; AccessDenied and bugs fail at once."""
    from tasks.aws.errors import is_transient

    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


def current_run() -> tuple[str, str | None]:
    """The Prefect flow run id and, when PREFECT_UI_URL is configured, its UI address."""
    from prefect.runtime import flow_run

    run_id = flow_run.get_id() or str(uuid.uuid4())
    try:
        from prefect.settings import PREFECT_UI_URL

        url = flow_run.get_flow_run_ui_url() if PREFECT_UI_URL.value() else None
    except Exception:
        url = None
    return run_id, url


def start_run(flow: str, parameters: dict, evidence: str, resumable: bool = False) -> RunEvidence:
    """Check the evidence store is writable (before any AWS call) and record the run as started.

    A resumable flow (one that suspends: Prefect reruns it from the top in a new process on resume) picks up
    the record its flow run already started, so every resume writes to the same evidence directory."""
    from flows._runtime import route_tool_logs
    from tasks.redaction import install_log_filter

    route_tool_logs()
    install_log_filter()
    if "tracker" in parameters:
        check_tracker(parameters["tracker"], evidence)  # before the run is recorded or AWS is called
        check_state(parameters["tracker"], evidence)
    store = open_store(evidence)
    store.check_writable()
    run_id, run_url = current_run()
    if resumable:
        earlier = _running_record(store, flow, run_id)
        if earlier is not None:
            _console.phase(f"{flow}: run {run_id[:8]} resumed, evidence in {earlier.record.evidence_dir}")
            return earlier
    record = RunRecord(flow=flow, run_id=run_id, run_url=run_url, started_at=now(), parameters=parameters)
    run = RunEvidence(store, record)
    run.save()
    _console.phase(f"{flow}: run {run_id[:8]}, evidence in {record.evidence_dir}")
    return run


def _running_record(store, flow: str, run_id: str) -> RunEvidence | None:
    """The still-running record of this flow run, if an earlier process of it started one."""
    from tasks.evidence.store import list_dirs

    suffix = "-" + run_id.replace("-", "")[:8]
    for directory in list_dirs(store, flow):
        if not directory.endswith(suffix):
            continue
        raw = store.read_bytes(f"{directory}/results.json")
        record = RunRecord.model_validate_json(raw) if raw else None
        if record is not None and record.run_id == run_id and record.status == "running":
            return RunEvidence(store, record)
    return None


def check_credentials(run: RunEvidence, clients, runbooks) -> None:
    """Each account the run needs, resolved once before any work. None usable: the run fails (exit 2 on the
    command line) with only its failed record as evidence. Some: their resources are not assessed, with why."""
    from tasks.aws.identity import accounts_of, require_some, resolve

    identities = resolve(clients, accounts_of(runbooks))
    refused = {a: i.error for a, i in identities.items() if not i.ok}
    if refused:
        run.record.details["credentials_refused"] = {a or "default": e for a, e in refused.items()}
    require_some(identities)
    logger = get_run_logger()
    for account, error in refused.items():
        logger.error("account %s: %s; its resources are not assessed", account or "(default)", error)
    _console.phase(
        f"{run.record.flow}: AWS credentials: {len(identities) - len(refused)} of {len(identities)} "
        f"account(s) usable" + (f"; not assessed: {', '.join(a or 'default' for a in refused)}" if refused else "")
    )


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts


@task(name="sync-tickets", cache_policy=NO_CACHE)
def sync_tickets(
    tracker_name: str,
    evidence: str,
    findings: list[Finding],
    scope: Scope,
    context: RunContext,
    policy: Policy | None = None,
) -> SyncResult:
    tracker = open_tracker(tracker_name, evidence, policy)
    return sync_findings(tracker, findings, scope, context)


def service_routing(catalog) -> dict[str, ServiceRouting]:
    """Per-service ticket routing and people from the runbooks (`tracker:`, dr_champion, owner)."""
    routing = {}
    for service, runbook in catalog.runbooks.items():
        target = runbook.tracker
        routing[service] = ServiceRouting(
            tier=runbook.tier,
            project=target.project if target else None,
            component=target.component if target else None,
            owner=runbook.owner,
            champion=runbook.dr_champion,
        )
    return routing


def record_findings(run: RunEvidence, findings: list[Finding], final: bool = True) -> None:
    """Findings on disk before anything else can fail. An interim save (final=False) says nothing on the
    console, so a run that saves twice does not print two different counts."""
    run.record.findings = sorted(findings, key=lambda f: (f.service, f.check, f.resource, f.subject))
    run.save()
    if final:
        _console.phase(f"{run.record.flow}: {len(findings)} finding(s) recorded in the evidence")


def file_tickets(
    run: RunEvidence,
    tracker_name: str,
    evidence: str,
    scope: Scope,
    runbook_files: dict[str, str],
    policy: Policy | None = None,
    services: dict[str, ServiceRouting] | None = None,
) -> SyncResult:
    """Tickets after evidence: a tracker failure is recorded, never fatal to the run's results.
    An unreachable Jira leaves its pending work in the outbox (result.deferred) for the next run.
    A ledger or outbox found corrupt here (broken since the start check) stops the run (StateCorrupt, exit 2,
    naming the file): read as empty it would open duplicate tickets and resolve none."""
    logger = get_run_logger()
    record = run.record
    context = RunContext(
        flow=record.flow,
        run_id=record.run_id,
        run_url=record.run_url,
        evidence_dir=record.evidence_dir,
        runbook_files=runbook_files,
        services=services or {},
    )
    try:
        result = sync_tickets(tracker_name, evidence, record.findings, scope, context, policy)
    except StateCorrupt:
        raise  # the findings are already in the evidence; the caller records the run as failed
    except DrError as exc:
        # Nothing was queued (a tracker with an outbox queues its own work and does not raise): the findings
        # are in the evidence and the next run files them by fingerprint.
        logger.error("ticket sync failed, no ticket was filed: %s", exc)
        result = SyncResult(backend=tracker_name, error=str(exc))
    for finding in record.findings:
        finding.ticket = result.tickets.get(finding.fingerprint)
    record.tracker = result.summary()
    run.save()
    _console.phase(
        f"{record.flow}: tickets ({tracker_name}): {len(result.created)} opened, {len(result.kept)} kept, "
        f"{len(result.resolved)} resolved" + (f", {result.deferred} deferred" if result.deferred else "")
    )
    logger.info(
        "tickets: %d opened, %d kept, %d escalated, %d reopened, %d resolved",
        len(result.created),
        len(result.kept),
        len(result.escalated),
        len(result.reopened),
        len(result.resolved),
    )
    if result.deferred:
        logger.warning("tickets: %d operation(s) deferred to the outbox; %s", result.deferred, result.error)
    elif result.error:
        logger.warning("tickets: not filed (%s); the next run files them from its own findings", result.error)
    events.gaps_opened(record.findings, set(result.created) | set(result.reopened), record.flow, record.run_id)
    return result


def finish_run(run: RunEvidence, report: str, artifact_key: str, tested: str, **context: object) -> None:
    """Reports last: they open with a digest (`tested`: one sentence on what the run tested)."""
    record = run.record
    record.finished_at = now()
    record.status = "completed"
    notes = []
    if record.tracker.get("error"):
        notes.append(
            f"Tickets could not all be filed ({record.tracker['error']}); the pending work waits in the "
            "outbox for the next run."
        )
    summary = digest(tested, record.findings, notes)
    html = render(f"{report}.html.j2", record=record, tracker=record.tracker, digest=summary, **context)
    markdown = render(f"{report}.md.j2", record=record, tracker=record.tracker, digest=summary, **context)
    run.write_report("report.html", html)
    run.write_report("report.md", markdown)
    run.save()
    publish_run_artifacts(record, markdown, artifact_key)
    _console.phase(f"{record.flow}: report {record.reports.get('report.html')}")


def finished_run(run: RunEvidence) -> dict:
    """What every finished flow returns first: its run, evidence directory and the two reports' locations."""
    return {
        "run_id": run.record.run_id,
        "evidence_dir": run.record.evidence_dir,
        "report": run.record.reports.get("report.html"),
        "report_md": run.record.reports.get("report.md"),
    }


def fail_run(run: RunEvidence, exc: BaseException, status: RunStatus = "failed") -> None:
    run.record.status = status
    run.record.finished_at = now()
    run.record.errors.append(f"{type(exc).__name__}: {exc}")
    run.save()
