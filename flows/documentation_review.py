"""Quarterly documentation review: is each runbook complete, current and accurate?"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote
from pydantic import Field

from flows._fanout import map_bounded
from flows._run import (
    FlowRun,
    check_credentials,
    fail_run,
    file_tickets,
    finish_run,
    finished_run,
    now,
    record_findings,
    service_routing,
    severity_counts,
    start_run,
)
from flows._tasks import aws_read_task
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.aws.observe import observe
from tasks.catalog.load import load_catalog, select_services
from tasks.catalog.runbook import Runbook
from tasks.evidence.inventory import Observation
from tasks.evidence.records import ServiceStatus
from tasks.rules.review import (
    REVIEW_CHECK_PREFIX,
    invalid_runbook_finding,
    review_runbook,
)
from tasks.tracker import Scope

FLOW_NAME = "documentation-review"


@aws_read_task(
    name="inspect-service",
    task_run_name="inspect-{runbook.service}",
)
def inspect_service(runbook: Runbook, clients: AwsClients) -> list[Observation]:
    return [observe(spec, index, clients) for index, spec in enumerate(runbook.resources)]


@flow(name=FLOW_NAME, log_prints=True)
def documentation_review(
    tiers: Annotated[
        list[int] | None,
        Field(description="Service tiers to review (0-3); default: the policy's review tiers (0 and 1)."),
    ] = None,
    services: Annotated[
        list[str] | None, Field(description="Only these service ids; default: every service in the tiers.")
    ] = None,
    runbooks: Annotated[str, Field(description="Directory of runbook YAML files.")] = "runbooks",
    policy: Annotated[str | None, Field(description="Tier policy file; default: <runbooks>/policy.yaml.")] = None,
    evidence: Annotated[str, Field(description="Evidence directory (results.json, reports, ledger).")] = "evidence",
    tracker: Annotated[str, Field(description="Ticket tracker: ledger (local file) or jira.")] = "ledger",
    concurrency: Annotated[int, Field(ge=1, le=64, description="Services inspected at once.")] = 8,
    dry_run: Annotated[
        bool, Field(description="Show what would be checked; read nothing from AWS, write nothing.")
    ] = False,
    today: Annotated[
        date | None, Field(description="Judge review currency as of this date (default: today, UTC).")
    ] = None,
) -> dict:
    logger = get_run_logger()
    catalog = load_catalog(runbooks, policy)
    tiers = sorted(set(tiers if tiers is not None else catalog.policy.review_tiers))
    valid, invalid = select_services(catalog, tiers, services)
    if dry_run:
        plan = {
            "dry_run": True,
            "tiers": tiers,
            "services": {rb.service: [spec.label() for spec in rb.resources] for rb in valid},
            "invalid": {bad.service: [str(p) for p in bad.problems] for bad in invalid},
        }
        for service, labels in plan["services"].items():
            logger.info("would review %s: %d resource(s): %s", service, len(labels), ", ".join(labels) or "none")
        for service in plan["invalid"]:
            logger.info("would report %s as runbook.invalid", service)
        return plan

    parameters = {
        "tiers": tiers,
        "services": services,
        "runbooks": runbooks,
        "policy": policy,
        "evidence": evidence,
        "tracker": tracker,
        "concurrency": concurrency,
    }
    run = start_run(FLOW_NAME, parameters, evidence)
    try:
        flow_run = FlowRun(run, catalog, valid, evidence, tracker, concurrency, logger, invalid)
        return _review(flow_run, tiers, services, today or now().date())
    except BaseException as exc:
        fail_run(run, exc)
        raise


def _review(flow_run: FlowRun, tiers: list[int], services: list[str] | None, today: date) -> dict:
    run, catalog, valid, invalid = flow_run.run, flow_run.catalog, flow_run.valid, flow_run.invalid
    evidence, tracker, concurrency, logger = flow_run.evidence, flow_run.tracker, flow_run.concurrency, flow_run.logger
    clients = AwsClients(accounts=dict(catalog.policy.accounts), max_pool_connections=max(10, concurrency * 2))
    check_credentials(run, clients, valid)
    logger.info("reviewing %d service(s) in tiers %s (%d invalid runbook(s))", len(valid), tiers, len(invalid))
    results = map_bounded(
        inspect_service,
        valid,
        concurrency,
        params=lambda rb: {"runbook": rb, "clients": quote(clients)},
        on_done=lambda done, total: logger.info("inspected %d/%d services", done, total),
        # The summary counts invalid runbooks too (each is a finding); say why they are not in this count.
        label="services inspected" + (f" ({len(invalid)} invalid runbook(s) not inspected)" if invalid else ""),
    )
    findings = [invalid_runbook_finding(bad) for bad in invalid]
    statuses = [ServiceStatus(service=bad.service, tier=bad.tier, status="invalid", findings=1) for bad in invalid]
    assessed = {(bad.service, "runbook.invalid") for bad in invalid}
    skipped: set[str] = set()
    for runbook, observations, error in results:
        if error is not None:
            # The whole service could not be read (e.g. transient errors past every retry).
            observations = [
                Observation(spec=spec, index=i, errors=[describe_error(error)])
                for i, spec in enumerate(runbook.resources)
            ]
        service_findings = review_runbook(runbook, catalog.policy, observations, today)
        for obs in observations:
            skipped |= obs.unreadable()
        findings += service_findings
        assessed.add((runbook.service, REVIEW_CHECK_PREFIX))
        not_assessed = any(not obs.assessed for obs in observations)
        status = "not_assessed" if not_assessed else ("gaps" if service_findings else "pass")
        statuses.append(
            ServiceStatus(service=runbook.service, tier=runbook.tier, status=status, findings=len(service_findings))
        )
    run.record.services = sorted(statuses, key=lambda s: (s.tier if s.tier is not None else 9, s.service))
    record_findings(run, findings)  # evidence is on disk before any tracker call
    logger.info("%d finding(s) across %d service(s)", len(findings), len(statuses))

    scope = Scope(assessed=frozenset(assessed), skipped_resources=frozenset(skipped))
    files = {**catalog.files, **{bad.service: bad.file for bad in invalid}}
    file_tickets(run, tracker, evidence, scope, files, policy=catalog.policy, services=service_routing(catalog))

    rows = []
    for status in run.record.services:
        runbook = catalog.runbooks.get(status.service)
        reviewed = runbook.documentation.last_reviewed if runbook and runbook.documentation else None
        rows.append(
            {
                "service": status.service,
                "name": runbook.name if runbook else "invalid runbook",
                "tier": status.tier,
                "owner": runbook.owner if runbook else None,
                "champion": runbook.dr_champion if runbook else None,
                "last_reviewed": reviewed.isoformat() if reviewed else None,
                "status": status.status,
                "findings": status.findings,
            }
        )
    with_gaps = sum(1 for s in run.record.services if s.status != "pass")
    tested = (
        f"the runbooks of {len(rows)} service(s) in Tier(s) {', '.join(map(str, tiers))}: complete, reviewed "
        f"within the tier's cadence, and matching the live AWS resources they document"
    )
    finish_run(
        run,
        "review",
        "documentation-review",
        tested=tested,
        rows=rows,
        tiers=tiers,
        services_filter=services or [],
        with_gaps=with_gaps,
    )
    logger.info("report: %s", run.record.reports.get("report.html"))
    return {
        **finished_run(run),
        "findings": len(run.record.findings),
        "by_severity": severity_counts(run.record.findings),
        "services": len(statuses),
        "with_gaps": with_gaps,
        "tracker": run.record.tracker,
    }
