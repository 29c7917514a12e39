"""Ending the evidence of tabletops that Prefect ended while they were suspended.

A suspended run has no process: when its pause times out (Prefect fails it), or it is cancelled while it
waits, none of our code runs, and its record would say `running` for ever. The next simulation asks Prefect
about every such record and ends it: `timed_out` or `abandoned`, the reason, and an after-action report that
names the injects nobody answered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tasks.evidence.records import RunRecord, now
from tasks.evidence.store import RunEvidence, list_dirs, parse_record
from tasks.report.render import render
from tasks.rules.digest import digest
from tasks.rules.tabletop import ended_while_waiting, unanswered_entries

EndedState = Callable[[str], "tuple[str, str | None] | None"]


def prefect_final_state(run_id: str) -> tuple[str, str | None] | None:
    """(state type, message) when Prefect knows this flow run as ended; None while it goes on or when the
    API cannot say (then the record is left as it is)."""
    try:
        flow_run_id = uuid.UUID(run_id)
    except ValueError:
        return None
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
    except Exception:  # another server's run, or no API: say nothing rather than guess
        return None
    if state is None or not state.is_final():
        return None
    return state.type.value, state.message


def reconcile_waiting_tabletops(
    store, flow: str, current_run_id: str, ended: EndedState = prefect_final_state, logger=None
) -> list[str]:
    """End the records of this flow's interactive runs that Prefect ended while they waited; their run ids."""
    done = []
    for directory in list_dirs(store, flow):
        raw = store.read_bytes(f"{directory}/results.json")
        record = parse_record(store, f"{directory}/results.json", raw) if raw else None
        if (
            record is None
            or record.status != "running"
            or record.run_id == current_run_id
            or record.parameters.get("mode") != "interactive"
        ):
            continue
        state = ended(record.run_id)
        if state is None:
            continue
        end_waiting_record(RunEvidence(store, record), *state)
        done.append(record.run_id)
        if logger is not None:
            logger.warning("tabletop run %s ended while waiting for answers: %s", record.run_id, record.errors[-1])
    return done


def end_waiting_record(run: RunEvidence, state_type: str, message: str | None) -> None:
    record: RunRecord = run.record
    status, reason = ended_while_waiting(state_type, message)
    details = record.details
    missing = unanswered_entries(details)
    log = [e for e in details.get("decision_log") or [] if e.get("answers") is not None] + missing
    details["decision_log"] = log
    details["unanswered"] = [e["inject"] for e in missing]
    record.status, record.finished_at = status, now()
    record.errors.append(reason)
    scenario = details.get("scenario")
    if scenario:
        names = "; ".join(f"T+{e['at_minutes']} min {e['title']}" for e in missing) or "none"
        note = f"The exercise ended before it was over: {reason}. Unanswered injects: {names}."
        tested = f"the {scenario.get('name')} tabletop, ended while it waited for answers"
        summary = digest(tested, record.findings, [note])
        context = dict(
            scenario=scenario,
            impact=details.get("impact") or [],
            decision_log=log,
            drills=details.get("drills") or [],
            summary=note,
            mode=details.get("mode") or "interactive",
            strikes="as analysed when the run started (see the impact table)",
            narrative=str(scenario.get("narrative") or "").replace("{regions}", "the struck region"),
            tested=tested,
        )
        for name in ("report.html", "report.md"):
            template = "simulation.html.j2" if name.endswith("html") else "simulation.md.j2"
            run.write_report(name, render(template, record=record, tracker=record.tracker, digest=summary, **context))
    run.save()
