"""Jira outages: nothing is lost, the outbox keeps the rest, a flush (or the next run) replays it once."""

from __future__ import annotations

from collections import Counter

from flows.cli import main
from tasks.catalog.policy import JiraPolicy, Policy
from tasks.rules.checks import make_finding
from tasks.tracker import RunContext, Scope, flush_outbox, plan_sync, sync_findings
from tasks.tracker import outbox as ob
from tasks.tracker.factory import open_tracker
from tasks.tracker.jira_config import load_settings
from tasks.tracker.jira_tracker import JiraTracker
from tests.jira_server import jira820

CTX = RunContext(flow="documentation-review", run_id="run-1", evidence_dir="/evidence/run-1")
FAST = Policy(jira=JiraPolicy(retries=2, backoff_seconds=0.01, connect_timeout_seconds=1, read_timeout_seconds=3))


def gap(i, service="payments"):
    return make_finding(
        "runbook.drift",
        service=service,
        tier=1,
        resource=f"rds_instance:us-east-2:db{i}",
        subject="multi_az",
        detail=f"db{i} is single-AZ",
    )


def scope(*services):
    return Scope(assessed=frozenset((s, "runbook.") for s in services))


def one_ticket_per_fingerprint(server) -> Counter:
    counts = Counter(lb for it in server.tool_issues() for lb in it["labels"] if lb.startswith("dr-fp-"))
    assert set(counts.values()) == {1}, counts
    return counts


def test_stopping_jira_mid_sync_loses_nothing_and_a_flush_files_the_rest_once(jira820, tmp_path):
    findings = [gap(i) for i in range(12)]
    creates = []

    def stop_after_fourth_create(response, *args, **kwargs):
        if response.request.method == "POST" and response.request.path_url == "/rest/api/2/issue":
            creates.append(response.status_code)
            if len(creates) == 4:
                _ = response.content  # read the reply before the server goes away
                jira820.stop()

    outbox = open_tracker("jira", tmp_path, FAST).outbox
    tracker = JiraTracker(load_settings(FAST), outbox=outbox, hooks=[stop_after_fourth_create])
    result = sync_findings(tracker, findings, scope("payments"), CTX)

    assert len(result.created) == 4 and result.deferred == 8 and "Jira unavailable" in result.error
    pending = outbox.load()
    assert [e["kind"] for e in pending] == ["open"] * 8
    assert {e["fingerprint"] for e in pending} == {f.fingerprint for f in findings} - set(result.tickets)
    assert len(jira820.tool_issues()) == 4

    jira820.start()  # same store: what Jira already had survives the restart
    flushed, left = flush_outbox(open_tracker("jira", tmp_path, FAST))
    assert left == 0 and flushed.error is None and len(flushed.created) == 8 and outbox.load() == []
    assert len(one_ticket_per_fingerprint(jira820)) == 12
    # Flushing again, or the next run, changes nothing.
    assert flush_outbox(open_tracker("jira", tmp_path, FAST))[0].created == []
    again = sync_findings(open_tracker("jira", tmp_path, FAST), findings, scope("payments"), CTX)
    assert again.created == [] and len(again.kept) == 12


def test_a_run_while_jira_is_down_is_replayed_by_the_next_run_with_newer_evidence_winning(jira820, tmp_path):
    jira820.stop()
    down = sync_findings(
        open_tracker("jira", tmp_path, FAST), [gap(1), gap(2), gap(3, "ledger")], scope("payments", "ledger"), CTX
    )
    assert down.deferred == 3 and down.created == [] and "Jira unavailable (connect)" in down.error

    jira820.start()
    # The next run reviews only payments and finds db1 still broken (db2 was fixed meanwhile): it decides
    # payments itself; the ledger part of the deferred run is replayed.
    later = RunContext(flow="documentation-review", run_id="run-2")
    result = sync_findings(open_tracker("jira", tmp_path, FAST), [gap(1)], scope("payments"), later)
    assert len(result.created) == 1 and result.replayed == 1 and result.deferred == 0
    resources = sorted(lb for it in jira820.tool_issues() for lb in it["labels"] if lb.startswith("dr-resource-"))
    assert resources == ["dr-resource-rds_instance:us-east-2:db1", "dr-resource-rds_instance:us-east-2:db3"]
    assert open_tracker("jira", tmp_path, FAST).outbox.load() == []


