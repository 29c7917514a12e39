"""Decide and apply what a run's findings mean for tickets: create, keep, escalate, reopen, resolve."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.errors import TrackerError, TrackerUnavailable
from tasks.evidence.findings import Finding, severity_rank
from tasks.tracker import outbox as ob
from tasks.tracker.base import RunContext, Scope, SyncResult, Ticket, Tracker


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
    if getattr(tracker, "outbox", None) is not None:
        return _sync_with_outbox(tracker, findings, scope, context)
    result = SyncResult(backend=tracker.name)
    with tracker.session():
        for op in plan_sync(tracker.open_tickets(), findings, scope):
            apply_operation(tracker, op, context, result)
    return result


def flush_outbox(tracker: Tracker) -> tuple[SyncResult, int]:
    """Replay every pending outbox entry (`dr tracker flush`); returns the result and what is left."""
    result = SyncResult(backend=tracker.name)
    with tracker.session():
        pending = tracker.outbox.load()
        if not pending:
            return result, 0
        try:
            snapshot = tracker.open_tickets()
        except TrackerError as exc:
            result.error = str(exc)
            return result, ob.pending_count(pending)
        left, error = _replay(tracker, pending, snapshot, result)
        tracker.outbox.save(left)
        result.error = error
        return result, ob.pending_count(left)


def _sync_with_outbox(tracker: Tracker, findings: list[Finding], scope: Scope, context: RunContext) -> SyncResult:
    """Replay older work, then this run's plan; whatever Jira cannot take now waits in the outbox."""
    result = SyncResult(backend=tracker.name)
    outbox = tracker.outbox
    with tracker.session():
        pending = ob.supersede(outbox.load(), {f.fingerprint for f in findings}, scope)
        try:
            snapshot = tracker.open_tickets()
        except TrackerError as exc:
            # Nothing can be planned without the open tickets (Jira down, or refusing us until its
            # settings are fixed): keep the whole sync for the next run or `dr tracker flush`.
            outbox.save(pending + [ob.sync_entry(findings, scope, context)])
            result.deferred, result.error = len({f.fingerprint for f in findings}), str(exc)
            return result
        replayed = SyncResult(backend=tracker.name)
        left, error = _replay(tracker, pending, snapshot, replayed)
        result.replayed = sum(map(len, (replayed.created, replayed.escalated, replayed.reopened, replayed.resolved)))
        result.failed += replayed.failed
        ops = plan_sync(snapshot, findings, scope)
        if error is None:
            undone, error = _apply(tracker, ops, context, snapshot, result)
        else:  # Jira went away during the replay: do not wait through the retries again
            undone = _keep_only(ops, result)
        deferred = ob.entries_from_ops(undone, context)
        outbox.save(left + deferred)
        result.deferred, result.error = len(deferred), error or _failures(result)
    return result


def _replay(
    tracker: Tracker, entries: list[dict], snapshot: dict[str, Ticket], result: SyncResult
) -> tuple[list[dict], str | None]:
    prefetch = getattr(tracker, "prefetch", None)
    wanted = {f["fingerprint"] for e in entries for f in (e.get("findings") or [e.get("finding") or {}]) if f}
    if prefetch is not None and wanted - set(snapshot):
        try:
            prefetch(sorted(wanted - set(snapshot)))  # one batched lookup for every entry below
        except TrackerUnavailable as exc:
            return entries, str(exc)
    for index, entry in enumerate(entries):
        context = ob.context_from_dict(entry["context"])
        if entry["kind"] == "sync":
            ops = plan_sync(snapshot, [Finding(**f) for f in entry["findings"]], ob.scope_from_dict(entry["scope"]))
        elif entry["kind"] == "open":
            ops = plan_sync(snapshot, [Finding(**entry["finding"])], Scope(assessed=frozenset()))
        else:
            ticket = snapshot.get(entry["fingerprint"])
            ops = [Operation("resolve", ticket.fingerprint, ticket=ticket)] if ticket else []
        undone, error = _apply(tracker, ops, context, snapshot, result)
        if error is not None:
            return ob.entries_from_ops(undone, context) + entries[index + 1 :], error
    return [], None


def _apply(
    tracker: Tracker, ops: list[Operation], context: RunContext, snapshot: dict[str, Ticket], result: SyncResult
) -> tuple[list[Operation], str | None]:
    """Apply in order, keeping `snapshot` (fingerprint -> open ticket) current. A refused operation is
    recorded and skipped; an unreachable tracker stops here and returns what is left undone."""
    creates = [op.fingerprint for op in ops if op.action == "create"]
    prefetch = getattr(tracker, "prefetch", None)
    index = 0
    try:
        if prefetch is not None and creates:
            prefetch(creates)  # one batched lookup instead of one search per create
        for index, op in enumerate(ops):  # noqa: B007 - read by the except below
            try:
                ticket = apply_operation(tracker, op, context, result)
            except TrackerUnavailable:
                raise
            except TrackerError as exc:
                result.failed.append(f"{op.action} {op.fingerprint}: {exc}")
                continue
            if op.action == "resolve":
                snapshot.pop(op.fingerprint, None)
            elif ticket is not None:
                snapshot[op.fingerprint] = ticket
    except TrackerUnavailable as exc:
        return _keep_only(ops[index:], result), str(exc)
    return [], None


def _keep_only(ops: list[Operation], result: SyncResult) -> list[Operation]:
    """Record the `keep`s (no write needed: their tickets are known); return the operations that write."""
    undone = []
    for op in ops:
        if op.action == "keep":
            result.kept.append(op.ticket.key)
            result.tickets[op.fingerprint] = op.ticket.key
        else:
            undone.append(op)
    return undone


def _failures(result: SyncResult) -> str | None:
    if not result.failed:
        return None
    return f"{len(result.failed)} operation(s) refused by the tracker; first: {result.failed[0]}"


def apply_operation(tracker: Tracker, op: Operation, context: RunContext, result: SyncResult) -> Ticket | None:
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
        return ticket
    if op.action == "escalate":
        ticket = tracker.escalate(op.ticket, op.finding, context)
        result.escalated.append(ticket.key)
        result.tickets[op.fingerprint] = ticket.key
        return ticket
    if op.action == "keep":
        result.kept.append(op.ticket.key)
        result.tickets[op.fingerprint] = op.ticket.key
    elif op.action == "resolve":
        tracker.resolve(op.ticket, context)
        result.resolved.append(op.ticket.key)
    return None
