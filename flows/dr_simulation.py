"""Annual DR simulation: a tabletop exercise over a scenario, its impact analysis, and opt-in drills."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal

from prefect import flow, get_run_logger
from prefect.exceptions import Pause, TerminationSignal
from prefect.input import RunInput
from prefect.utilities.annotations import quote
from pydantic import Field

from flows._cancel import termination_deferred
from flows._fanout import map_bounded
from flows._reconcile import reconcile_waiting_tabletops
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
from flows._tasks import aws_backup_copies, read_posture, with_aws_backup_copies
from tasks.actions.drills import DRILL_TAG_VALUE, DrillResult, az_failover, resource_consents
from tasks.actions.fis_drills import run_experiment
from tasks.actions.guardrails import Guardrails
from tasks.actions.region_drills import global_switchover, promote_replica
from tasks.actions.restore import RestoreContext, perform_restore
from tasks.aws.clients import AwsClients
from tasks.catalog.load import load_catalog, select_services
from tasks.catalog.runbook import FisDrill
from tasks.catalog.scenario import ROLES, Scenario
from tasks.catalog.scenarios import load_scenarios
from tasks.catalog.yaml_source import load_yaml
from tasks.errors import ConfigError, DrError
from tasks.evidence.records import ServiceStatus
from tasks.evidence.store import load_history
from tasks.rules.checks import make_finding
from tasks.rules.drills import within_blast_radius
from tasks.rules.impact import (
    analyse,
    latest_measurements,
    struck_regions,
    unrecoverable_findings,
)
from tasks.rules.restore_plan import copy_regions_for, targets_for_member
from tasks.tracker import Scope

FLOW_NAME = "dr-simulation"
DRILLS = {"az-failover": "az_failover", "region-failover": "region_failover"}
OUTCOME_ORDER = {"unrecoverable": 0, "not_assessed": 1, "recoverable": 2, "unaffected": 3}  # the report's impact table


class InjectAnswers(RunInput):
    """What the DR team decided at one inject of the tabletop exercise."""

    answered_by: str = Field(description="Who answered (name or email).")
    decisions: str = Field(default="", description="What was decided, and by whom.")
    observations: str = Field(default="", description="What the team noticed: gaps, surprises, missing steps.")
    estimated_recovery_minutes: int | None = Field(
        default=None, ge=0, description="The team's estimate of time to recover."
    )
    action_items: list[str] = Field(default_factory=list, description="Improvements to track as tickets, one per line.")


class DrillRefused(DrError):
    pass


def check_drill_opt_ins(drill: str | None, allow_disruptive: bool) -> None:
    if drill is None:
        return
    if drill not in DRILLS:
        raise ConfigError(f"unknown drill {drill!r} (choose from: {', '.join(DRILLS)})")
    if not allow_disruptive:
        raise DrillRefused(
            f"refused: the {drill} drill disrupts production; it needs --allow-disruptive "
            f"and `drills: {{{DRILLS[drill]}: true}}` in each runbook it may touch"
        )


def load_answers(path: str | None) -> dict[str, dict]:
    if not path:
        return {}
    # Read like a runbook: regular files only, capped, bad values as file:line errors (never a hang or crash).
    doc, problems = load_yaml(Path(path))
    if problems:
        raise ConfigError("; ".join(str(problem) for problem in problems))
    data = doc.data or {}
    answers = data.get("answers", data) if isinstance(data, dict) else None
    if not isinstance(answers, dict):
        raise ConfigError(f"{path}: expected a mapping of inject id to answers")
    out = {}
    for inject_id, fields in answers.items():
        try:
            out[str(inject_id)] = InjectAnswers.model_validate(fields).model_dump()
        except Exception as exc:
            raise ConfigError(f"{path}: answers for {inject_id!r} are invalid: {exc}") from None
    return out


def ask(inject, scenario, timeout: int, poll_interval: int, logger) -> dict | None:
    """Wait for someone to answer in the Prefect UI (Resume form), or the timeout to pass.

    A deployment's run suspends: its process exits, so no worker is held while the team talks, and Prefect
    reruns the flow from the top on resume, where the same key returns the answers given. A run without a
    deployment (the command line) cannot be rerun by a worker, so it pauses in-process instead."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run, suspend_flow_run
    from prefect.runtime import deployment

    questions = "\n".join(
        f"- **{role.replace('_', ' ')}**: {q}" for role in ROLES for q in getattr(inject.questions, role)
    )
    description = (
        f"### {scenario.name} — T+{int(inject.at.total_seconds() // 60)} min: {inject.title}\n\n"
        f"{inject.description}\n\n{questions}"
    )
    form = InjectAnswers.with_initial_data(description=description)  # answered_by stays required
    key = f"inject-{inject.id}"
    if deployment.id:
        logger.info("suspending for answers to inject %r in the Prefect UI (timeout %ss)", inject.id, timeout)
        # Returns at once with the stored answers when this inject was answered before this rerun.
        return suspend_flow_run(wait_for_input=form, timeout=timeout, key=key).model_dump()
    logger.info("waiting for answers to inject %r in the Prefect UI (timeout %ss)", inject.id, timeout)
    try:
        answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll_interval, key=key)
    except FlowPauseTimeout:
        logger.warning("no answers to inject %r before the timeout", inject.id)
        return None
    return answer.model_dump()