def test_dr_tracker_flush_exits_1_while_jira_is_down_and_0_once_replayed(jira820, tmp_path, capsys):
    policy = tmp_path / "policy.yaml"
    policy.write_text("jira: {retries: 1, backoff_seconds: 0.01}\n")
    jira820.stop()
    sync_findings(open_tracker("jira", tmp_path, FAST), [gap(1), gap(2)], scope("payments"), CTX)

    args = ["tracker", "flush", "--evidence", str(tmp_path), "--tracker", "jira", "--policy", str(policy)]
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "2 left in the outbox" in out and err.startswith("dr: error: Jira unavailable")

    jira820.start()
    assert main(args) == 0
    assert "2 opened" in capsys.readouterr().out and len(jira820.tool_issues()) == 2
    assert main(["tracker", "flush", "--evidence", str(tmp_path), "--tracker", "ledger"]) == 0


# --- the outbox's pure rules --------------------------------------------------------------------


def test_newer_evidence_supersedes_queued_work_it_covers():
    queued = ob.entries_from_ops(plan_sync({}, [gap(1), gap(2, "ledger")], scope("payments", "ledger")), CTX)
    queued.append(ob.sync_entry([gap(4), gap(5, "ledger")], scope("payments", "ledger"), CTX))
    kept = ob.supersede(queued, {gap(9).fingerprint}, scope("payments"))
    assert [e["kind"] for e in kept] == ["open", "sync"]
    assert kept[0]["fingerprint"] == gap(2, "ledger").fingerprint
    assert [f["service"] for f in kept[1]["findings"]] == ["ledger"]
    assert ob.scope_from_dict(kept[1]["scope"]).assessed == {("ledger", "runbook.")}
    # A run that could not read a resource decides nothing about it.
    blind = Scope(
        assessed=frozenset({("payments", "runbook.")}), skipped_resources=frozenset({"rds_instance:us-east-2:db1"})
    )
    assert [e.get("fingerprint") for e in ob.supersede(queued[:1], set(), blind)] == [gap(1).fingerprint]


def test_outbox_entries_round_trip_their_context():
    from tasks.tracker import ServiceRouting

    context = RunContext(
        flow="f", run_id="r", run_url="http://ui/r", services={"payments": ServiceRouting(tier=1, project="PAY")}
    )
    [entry] = ob.entries_from_ops(plan_sync({}, [gap(1)], scope("payments")), context)
    assert ob.context_from_dict(entry["context"]) == context
    assert ob.pending_count([entry, ob.sync_entry([gap(1), gap(1), gap(2)], scope("payments"), context)]) == 3


def test_a_replayed_sampled_run_resolves_tickets_only_on_the_resources_it_tested(jira820, tmp_path):
    # Two open gaps; then a sampled run tests only db1 (now fixed) while Jira is down. Replaying it must not
    # resolve db2's ticket: the run never looked at db2 (the outbox used to drop only_resources).
    sync_findings(open_tracker("jira", tmp_path, FAST), [gap(1), gap(2)], scope("payments"), CTX)
    sampled = Scope(
        assessed=frozenset({("payments", "runbook.")}), only_resources=frozenset({"rds_instance:us-east-2:db1"})
    )
    jira820.stop()
    down = sync_findings(open_tracker("jira", tmp_path, FAST), [], sampled, CTX)
    assert down.error and down.resolved == []
    [entry] = open_tracker("jira", tmp_path, FAST).outbox.load()
    assert ob.scope_from_dict(entry["scope"]) == sampled

    jira820.start()
    result, left = flush_outbox(open_tracker("jira", tmp_path, FAST))
    assert left == 0 and len(result.resolved) == 1
    status = {
        next(lb for lb in it["labels"] if lb.startswith("dr-resource-")): it["statusCategory"]
        for it in jira820.tool_issues()
    }
    assert status == {
        "dr-resource-rds_instance:us-east-2:db1": "done",
        "dr-resource-rds_instance:us-east-2:db2": "todo",
    }
