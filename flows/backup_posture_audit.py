"""Daily backup posture audit: read-only checks of every documented resource against the tier policy."""

from __future__ import annotations

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
from flows._scale import (
    PART_SUFFIX,
    child_record,
    in_deployment,
    partitions_of,
    run_children,
    split,
)
from flows._tasks import aws_backup_copies, read_posture, with_aws_backup_copies
from tasks.aws.backup_vaults import describe_vault
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.catalog.load import load_catalog, select_services
from tasks.catalog.runbook import resource_key
from tasks.evidence.inventory import Observation
from tasks.evidence.records import ServiceStatus
from tasks.rules.checks import make_finding
from tasks.rules.posture import AUDIT_CHECK_PREFIXES, audit_observation
from tasks.rules.restore_plan import copy_regions_for
from tasks.rules.vaults import PROGRAM, audit_vault, vault_places, vault_resource
from tasks.rules.vaults import checks_run as vault_checks
from tasks.tracker import Scope

FLOW_NAME = "backup-posture-audit"


@flow(name=FLOW_NAME, log_prints=True)
def backup_posture_audit(
    tiers: Annotated[list[int] | None, Field(description="Tiers to audit (default: all).")] = None,
    services: Annotated[list[str] | None, Field(description="Only these service ids.")] = None,
    runbooks: Annotated[str, Field(description="Runbook directory.")] = "runbooks",
    policy: Annotated[str | None, Field(description="Tier policy file.")] = None,
    evidence: Annotated[str, Field(description="Evidence directory.")] = "evidence",
    tracker: Annotated[str, Field(description="Ticket tracker: ledger or jira.")] = "ledger",
    concurrency: Annotated[int, Field(ge=1, le=64, description="Resource entries read at once.")] = 8,
    dry_run: Annotated[bool, Field(description="List what would be read; call nothing.")] = False,
    fan_out: Annotated[
        bool,
        Field(
            description="Run one child flow run per account/region so several workers "
            "share the work (needs a deployment)."
        ),
    ] = False,
    partition: Annotated[str | None, Field(description="Internal: the account/region a child run covers.")] = None,
) -> dict:
    logger = get_run_logger()
    catalog = load_catalog(runbooks, policy)
    tiers = sorted(set(tiers if tiers is not None else [0, 1, 2, 3]))
    valid, _invalid = select_services(catalog, tiers, services)
    # A child run reads only its partition; otherwise each entry is read whole, its regions concurrently and
    # a fleet's copy region listed once.
    work = [
        (rb, piece, i)
        for rb in valid
        for i, spec in enumerate(rb.resources)
        for piece in (split(spec, partition) if partition else [spec])
    ]
    if dry_run:
        plan = {rb.service: [spec.label() for spec in rb.resources] for rb in valid}
        for service, labels in plan.items():
            logger.info("would audit %s: %s", service, ", ".join(labels) or "no resources")
        return {"dry_run": True, "tiers": tiers, "services": plan}
    parameters = {
        "tiers": tiers,
        "services": services,
        "runbooks": runbooks,
        "policy": policy,
        "evidence": evidence,
        "tracker": tracker,
        "concurrency": concurrency,
    }
    run = start_run(
        FLOW_NAME + PART_SUFFIX if partition else FLOW_NAME, {**parameters, "partition": partition}, evidence
    )
    try:
        deployment = in_deployment() if fan_out else None
        if fan_out and not deployment:
            logger.warning("fan-out needs a deployment (a worker to run the children); auditing in this process")
        flow_run = FlowRun(run, catalog, valid, evidence, tracker, concurrency, logger)
        if deployment:
            return _audit_fanned_out(flow_run, work, deployment, parameters)
        return _audit(flow_run, work, child=bool(partition))
    except BaseException as exc:
        fail_run(run, exc)
        raise