@flow(name=FLOW_NAME, log_prints=True)
def dr_simulation(
    scenario: Annotated[str, Field(description="Scenario id from runbooks/scenarios/ (az-loss, region-loss, ...).")],
    answers: Annotated[
        str | None, Field(description="YAML file of answers per inject id (scheduled runs, tests).")
    ] = None,
    non_interactive: Annotated[bool, Field(description="Record no answers instead of pausing for them.")] = False,
    drill: Annotated[
        Literal["az-failover", "region-failover"] | None, Field(description="Technical drill to run (opt-in).")
    ] = None,
    allow_disruptive: Annotated[
        bool, Field(description="Second opt-in for drills; the runbook must allow the drill too.")
    ] = False,
    zone: Annotated[
        str | None,
        Field(
            description="Zone an az-loss strikes (default: one zone, in the region hosting the most critical services, the zone holding most of their zonal resources)."
        ),
    ] = None,
    region: Annotated[
        str | None,
        Field(
            description="Region the scenario strikes (region-loss default: the scenario's regions, else the one hosting the most critical services; az-loss: the region of its zone)."
        ),
    ] = None,
    tiers: Annotated[list[int] | None, Field(description="Tiers in the exercise (default: all).")] = None,
    services: Annotated[list[str] | None, Field(description="Only these service ids.")] = None,
    runbooks: Annotated[str, Field(description="Runbook directory.")] = "runbooks",
    policy: Annotated[str | None, Field(description="Tier policy file.")] = None,
    evidence: Annotated[str, Field(description="Evidence directory.")] = "evidence",
    tracker: Annotated[str, Field(description="Ticket tracker: ledger or jira.")] = "ledger",
    poll_interval: Annotated[int, Field(ge=1, description="Seconds between checks for answers in the UI.")] = 10,
    answer_timeout: Annotated[int | None, Field(ge=1, description="Seconds to wait for each inject's answers.")] = None,
) -> dict:
    logger = get_run_logger()
    check_drill_opt_ins(drill, allow_disruptive)
    catalog = load_catalog(runbooks, policy)
    library = load_scenarios(runbooks)
    if scenario not in library:
        raise ConfigError(f"unknown scenario {scenario!r} (choose from: {', '.join(sorted(library))})")
    chosen = library[scenario]
    prepared = load_answers(answers)
    unknown = sorted(set(prepared) - {i.id for i in chosen.injects})
    if unknown:
        raise ConfigError(f"{answers}: no inject named {', '.join(unknown)} in scenario {scenario}")
    valid, _ = select_services(catalog, sorted(set(tiers if tiers is not None else [0, 1, 2, 3])), services)
    mode = "answers-file" if answers else ("none" if non_interactive else "interactive")
    run = start_run(
        FLOW_NAME,
        {
            "scenario": scenario,
            "mode": mode,
            "drill": drill,
            "zone": zone,
            "region": region,
            "tiers": tiers,
            "services": services,
            "runbooks": runbooks,
            "evidence": evidence,
            "tracker": tracker,
        },
        evidence,
        resumable=mode == "interactive",
    )
    # Tabletops Prefect ended while they were suspended (their pause timed out) have no process left to say so.
    reconcile_waiting_tabletops(run.store, FLOW_NAME, run.record.run_id, logger=logger)
    # A rerun after a suspension: the injects already recorded keep their entries (and times) as given.
    recorded = {e["inject"]: e for e in run.record.details.get("decision_log") or [] if e.get("answers") is not None}
    try:
        exercise = Exercise(chosen, mode, prepared, drill, zone, region, poll_interval, answer_timeout, recorded)
        return _simulate(FlowRun(run, catalog, valid, evidence, tracker, READ_CONCURRENCY, logger), exercise)
    except Pause:
        run.save()  # suspended, not failed: the resumed run continues this record
        raise
    except BaseException as exc:
        # A worker cancels a run with SIGTERM (Prefect's TerminationSignal): the record says cancelled, not failed.
        cancelled = isinstance(exc, TerminationSignal) and _flow_run_cancelled()
        fail_run(run, exc, "cancelled" if cancelled else "failed")
        raise


