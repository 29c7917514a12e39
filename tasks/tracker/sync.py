"""Decide and apply what a run's findings mean for tickets: create, keep, escalate, reopen, resolve."""
from __future__ import annotations

from dataclasses import dataclass

from ..findings import Finding, severity_rank
from .base import RunContext, Scope, SyncResult, Ticket, Tracker


@dataclass(frozen=True)
class Operation:
    action: str  # create | keep | escalate | resolve
    fingerprint: str
    finding: Finding | None = None
    ticket: Ticket | None = None


def plan_sync(open_tickets: dict[str, Ticket], findings: list[Finding], scope: Scope) -> list[Operation]:
    """Pure: the fewest tracker writes that make the tickets match the findings.

    An unchanged gap costs nothing (no comment spam); a gap whose severity rose gets one escalation;
    a ticket whose gap is gone is resolved only if this run assessed that service and check.
    `create` may still become a reopen: the backend looks the fingerprint up first.
    """
    ops: list[Operation] = []
    current: dict[str, Finding] = {}
    for finding in findings:
        current.setdefault(finding.fingerprint, finding)
    for fp, finding in current.items():
        ticket = open_tickets.get(fp)
        if ticket is None:
            ops.append(Operation("create", fp, finding=finding))
        elif severity_rank(finding.severity) > severity_rank(ticket.severity):
            ops.append(Operation("escalate", fp, finding=finding, ticket=ticket))
        else:
            ops.append(Operation("keep", fp, finding=finding, ticket=ticket))
    for fp, ticket in sorted(open_tickets.items()):
        if fp not in current and scope.covers(ticket):
            ops.append(Operation("resolve", fp, ticket=ticket))
    return ops


def sync_findings(tracker: Tracker, findings: list[Finding], scope: Scope, context: RunContext) -> SyncResult:
    result = SyncResult(backend=tracker.name)
    with tracker.session():
        for op in plan_sync(tracker.open_tickets(), findings, scope):
            apply_operation(tracker, op, context, result)
    return result


def apply_operation(tracker: Tracker, op: Operation, context: RunContext, result: SyncResult) -> None:
    if op.action == "create":
        existing = tracker.find(op.fingerprint)
        if existing is not None and existing.status == "open":
            # A create whose response was lost, or a ticket filed by a concurrent run.
            result.kept.append(existing.key)
            ticket = existing
        elif existing is not None:
            ticket = tracker.reopen(existing, op.finding, context)
            result.reopened.append(ticket.key)
        else:
            ticket = tracker.create(op.finding, context)
            result.created.append(ticket.key)
        result.tickets[op.fingerprint] = ticket.key
    elif op.action == "escalate":
        ticket = tracker.escalate(op.ticket, op.finding, context)
        result.escalated.append(ticket.key)
        result.tickets[op.fingerprint] = ticket.key
    elif op.action == "keep":
        result.kept.append(op.ticket.key)
        result.tickets[op.fingerprint] = op.ticket.key
    elif op.action == "resolve":
        tracker.resolve(op.ticket, context)
        result.resolved.append(op.ticket.key)