def vault_findings(catalog, valid, clients: AwsClients, at, logger) -> tuple[list, int, set[str]]:
    """The policy's aws_backup vault read in each (account, region) it applies to: findings, checks run, and
    the vaults that could not be read (their tickets are left alone)."""
    section = catalog.policy.aws_backup
    if section is None:
        return [], 0, set()
    findings, ran, skipped = [], 0, set()
    for account, region in vault_places(section, valid):
        resource = vault_resource(account, region, section.vault)
        try:
            vault = describe_vault(clients.client("backup", region, account), section.vault)
        except Exception as exc:  # AccessDenied, an unmapped account...: not assessed, never a pass
            findings.append(
                make_finding(
                    "backup.not_assessed",
                    service=PROGRAM,
                    tier=None,
                    resource=resource,
                    detail=f"AWS Backup vault {section.vault} ({region}) could not be read: {describe_error(exc)}",
                    evidence={"errors": [describe_error(exc)]},
                )
            )
            skipped.add(resource)
            ran += 1
            continue
        findings += audit_vault(section, account, region, vault, at)
        ran += len(vault_checks(section))
    logger.info("AWS Backup vault %s: %d finding(s) in %d region(s)", section.vault, len(findings), ran)
    return findings, ran, skipped


def _audit(flow_run: FlowRun, work: list, child: bool = False) -> dict:
    run, catalog, valid, logger = flow_run.run, flow_run.catalog, flow_run.valid, flow_run.logger
    concurrency, evidence, tracker = flow_run.concurrency, flow_run.evidence, flow_run.tracker
    clients = AwsClients(accounts=dict(catalog.policy.accounts), max_pool_connections=max(10, concurrency * 2))
    check_credentials(run, clients, valid)
    at = now()
    results = map_bounded(
        read_posture,
        work,
        concurrency,
        params=lambda w: {"runbook": w[0], "spec": w[1], "index": w[2], "clients": quote(clients)},
        on_done=lambda done, total: logger.info("read %d/%d resource entries", done, total),
        label="resource entries read",
    )
    findings, skipped, resources = [], set(), 0
    checks: dict[str, int] = {}
    listings, unread = aws_backup_copies(catalog.policy, work, clients, logger)
    for (runbook, spec, index), observation, error in results:
        if error is not None:
            observation = Observation(spec=spec, index=index, errors=[describe_error(error)])
        if listings or unread:
            observation = with_aws_backup_copies(catalog.policy, runbook, spec, observation, listings, unread, at)
            skipped |= {m.key for m in observation.members if m.attrs.get("copy_unreadable")}
        resources += len(observation.members)
        ran: list[str] = []
        service_findings = audit_observation(
            runbook, catalog.policy, observation, at, copy_regions_for(runbook, spec.expect.copy_regions), ran
        )
        checks[runbook.service] = checks.get(runbook.service, 0) + len(ran)
        findings += service_findings
        skipped |= observation.unreadable()
    if not child:
        vaults, vault_checks_run, unread = vault_findings(catalog, valid, clients, at, logger)
        findings += vaults
        skipped |= unread
        checks[PROGRAM] = vault_checks_run
    run.record.services = service_statuses(valid, findings, checks)
    record_findings(run, findings)
    logger.info("%d finding(s) over %d resource(s) in %d service(s)", len(findings), resources, len(valid))
    run.record.details = {"resources": resources, "skipped": sorted(skipped)}
    if child:
        # The parent merges this partition's findings and files the tickets.
        run.record.status, run.record.finished_at = "completed", now()
        run.save()
        return {
            "run_id": run.record.run_id,
            "evidence_dir": run.record.evidence_dir,
            "findings": len(findings),
            "resources": resources,
        }
    return _file_and_report(run, catalog, valid, findings, skipped, resources, evidence, tracker)


