"""Quarterly backup restore test: restore real backups into isolated copies, measure RTO and RPO."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote
from pydantic import Field

from flows._fanout import Countdown, map_bounded
from flows._run import (
    FlowRun,
    check_credentials,
    fail_run,
    file_tickets,
    finish_run,
    finished_run,
    now,
    record_findings,
    retry_if_transient,
    service_routing,
    severity_counts,
    start_run,
)
from flows._scale import (
    PART_SUFFIX,
    child_record,
    in_deployment,
    partition_key,
    run_children,
)
from flows.plans import invalid_notes, last_tested, plan_targets, restore_plan
from flows.sweeping import known_runs, liveness
from tasks.actions.restore import (
    FLOW,
    RestoreContext,
    failed_measurement,
    load_measurements,
    perform_restore,
    prefetch_sources,
)
from tasks.aws.clients import AwsClients
from tasks.aws.identity import accounts_of, require_some, resolve
from tasks.aws.owned import sweep_regions
from tasks.catalog.load import load_catalog, select_services
from tasks.catalog.runbook import Runbook
from tasks.evidence.records import Measurement, RunRecord, ServiceStatus
from tasks.evidence.runlock import exclusive_run
from tasks.evidence.store import RunEvidence, load_history
from tasks.report import events
from tasks.report.groups import restore_groups, sampling_note
from tasks.rules.quarters import Quarter
from tasks.rules.restore_plan import RestoreTarget, findings_for
from tasks.tracker import Scope

FLOW_NAME = FLOW
# How long the restores beyond the first `concurrency` are held back for those to begin (see _run_targets):
# past it (a task that never started), they are submitted anyway.
FIRST_RESTORES_WAIT_SECONDS = 10.0


@task(
    name="restore",
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
    task_run_name="restore-{target.service}-{target.mode}-{target.region}",
)
def restore_target(target: RestoreTarget, runbook: Runbook, ctx: RestoreContext) -> Measurement:
    ctx = replace(ctx, attempt=task_run.get_run_count() or 1)
    return perform_restore(target, runbook.validation, ctx)


@contextmanager
def restore_slot(slots: threading.Semaphore, limit_name: str | None) -> Iterator[None]:
    """One of this run's `concurrency` restores under way and, if an operator created it, a slot of the
    Prefect global concurrency limit that every run shares (held as long: see tasks/actions/restore.py)."""
    with slots:
        if limit_name:
            from prefect.concurrency.sync import concurrency

            with concurrency(limit_name, occupy=1, strict=False):
                yield
        else:
            yield


def resume_window(catalog, runbooks) -> timedelta:
    """How old a crashed run's measurements may be and still count: the shortest restore-test cadence of
    the tiers selected (a quarter by default)."""
    cadences = [catalog.policy.tiers[rb.tier].restore_test_every for rb in runbooks if rb.tier in catalog.policy.tiers]
    return min(cadences, default=timedelta(days=90))


def unfinished_run(
    store, records: list[RunRecord], signature: dict, current_run_id: str, at: datetime, window: timedelta
) -> RunEvidence | None:
    """The newest earlier run with the same selection that never completed (its process died), if it
    started within the window and in this quarter: older measurements are not this period's evidence."""
    for record in reversed(records):
        if record.run_id == current_run_id:
            continue
        if record.status in ("running", "failed") and record.parameters.get("signature") == signature:
            if at - record.started_at > window or Quarter.of(record.started_at) != Quarter.of(at):
                return None
            return RunEvidence(store, record)
    return None


