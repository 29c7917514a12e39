"""Ticket sync with the local ledger: no duplicates, resolve by fingerprint, scope respected."""

from __future__ import annotations

import json
import threading

from tasks.rules.checks import make_finding
from tasks.tracker import RunContext, Scope, plan_sync, sync_findings
from tasks.tracker.ledger import LedgerTracker

CTX = RunContext(flow="documentation-review", run_id="run-1", evidence_dir="/tmp/e")


def gap(
    service="svc",
    tier=1,
    check="runbook.drift",
    resource="rds_instance:us-east-1:db",
    subject="multi_az",
    detail="multi_az drifted",
):
    return make_finding(check, service=service, tier=tier, resource=resource, subject=subject, detail=detail)


def scope(*services, prefix="runbook."):
    return Scope(assessed=frozenset((s, prefix) for s in services))


def test_a_rerun_files_no_duplicates_and_keeps_keys(tmp_path):
    ledger = LedgerTracker(tmp_path)
    first = sync_findings(ledger, [gap(), gap(subject="encrypted")], scope("svc"), CTX)
    second = sync_findings(ledger, [gap(detail="reworded"), gap(subject="encrypted")], scope("svc"), CTX)
    assert len(first.created) == 2 and second.created == [] and sorted(second.kept) == sorted(first.created)
    assert second.tickets == first.tickets
    assert len(json.loads((tmp_path / "ledger.json").read_text())["tickets"]) == 2


def test_a_fixed_gap_is_resolved_and_a_returning_gap_reopens_the_same_ticket(tmp_path):
    ledger = LedgerTracker(tmp_path)
    [key] = sync_findings(ledger, [gap()], scope("svc"), CTX).created
    resolved = sync_findings(ledger, [], scope("svc"), CTX)
    assert resolved.resolved == [key]
    with ledger.session():
        assert ledger.open_tickets() == {}
    back = sync_findings(ledger, [gap()], scope("svc"), CTX)
    assert back.reopened == [key] and back.created == []
    history = [
        event["event"] for event in json.loads((tmp_path / "ledger.json").read_text())["tickets"][key]["history"]
    ]
    assert history == ["opened", "resolved", "reopened"]


def test_out_of_scope_tickets_are_never_resolved(tmp_path):
    ledger = LedgerTracker(tmp_path)
    sync_findings(ledger, [gap(service="core", tier=0)], scope("core"), CTX)
    # A Tier 1 review that assessed only "svc" says nothing about "core".
    result = sync_findings(ledger, [], scope("svc"), CTX)
    assert result.resolved == []
    # Nor does a run that could not read the resource.
    blind = Scope(assessed=frozenset({("core", "runbook.")}), skipped_resources=frozenset({"rds_instance:us-east-1:"}))
    assert sync_findings(ledger, [], blind, CTX).resolved == []
    # Nor does another flow's check family.
    assert sync_findings(ledger, [], scope("core", prefix="restore."), CTX).resolved == []


def test_escalation_writes_once_then_keeps(tmp_path):
    ledger = LedgerTracker(tmp_path)
    sync_findings(ledger, [gap(tier=1)], scope("svc"), CTX)
    escalated = sync_findings(ledger, [gap(tier=0)], scope("svc"), CTX)  # same fingerprint, higher severity
    again = sync_findings(ledger, [gap(tier=0)], scope("svc"), CTX)
    assert len(escalated.escalated) == 1 and again.escalated == [] and len(again.kept) == 1


def test_plan_is_pure_and_minimal():
    ops = plan_sync({}, [gap(), gap()], scope("svc"))
    assert [op.action for op in ops] == ["create"]  # the same fingerprint twice is one ticket


def test_concurrent_runs_do_not_lose_or_duplicate_tickets(tmp_path):
    findings = [gap(subject=f"attr{i}") for i in range(20)]

    def run():
        sync_findings(LedgerTracker(tmp_path), findings, scope("svc"), CTX)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tickets = json.loads((tmp_path / "ledger.json").read_text())["tickets"]
    assert len(tickets) == 20 and len({t["fingerprint"] for t in tickets.values()}) == 20


def test_a_sync_writes_the_ledger_once_and_an_unchanged_one_not_at_all(tmp_path, monkeypatch):
    writes = []
    real = LedgerTracker._write
    monkeypatch.setattr(LedgerTracker, "_write", lambda self: (writes.append(1), real(self)))
    findings = [gap(subject=f"attr{i}") for i in range(50)]
    assert len(sync_findings(LedgerTracker(tmp_path), findings, scope("svc"), CTX).created) == 50
    assert len(writes) == 1 and len(json.loads((tmp_path / "ledger.json").read_text())["tickets"]) == 50
    assert len(sync_findings(LedgerTracker(tmp_path), findings, scope("svc"), CTX).kept) == 50
    assert len(writes) == 1


def test_each_write_outside_a_session_takes_the_lock_and_is_saved(tmp_path):
    # Used to crash (the data was only loaded inside session()); a single call is its own session.
    ledger = LedgerTracker(tmp_path)
    ticket = ledger.create(gap(), CTX)
    ledger.escalate(ticket, gap(tier=0), CTX)
    ledger.resolve(ticket, CTX)
    ledger.reopen(ticket, gap(tier=0), CTX)
    [saved] = json.loads((tmp_path / "ledger.json").read_text())["tickets"].values()
    assert [e["event"] for e in saved["history"]] == ["opened", "escalated", "resolved", "reopened"]
    assert saved["status"] == "open" and saved["severity"] == "high"  # Tier 0 raises medium drift to high
    assert LedgerTracker(tmp_path).find(gap().fingerprint).key == ticket.key


def test_the_ledger_and_evidence_files_get_the_umask_mode_not_0600(tmp_path):
    import os
    import stat

    from tasks.evidence.store import LocalEvidenceStore

    old = os.umask(0o022)
    try:
        LedgerTracker(tmp_path).create(gap(), CTX)
        LocalEvidenceStore(tmp_path / "evidence").write_bytes("run/results.json", b"{}")
    finally:
        os.umask(old)
    for path in (tmp_path / "ledger.json", tmp_path / "evidence" / "run" / "results.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