def _audit_fanned_out(flow_run: FlowRun, work: list, deployment: object, parameters: dict) -> dict:
    run, catalog, valid, logger = flow_run.run, flow_run.catalog, flow_run.valid, flow_run.logger
    evidence, tracker = flow_run.evidence, flow_run.tracker
    partitions = partitions_of([spec for _, spec, _ in work])
    logger.info("fanning out over %d partition(s): %s", len(partitions), ", ".join(partitions))
    children = run_children(deployment, parameters, partitions)
    findings, skipped, resources = [], set(), 0
    checks: dict[str, int] = {}
    run.record.details = {"children": []}
    for partition, child in zip(partitions, children):
        record = (
            child_record(run.store, FLOW_NAME, str(child.id)) if child.state and child.state.is_completed() else None
        )
        run.record.details["children"].append(
            {"partition": partition, "flow_run_id": str(child.id), "state": child.state.name if child.state else None}
        )
        if record is None:
            logger.error(
                "partition %s did not complete (%s): its resources are not assessed",
                partition,
                child.state.name if child.state else "no state",
            )
            region = partition.split("/")[-1]
            account = partition.split("/")[0] if "/" in partition else None
            for runbook, spec, _index in work:
                if region in spec.all_regions() and account in spec.all_accounts():
                    skipped.add(resource_key(spec.kind.value, region, spec.id or "", account))
                    findings.append(
                        make_finding(
                            "backup.not_assessed",
                            service=runbook.service,
                            tier=runbook.tier,
                            resource=spec.label(),
                            detail=f"partition {partition} failed",
                        )
                    )
                    checks[runbook.service] = checks.get(runbook.service, 0) + 1
            continue
        findings += record.findings
        for status in record.services:
            checks[status.service] = checks.get(status.service, 0) + (status.checks or 0)
        skipped |= set(record.details.get("skipped", []))
        resources += int(record.details.get("resources", 0))
    clients = AwsClients(accounts=dict(catalog.policy.accounts))
    vaults, checks[PROGRAM], unread = vault_findings(catalog, valid, clients, now(), logger)
    findings += vaults
    skipped |= unread
    run.record.services = service_statuses(valid, findings, checks)
    record_findings(run, findings)
    return _file_and_report(run, catalog, valid, findings, skipped, resources, evidence, tracker)


def service_statuses(valid, findings, checks: dict[str, int]) -> list[ServiceStatus]:
    by_service: dict[str, list] = {}
    for f in findings:
        by_service.setdefault(f.service, []).append(f)
    statuses = []
    for rb in valid:
        mine = by_service.get(rb.service, [])
        status = "not_assessed" if any(f.check == "backup.not_assessed" for f in mine) else ("gaps" if mine else "pass")
        statuses.append(
            ServiceStatus(
                service=rb.service, tier=rb.tier, findings=len(mine), status=status, checks=checks.get(rb.service, 0)
            )
        )
    return statuses


def _file_and_report(run, catalog, valid, findings, skipped, resources, evidence, tracker) -> dict:
    vault_scope = {(PROGRAM, "backup.")} if catalog.policy.aws_backup else set()
    scope = Scope(
        assessed=frozenset({(rb.service, prefix) for rb in valid for prefix in AUDIT_CHECK_PREFIXES} | vault_scope),
        skipped_resources=frozenset(skipped),
    )
    file_tickets(run, tracker, evidence, scope, dict(catalog.files), catalog.policy, service_routing(catalog))
    by_check: dict[str, int] = {}
    for finding in findings:
        by_check[finding.check] = by_check.get(finding.check, 0) + 1
    checks = sum(s.checks or 0 for s in run.record.services)
    if catalog.policy.aws_backup:
        checks += len(vault_places(catalog.policy.aws_backup, valid)) * len(vault_checks(catalog.policy.aws_backup))
    tested = (
        f"the backup configuration of {resources} resource(s) in {len(valid)} service(s) against the tier "
        f"policy: {checks} check(s), {checks - len(findings)} passing"
    )
    finish_run(
        run,
        "audit",
        "backup-posture-audit",
        tested=tested,
        resources=resources,
        by_check=sorted(by_check.items(), key=lambda c: (-c[1], c[0])),
    )
    return {
        **finished_run(run),
        "findings": len(findings),
        "resources": resources,
        "by_severity": severity_counts(findings),
        "not_assessed": len(skipped),
        "services": len(valid),
        "tracker": run.record.tracker,
    }