@flow(name=FLOW_NAME, log_prints=True)
def backup_restore_test(
    tiers: Annotated[list[int] | None, Field(description="Tiers to test (default 0 and 1).")] = None,
    services: Annotated[list[str] | None, Field(description="Only these service ids.")] = None,
    sample: Annotated[
        str | None,
        Field(
            description="Per fleet: a count ('5') or percent ('10%'); default every member. "
            "Rotates so each member is tested within the policy's rotation window."
        ),
    ] = None,
    restore_time: Annotated[
        datetime | None, Field(description="Also restore RDS/DynamoDB to this point in time (UTC).")
    ] = None,
    concurrency: Annotated[
        int, Field(ge=1, le=64, description="Restores under way at once (copies being deleted not counted).")
    ] = 4,
    runbooks: Annotated[str, Field(description="Runbook directory.")] = "runbooks",
    policy: Annotated[str | None, Field(description="Tier policy file.")] = None,
    evidence: Annotated[str, Field(description="Evidence directory.")] = "evidence",
    tracker: Annotated[str, Field(description="Ticket tracker: ledger or jira.")] = "ledger",
    dry_run: Annotated[bool, Field(description="Print the restore plan; create and delete nothing.")] = False,
    wait: Annotated[float, Field(ge=0, description="Seconds to wait for another restore test to finish.")] = 0,
    poll_seconds: Annotated[float | None, Field(ge=0, description="Status poll interval (default: policy).")] = None,
    fan_out: Annotated[
        bool,
        Field(
            description="Run one child flow run per account/region so several workers "
            "share the restores (needs a deployment)."
        ),
    ] = False,
    partition: Annotated[str | None, Field(description="Internal: the account/region a child run covers.")] = None,
) -> dict:
    logger = get_run_logger()
    catalog = load_catalog(runbooks, policy)
    tiers = sorted(set(tiers if tiers is not None else catalog.policy.review_tiers))
    valid, invalid = select_services(catalog, tiers, services)
    for bad in invalid:
        logger.warning("skipping %s: its runbook is invalid (see the documentation review)", bad.service)
    clients = AwsClients(accounts=dict(catalog.policy.accounts), max_pool_connections=max(10, concurrency * 4))
    signature = {
        "tiers": tiers,
        "services": sorted(services or []),
        "sample": sample,
        "restore_time": restore_time.isoformat() if restore_time else None,
    }

    if dry_run:
        require_some(resolve(clients, accounts_of(valid)))
        plan = restore_plan(catalog, tiers, services, sample, restore_time, evidence, clients, logger)
        for item in plan["restores"]:
            logger.info(
                "would restore %(resource)s (%(mode)s) into a copy in %(region)s, class %(instance_class)s", item
            )
        return plan

    parameters = {
        "tiers": tiers,
        "services": services,
        "sample": sample,
        "restore_time": restore_time,
        "concurrency": concurrency,
        "runbooks": runbooks,
        "policy": policy,
        "evidence": evidence,
        "tracker": tracker,
        "poll_seconds": poll_seconds,
    }
    if partition:
        # A child of a fanned-out run: the parent holds the run lock, swept, and will file the tickets.
        run = start_run(
            FLOW_NAME + PART_SUFFIX, {"signature": signature, "partition": partition, "evidence": evidence}, evidence
        )
        try:
            flow_run = FlowRun(run, catalog, valid, evidence, tracker, concurrency, logger, invalid)
            return _restore_partition(flow_run, clients, sample, restore_time, poll_seconds, partition)
        except BaseException as exc:
            fail_run(run, exc)
            raise
    run = start_run(
        FLOW_NAME,
        {
            "signature": signature,
            "concurrency": concurrency,
            "runbooks": runbooks,
            "policy": policy,
            "evidence": evidence,
            "tracker": tracker,
        },
        evidence,
    )
    deployment = in_deployment() if fan_out else None
    if fan_out and not deployment:
        logger.warning("fan-out needs a deployment (a worker to run the children); restoring in this process")
    try:
        with exclusive_run(evidence, FLOW_NAME, run.record.run_id, wait_seconds=wait) as lock:
            flow_run = FlowRun(run, catalog, valid, evidence, tracker, concurrency, logger, invalid)
            return _restore_test(
                flow_run,
                clients,
                sample,
                restore_time,
                signature,
                poll_seconds,
                fan_out=(deployment, parameters) if deployment else None,
                lock=lock,
            )
    except BaseException as exc:
        fail_run(run, exc)
        raise


