"""Prefect events for automations: a gap opened, a restore completed, an RTO or RPO breached.

Resources are the services (`dr.service.<id>`) with the service and tier as labels, so an automation
can match "a Tier 0 RTO breach" without parsing payloads.
"""

from __future__ import annotations

import logging

from tasks.evidence.findings import Finding
from tasks.evidence.records import Measurement
from tasks.rules.restore_plan import rpo_exceeded

log = logging.getLogger(__name__)

GAP_OPENED = "dr.gap.opened"
RESTORE_COMPLETED = "dr.restore.completed"
RTO_BREACHED = "dr.rto.breached"
RPO_BREACHED = "dr.rpo.breached"
SERVICE_FAILING = "dr.service.failing"  # the dashboard judged a service failing (tasks/rules/status.py)


def _resource(service: str, tier: int | None) -> dict[str, str]:
    return {
        "prefect.resource.id": f"dr.service.{service}",
        "prefect.resource.name": service,
        "dr.service": service,
        "dr.tier": "" if tier is None else str(tier),
    }


def _emit(event: str, resource: dict, payload: dict, related: list[dict] | None = None) -> None:
    try:
        from prefect.events import emit_event

        emit_event(event=event, resource=resource, payload=payload, related=related or [])
    except Exception as exc:
        log.warning("could not emit %s: %s", event, exc)


def _run(flow: str, run_id: str) -> list[dict]:
    return [{"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.role": "flow-run", "dr.flow": flow}]


def gaps_opened(findings: list[Finding], opened: set[str], flow: str, run_id: str) -> int:
    count = 0
    for finding in findings:
        if finding.ticket and finding.ticket in opened:
            _emit(
                GAP_OPENED,
                _resource(finding.service, finding.tier),
                {
                    "check": finding.check,
                    "severity": finding.severity,
                    "fingerprint": finding.fingerprint,
                    "ticket": finding.ticket,
                    "resource": finding.resource,
                    "title": finding.title,
                },
                _run(flow, run_id),
            )
            count += 1
    return count


def restore_measured(m: Measurement, flow: str, run_id: str) -> list[str]:
    payload = {
        "resource": m.resource,
        "kind": m.kind,
        "mode": m.mode,
        "region": m.region,
        "status": m.status,
        "rto_seconds": m.rto_seconds,
        "rto_target_seconds": m.rto_target_seconds,
        "rpo_seconds": m.rpo_seconds,
        "rpo_target_seconds": m.rpo_target_seconds,
        "passed": m.passed,
        "disruption": m.disruption,
        "rpo_judged": m.rpo_judged,
    }
    sent = []
    resource, related = _resource(m.service, m.tier), _run(flow, run_id)
    if m.status not in ("no_recovery_point", "preflight_failed"):
        _emit(RESTORE_COMPLETED, resource, payload, related)
        sent.append(RESTORE_COMPLETED)
    if m.status == "timeout" or (m.rto_seconds is not None and m.rto_seconds > m.rto_target_seconds):
        _emit(RTO_BREACHED, resource, payload, related)
        sent.append(RTO_BREACHED)
    if rpo_exceeded(m):
        _emit(RPO_BREACHED, resource, payload, related)
        sent.append(RPO_BREACHED)
    return sent


def services_failing(rows: list, flow: str, run_id: str) -> int:
    """One event per service the status rule calls failing, with the rule's words and the reasons."""
    from tasks.rules.status import legend

    meaning = dict(legend())["failing"]
    count = 0
    for row in rows:
        if row.status == "failing":
            _emit(
                SERVICE_FAILING,
                _resource(row.service, row.tier),
                {"status": row.status, "reasons": list(row.reasons), "rule": meaning},
                _run(flow, run_id),
            )
            count += 1
    return count