READ_CONCURRENCY = 8  # posture reads under way at once


@dataclass(frozen=True)
class Exercise:
    """What one simulation exercises and how its tabletop is answered (from the flow's parameters)."""

    scenario: Scenario
    mode: str  # answers-file, interactive or none
    prepared: dict[str, dict]  # answers per inject id, from an answers file
    drill: str | None
    zone: str | None
    region: str | None
    poll_interval: int
    answer_timeout: int | None
    recorded: dict[str, dict] = field(default_factory=dict)  # injects already answered (a resumed run)


def _simulate(flow_run: FlowRun, exercise: Exercise) -> dict:
    run, catalog, valid, logger = flow_run.run, flow_run.catalog, flow_run.valid, flow_run.logger
    scenario, mode, region = exercise.scenario, exercise.mode, exercise.region
    clients = AwsClients(accounts=dict(catalog.policy.accounts))
    check_credentials(run, clients, valid)
    work = [(rb, spec, i) for rb in valid for i, spec in enumerate(rb.resources)]
    live: dict[str, list] = {rb.service: [] for rb in valid}
    # DynamoDB tables' AWS Backup copies in the DR vault are cross-region copies too (as the audit counts them).
    listings, unread = aws_backup_copies(catalog.policy, work, clients, logger)
    read_at = now()
    for (runbook, spec, index), observation, error in map_bounded(
        read_posture,
        work,
        flow_run.concurrency,
        params=lambda w: {"runbook": w[0], "spec": w[1], "index": w[2], "clients": quote(clients)},
    ):
        if error is None:
            live[runbook.service].append(
                with_aws_backup_copies(catalog.policy, runbook, spec, observation, listings, unread, read_at)
            )
        else:
            from tasks.evidence.inventory import Observation

            live[runbook.service].append(Observation(spec=spec, index=index, errors=[str(error)]))
    history = [r.measurements for r in load_history(run.store, "backup-restore-test") if r.status == "completed"]
    measured = latest_measurements(history)
    rows = analyse(
        scenario,
        catalog.runbooks,
        [rb.service for rb in valid],
        catalog.policy,
        live,
        measured,
        now().date(),
        zone=exercise.zone,
        region=region,
    )
    impact = [
        {
            "service": r.service,
            "tier": r.tier,
            "status": r.status,
            "strike": r.strike,
            "expected_rto": r.expected_rto,
            "expected_rpo": r.expected_rpo,
            "rto_target": r.rto_target_seconds,
            "rpo_target": r.rpo_target_seconds,
            "reasons": r.reasons,
            "paths": [
                {
                    "resource": i.resource,
                    "path": i.path,
                    "rto": i.rto_seconds,
                    "rpo": i.rpo_seconds,
                    "source": i.source,
                    "reason": i.reason,
                }
                for i in r.resources
            ],
        }
        for r in sorted(rows, key=lambda r: (OUTCOME_ORDER.get(r.status, 1), r.tier, r.service))
    ]
    run.record.details = {
        "scenario": scenario.model_dump(mode="json"),
        "impact": impact,
        "decision_log": [],
        "drills": [],
        "mode": mode,
    }
    run.record.services = [
        ServiceStatus(
            service=r.service,
            tier=r.tier,
            status={"unaffected": "pass", "recoverable": "pass"}.get(r.status, r.status)
            if r.status != "unrecoverable"
            else "gaps",
            findings=int(r.status == "unrecoverable"),
        )
        for r in rows
    ]
    findings = unrecoverable_findings(scenario, rows)
    record_findings(run, findings, final=False)  # the analysis is on disk before the tabletop starts
    logger.info(
        "%s: %d service(s) affected, %d cannot meet their targets",
        scenario.id,
        sum(r.affected for r in rows),
        len(findings),
    )

    timeout = exercise.answer_timeout or int(catalog.policy.simulation.answer_timeout.total_seconds())
    for inject in scenario.injects:
        if inject.id in exercise.recorded:
            run.record.details["decision_log"].append(exercise.recorded[inject.id])
            continue
        if mode == "answers-file":
            answer = exercise.prepared.get(inject.id)
        elif mode == "interactive":
            answer = ask(inject, scenario, timeout, exercise.poll_interval, logger)
        else:
            answer = None
        run.record.details["decision_log"].append(
            {
                "inject": inject.id,
                "at_minutes": int(inject.at.total_seconds() // 60),
                "title": inject.title,
                "description": inject.description,
                "questions": inject.questions.model_dump(),
                "answers": answer,
                "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
        )
        run.save()  # every answer is evidence as soon as it is given

    if exercise.drill:
        # A cancellation (SIGTERM from the worker) waits for the drill's step: it stops, rolls back, is recorded,
        # and only then ends the run.
        with termination_deferred(_flow_run_cancelled) as terminated:
            results = _run_drills(exercise.drill, run, catalog, valid, live, clients, logger, terminated)
            run.record.details["drills"] = [d.as_dict() for d in results]
            run.save()
            if not terminated() and _flow_run_cancelled():
                # Cancelled in the API: the worker's SIGTERM is on its way; end the run with it, not after it.
                deadline = time.monotonic() + 60
                while not terminated() and time.monotonic() < deadline:
                    time.sleep(0.5)

    for entry in run.record.details["decision_log"]:
        for item in (entry["answers"] or {}).get("action_items", []):
            if item.strip():
                digest = hashlib.sha256(item.strip().lower().encode()).hexdigest()[:10]
                findings.append(
                    make_finding(
                        "simulation.action_item",
                        service="dr-program",
                        tier=None,
                        resource=f"scenario:{scenario.id}",
                        subject=f"{entry['inject']}:{digest}",
                        title=f"Action: {item.strip()[:120]}",
                        detail=f"From the {scenario.name} exercise, inject '{entry['title']}' "
                        f"(answered by {entry['answers'].get('answered_by') or 'unknown'}): {item.strip()}",
                        evidence={"scenario": scenario.id, "inject": entry["inject"]},
                    )
                )
    for result in run.record.details["drills"]:
        check = result.get("check") or ("drill.failed" if result["status"] in ("failed", "slow") else None)
        if check:
            findings.append(
                make_finding(
                    check,
                    service=result["service"],
                    tier=catalog.runbooks[result["service"]].tier,
                    resource=f"drill:{result['drill']}",
                    subject=result["resource"],
                    title=f"{result['drill']} drill {result['status']}",
                    detail=f"{result['drill']} drill on {result['resource']}: {result['detail']}",
                    evidence=result,
                )
            )
    record_findings(run, findings)
    scope = Scope(
        assessed=frozenset((rb.service, "simulation.unrecoverable") for rb in valid),
        only_resources=frozenset({f"scenario:{scenario.id}"}),
    )
    file_tickets(
        run, flow_run.tracker, flow_run.evidence, scope, dict(catalog.files), catalog.policy, service_routing(catalog)
    )
    summary = steering_summary(scenario, rows, run.record.details)
    run.record.details["steering_summary"] = summary
    strikes = strikes_text(scenario, rows, catalog.runbooks, region)
    tested = (
        f"{len(rows)} service(s) against the {scenario.name.lower()} scenario, striking {strikes}: "
        f"{sum(r.affected for r in rows)} affected, {sum(r.status == 'unrecoverable' for r in rows)} "
        f"cannot recover within target"
    )
    finish_run(
        run,
        "simulation",
        "dr-simulation",
        tested=tested,
        strikes=strikes,
        narrative=scenario.narrative.replace("{regions}", strikes.split(" (")[0]),
        scenario=scenario,
        impact=impact,
        decision_log=run.record.details["decision_log"],
        drills=run.record.details["drills"],
        summary=summary,
        mode=mode,
    )
    return {
        **finished_run(run),
        "scenario": scenario.id,
        "unrecoverable": sorted(r.service for r in rows if r.status == "unrecoverable"),
        "affected": sorted(r.service for r in rows if r.affected),
        "findings": len(run.record.findings),
        "by_severity": severity_counts(run.record.findings),
        "drills": run.record.details["drills"],
        "tracker": run.record.tracker,
    }


def strikes_text(scenario, rows, runbooks, region) -> str:
    """What the scenario struck, as the report names it (and a narrative's {regions} is filled with)."""
    if scenario.blast_radius.kind == "region":
        regions = struck_regions(scenario, runbooks, [r.service for r in rows], region)
        return f"{', '.join(regions) or 'no region'} ({len(regions)} region{'s' if len(regions) != 1 else ''})"
    struck = sorted({r.strike for r in rows if r.affected})
    return "; ".join(struck[:5]) + (f"; and {len(struck) - 5} more" if len(struck) > 5 else "") if struck else "nothing"


def steering_summary(scenario, rows, details) -> str:
    affected = [r for r in rows if r.affected]
    bad = [r for r in rows if r.status == "unrecoverable"]
    actions = sum(len((e["answers"] or {}).get("action_items", [])) for e in details["decision_log"])
    lines = [
        f"{scenario.name}: {len(affected)} of {len(rows)} services affected; "
        f"{len(affected) - len(bad)} would recover within target, {len(bad)} would not."
    ]
    for r in sorted(bad, key=lambda r: (r.tier, r.service))[:5]:
        lines.append(f"- Tier {r.tier} {r.service}: {r.reasons[0] if r.reasons else 'cannot recover'}")
    lines.append(f"{actions} action item(s) agreed in the exercise.")
    drills = details.get("drills") or []
    if drills:
        ok = sum(1 for d in drills if d["status"] == "passed")
        lines.append(f"Drills: {ok} of {len(drills)} met expectations.")
    return "\n".join(lines)


def _flow_run_cancelled() -> bool:
    """Prefect cancellation, read between drill steps (a cancelled run must not start another failover)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    if not flow_run.id:
        return False
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run.id).state
    except Exception:  # the API is down: the kill switch and the worker's SIGTERM still stop drills
        return False
    return state is not None and state.type.value in ("CANCELLING", "CANCELLED")


def _run_drills(drill, run, catalog, valid, live, clients, logger, terminated=lambda: False) -> list[DrillResult]:
    from tasks.rules.impact import targets

    field = DRILLS[drill]
    sim = catalog.policy.simulation
    results: list[DrillResult] = []
    poll = float(os.environ.get("DR_DRILL_POLL_SECONDS", "5"))
    guard = Guardrails(
        clients,
        list(sim.stop_alarms),
        sim.kill_switch_parameter,
        sim.kill_switch_region,
        lambda: terminated() or _flow_run_cancelled(),
    )
    killed: str | None = None
    for runbook in valid:
        rto, _ = targets(runbook, catalog.policy)
        kinds = ("rds_instance", "rds_cluster") + (("ebs_volume",) if drill == "region-failover" else ())
        fleets = [[m for m in obs.members if m.kind in kinds] for obs in live.get(runbook.service, [])]
        if not getattr(runbook.drills, field):
            if any(fleets):
                refused = DrillResult(drill, runbook.service, f"service:{runbook.service}", 0.0, rto)
                refused.status, refused.detail = "refused", f"the runbook does not allow it (drills.{field} is false)"
                results.append(refused)
            continue
        tag_key = sim.drill_tag_key
        radius = runbook.drills.blast_radius or sim.blast_radius
        service_guard = guard.with_alarms(runbook.drills.stop_alarms)
        config = getattr(runbook.drills, field)
        if isinstance(config, FisDrill):  # FIS runs it: one experiment for the service, its template decides what
            results.append(_fis_drill(drill, run, runbook, config, clients, rto, poll, service_guard, tag_key, logger))
            continue
        for fleet in fleets:
            consenting = []
            for member in fleet:
                if resource_consents(member, tag_key):
                    consenting.append(member)
                    continue
                refused = DrillResult(drill, runbook.service, member.key, 0.0, rto)
                refused.status, refused.detail = (
                    "refused",
                    (f"the resource does not allow it (it needs the tag {tag_key}: {DRILL_TAG_VALUE})"),
                )
                results.append(refused)
            chosen, held_back = within_blast_radius(consenting, radius)
            for member in held_back:
                skipped = DrillResult(drill, runbook.service, member.key, 0.0, rto)
                skipped.status, skipped.detail = (
                    "skipped",
                    (f"outside the blast radius ({radius} of a fleet of {len(consenting)} per run)"),
                )
                results.append(skipped)
            for member in chosen:  # one at a time: the next starts only after this one is verified
                expected = (sim.multi_az_failover if drill == "az-failover" else sim.restore_estimate).total_seconds()
                result = DrillResult(drill, runbook.service, member.key, expected, rto)
                killed = killed or guard.kill_switch()
                if killed:
                    result.status, result.detail, result.check = "not-started", killed, "drill.stopped"
                    result.event("stop", f"not started: {killed}")
                elif drill == "az-failover":
                    logger.warning("DRILL: failing over %s (%s)", member.id, runbook.service)
                    az_failover(
                        clients, member, result, poll, service_guard, runbook.drills.probe, runbook.drills.fail_back
                    )
                else:
                    _region_failover(run, catalog, runbook, member, clients, result, poll, service_guard)
                results.append(result)
    return results


def _fis_drill(drill, run, runbook, config, clients, rto, poll, guard, tag_key, logger) -> DrillResult:
    first = runbook.resources[0] if runbook.resources else None
    region = config.region or (first.all_regions()[0] if first else None)
    account = config.account or (first.all_accounts()[0] if first else None)
    result = DrillResult(drill, runbook.service, f"fis:{config.fis_template}", 0.0, rto)
    killed = guard.kill_switch()
    if killed:
        result.status, result.detail, result.check = "not-started", killed, "drill.stopped"
        result.event("stop", f"not started: {killed}")
        return result
    if region is None:
        result.status, result.detail = "failed", "no region for the FIS template (give drills.<drill>.region)"
        result.check = "drill.failed"
        return result
    logger.warning("DRILL: FIS experiment from %s (%s)", config.fis_template, runbook.service)
    return run_experiment(
        clients,
        config.fis_template,
        region,
        account,
        run.record.run_id,
        result,
        poll,
        guard,
        tag_key,
        config.timeout.total_seconds(),
    )


def _region_failover(run, catalog, runbook, member, clients, result: DrillResult, poll: float, guard) -> None:
    """Promote a replica in the DR region (instances), switch an Aurora global database over and back, or
    else restore the newest cross-region copy in the DR region; everything the drill makes is deleted."""
    regions = copy_regions_for(runbook, None) or list(member.attrs.get("copy_regions") or [])
    dr_region = runbook.dr_region or (regions[0] if regions else None)
    if member.kind == "rds_instance" and dr_region:
        isolation = catalog.policy.restore.isolation.get(dr_region)
        promote_replica(
            clients,
            member,
            dr_region,
            run.record.run_id,
            result,
            poll,
            guard,
            isolation.model_dump() if isolation else None,
        )
        return
    if member.kind == "rds_cluster":
        global_switchover(clients, member, result, poll, guard)
        if result.status != "skipped":
            return
        result.status, result.timeline = "pending", []
    targets = [t for t in targets_for_member(runbook, catalog.policy, member, regions, None) if t.mode == "snapshot-dr"]
    if not targets:
        result.status, result.detail = "failed", "no DR region or cross-region copy to fail over to"
        return
    ctx = RestoreContext(
        run_id=run.record.run_id,
        policy=catalog.policy,
        clients=clients,
        store=run.store,
        run_dir=run.dir,
        poll_seconds=poll,
        flow=FLOW_NAME,
    )
    result.event("action", f"restore the newest copy of {member.id} in {targets[0].region}")
    m = perform_restore(targets[0], runbook.validation, ctx)
    result.measured_seconds = m.rto_seconds
    result.data_loss_seconds = m.rpo_seconds
    result.status = "passed" if m.passed else "failed"
    result.detail = f"restored {m.copy_id} in {m.region} from {m.recovery_point} ({m.status}); copy {m.cleanup}" + (
        f": {m.error}" if m.error else ""
    )
    result.event("verification", result.detail)