def _run_targets(todo, ctx, concurrency, catalog, logger) -> list[Measurement]:
    """Each target's restore, `concurrency` under way at once. Twice as many tasks run: a restore gives its
    slot back once its copy's teardown is under way (see tasks/actions/restore.py), and waits for the copy
    to be gone beside the next restores (at most `concurrency` copies being torn down besides the ones
    restoring)."""
    limit_name = _existing_limit(catalog.policy.restore.concurrency_limit_name)
    # The first `concurrency` restores begin at once, unless they may queue behind other runs' restores for
    # a slot of the shared limit: then each reads its recovery point when it begins.
    prefetch_sources([target for target, _ in todo], ctx.clients, starting=0 if limit_name else concurrency)
    # The first `concurrency` restores start alone: the tasks that would only wait for a slot are submitted
    # once those have asked for their copies, so their Prefect start-up does not hold the first ones back.
    first = Countdown(min(concurrency, len(todo)))
    ctx = replace(
        ctx, slot=partial(restore_slot, threading.BoundedSemaphore(concurrency), limit_name), on_under_way=first.tick
    )

    def hold_back(index: int) -> None:
        if index == concurrency:
            first.done.wait(FIRST_RESTORES_WAIT_SECONDS)

    progress = (
        create_progress_artifact(progress=0.0, key="backup-restore-test-progress", description="Restores finished")
        if todo
        else None
    )

    def on_done(finished: int, total: int) -> None:
        logger.info("restores finished: %d/%d", finished, total)
        # Each update is a call to the API: one per 5% of the restores (and the last), not one per restore.
        if progress and (finished == total or finished * 20 // total != (finished - 1) * 20 // total):
            update_progress_artifact(progress, progress=100.0 * finished / total)

    results = map_bounded(
        restore_target,
        todo,
        2 * concurrency,
        params=lambda item: {"target": item[0], "runbook": item[1], "ctx": quote(ctx)},
        on_done=on_done,
        label="restores finished",
        before_submit=hold_back,
    )
    return [result if error is None else failed_measurement(target, error) for (target, _), result, error in results]


def _restore_partition(
    flow_run: FlowRun,
    clients: AwsClients,
    sample: str | None,
    restore_time: datetime | None,
    poll_seconds: float | None,
    partition: str,
) -> dict:
    run, catalog, valid = flow_run.run, flow_run.catalog, flow_run.valid
    concurrency, logger = flow_run.concurrency, flow_run.logger
    check_credentials(run, clients, valid)
    history = last_tested(load_history(run.store, FLOW_NAME))
    planned = [
        (t, rb)
        for t, rb in plan_targets(valid, catalog, clients, sample, history, restore_time, logger)
        if partition_key(t.account, t.region) == partition
    ]
    ctx = RestoreContext(
        run_id=run.record.run_id,
        policy=catalog.policy,
        clients=clients,
        store=run.store,
        run_dir=run.dir,
        restore_time=restore_time,
        poll_seconds=poll_seconds,
    )
    run.record.measurements = _run_targets(planned, ctx, concurrency, catalog, logger)
    run.record.status, run.record.finished_at = "completed", now()
    run.save()
    return {"run_id": run.record.run_id, "restores": len(run.record.measurements)}


def _restore_test(
    flow_run: FlowRun,
    clients: AwsClients,
    sample: str | None,
    restore_time: datetime | None,
    signature: str,
    poll_seconds: float | None,
    fan_out: tuple | None = None,
    lock: str | None = None,
) -> dict:
    run, catalog, valid, logger = flow_run.run, flow_run.catalog, flow_run.valid, flow_run.logger
    concurrency, evidence, tracker = flow_run.concurrency, flow_run.evidence, flow_run.tracker
    store = run.store
    if lock:
        # Recorded so that a later sweep holding this lock can tie our untagged copies (by name) to a dead run.
        run.record.details["lock"] = lock
        run.save()
    check_credentials(run, clients, valid)
    records = load_history(store, FLOW_NAME)  # read once: resume, rotation and the trend all come from it
    previous = (
        unfinished_run(
            store, records, signature, run.record.run_id, run.record.started_at, resume_window(catalog, valid)
        )
        if not evidence.startswith("s3://")
        else None
    )
    history = last_tested(records)
    notes = invalid_notes(flow_run.invalid)
    planned = plan_targets(valid, catalog, clients, sample, history, restore_time, logger, run.record.fleets, notes)
    run.record.details["sample_notes"] = notes
    regions = sorted({(t.account, t.region) for t, _ in planned})
    # We hold the run lock: copies of runs that held this same lock are orphans from a crash; others (another
    # host, evidence store or worker) go only when expired or when Prefect says their run is over.
    kept: list[dict] = []
    swept = sweep_regions(
        clients,
        regions,
        now(),
        current_run_id=run.record.run_id,
        liveness=liveness(frozenset({lock}) if lock else frozenset()),
        kept=kept,
        known_runs=known_runs(records + load_history(store, FLOW_NAME + PART_SUFFIX)),
    )
    for entry in kept:
        logger.warning("kept %s %s in %s: %s", entry["kind"], entry["id"], entry["region"], entry["kept"])
    if swept:
        logger.warning("removed %d copies left by an earlier run: %s", len(swept), ", ".join(c["id"] for c in swept))

    done: dict[tuple[str, str], Measurement] = load_measurements(store, previous.dir) if previous else {}
    if previous:
        logger.info("resuming run %s: %d restore(s) already measured", previous.record.run_id, len(done))
        previous.record.status = "crashed"
        previous.record.errors.append(f"did not finish; resumed by run {run.record.run_id}")
        previous.save()
    measurements: list[Measurement] = []
    todo = []
    for target, runbook in planned:
        earlier = done.get((target.service, target.key))
        if earlier is not None:
            measurements.append(earlier.model_copy(update={"resumed_from": previous.record.run_id}))
        else:
            todo.append((target, runbook))
    logger.info("%d restore(s) planned, %d to run, concurrency %d", len(planned), len(todo), concurrency)

    ctx = RestoreContext(
        run_id=run.record.run_id,
        policy=catalog.policy,
        clients=clients,
        store=store,
        run_dir=run.dir,
        restore_time=restore_time,
        poll_seconds=poll_seconds,
        lock=lock,
    )
    if fan_out:
        deployment, parameters = fan_out
        partitions = sorted({partition_key(t.account, t.region) for t, _ in todo})
        logger.info("fanning %d restore(s) out over %d partition(s)", len(todo), len(partitions))
        fresh: list[Measurement] = []
        for partition, child in zip(partitions, run_children(deployment, parameters, partitions)):
            record = child_record(store, FLOW_NAME, str(child.id))
            if record is None or record.status != "completed":
                fresh += [
                    failed_measurement(t, RuntimeError(f"partition {partition} run {child.id} did not complete"))
                    for t, _ in todo
                    if partition_key(t.account, t.region) == partition
                ]
            else:
                fresh += record.measurements
    else:
        fresh = _run_targets(todo, ctx, concurrency, catalog, logger)
    for measurement in fresh:
        measurements.append(measurement)
        events.restore_measured(measurement, FLOW_NAME, run.record.run_id)
    run.record.measurements = measurements
    findings = [f for m in measurements for f in findings_for(m)]
    by_service: dict[str, list] = {}
    for m in measurements:
        by_service.setdefault(m.service, []).append(m)
    run.record.services = [
        ServiceStatus(
            service=rb.service,
            tier=rb.tier,
            status=_service_status(by_service.get(rb.service, [])),
            findings=sum(1 for f in findings if f.service == rb.service),
        )
        for rb in valid
    ]
    record_findings(run, findings)
    tested = frozenset(m.resource for m in measurements)
    scope = Scope(assessed=frozenset((rb.service, "restore.") for rb in valid), only_resources=tested)
    file_tickets(run, tracker, evidence, scope, dict(catalog.files), catalog.policy, service_routing(catalog))
    services_tested = len({m.service for m in measurements})
    tested = (
        f"{len(measurements)} restore(s) of {len({m.resource for m in measurements})} resource(s) in "
        f"{services_tested} service(s), each into an isolated copy, validated against its RTO and RPO "
        f"targets and deleted"
    )
    finish_run(
        run,
        "restore",
        "backup-restore-test",
        tested=tested,
        rows=_rows(measurements, records),
        swept=swept,
        groups=restore_groups(measurements),
        sampling=sampling_note(sample, run.record.fleets, measurements, catalog.policy.restore.rotation_quarters),
    )
    passed = sum(1 for m in measurements if m.passed)
    logger.info(
        "%d/%d restores met their targets; report: %s", passed, len(measurements), run.record.reports.get("report.html")
    )
    return {
        **finished_run(run),
        "restores": len(measurements),
        "passed": passed,
        "findings": len(run.record.findings),
        "by_severity": severity_counts(run.record.findings),
        "tracker": run.record.tracker,
        "swept": len(swept),
        "notes": notes,
    }


def _service_status(measurements: list[Measurement]) -> str:
    if not measurements:
        return "not_assessed"
    return "pass" if all(m.passed for m in measurements) else "gaps"


def _rows(measurements: list[Measurement], records: list[RunRecord]) -> list[dict]:
    """Each measurement with the same restore's figures from the last completed run, for the trend."""
    previous: dict[tuple, Measurement] = {}
    for record in records:
        if record.status == "completed":
            for m in record.measurements:
                previous[(m.resource, m.mode, m.region)] = m
    rows = []
    for m in sorted(measurements, key=lambda m: (m.tier, m.service, m.resource, m.mode, m.region)):
        before = previous.get((m.resource, m.mode, m.region))
        rows.append(
            {
                "m": m,
                "before": before,
                "rto_change": (m.rto_seconds - before.rto_seconds)
                if before and before.rto_seconds is not None and m.rto_seconds is not None
                else None,
            }
        )
    return rows


def _existing_limit(name: str) -> str | None:
    """Use the global concurrency limit only if an operator created it (prefect gcl create NAME --limit N)."""
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(name)
        return name
    except Exception:
        return None
