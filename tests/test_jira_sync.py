"""Ticket sync with the Jira backend against jira820 (Jira Data Center 8.20) over real HTTP."""

from __future__ import annotations

from datetime import date, timedelta

from tasks.catalog.policy import JiraPolicy, Policy
from tasks.rules.checks import make_finding
from tasks.tracker import RunContext, Scope, ServiceRouting, sync_findings
from tasks.tracker.factory import open_tracker
from tasks.tracker.jira_config import load_settings
from tasks.tracker.jira_tracker import JiraTracker
from tests.jira_findings import CTX, gap, review_gaps, scope, tracker
from tests.jira_server import jira820


def writes(server) -> int:
    return sum(n for (method, _), n in server.requests.items() if method in ("POST", "PUT", "DELETE"))


def test_a_review_files_one_ticket_per_gap_with_routing_people_priority_and_sla(jira820, tmp_path):
    findings = [
        *review_gaps(),
        gap(service="chat", check="runbook.owner_missing", resource="runbook", subject="", detail="No owner."),
    ]
    result = sync_findings(tracker(tmp_path), findings, scope("payments", "ledger", "chat"), CTX)
    assert len(result.created) == 4 and result.error is None and result.failed == []
    issues = {it["key"]: it for it in jira820.tool_issues()}
    assert sorted(issues) == sorted(result.created)
    by_fp = {next(lb for lb in it["labels"] if lb.startswith("dr-fp-"))[6:]: it for it in issues.values()}
    assert set(by_fp) == {f.fingerprint for f in findings}

    drift = by_fp[findings[0].fingerprint]
    assert drift["project"] == "DR" and drift["type"] == "Task" and drift["component"] == "Payments"
    assert drift["priority"] == "Medium" and drift["assignee"] == "pay-champ@example.org"
    assert drift["due"] == date.today() + timedelta(days=30)  # Tier 1 ticket SLA
    assert set(drift["labels"]) == {
        "dr-automation",
        f"dr-fp-{findings[0].fingerprint}",
        "dr-tier-1",
        "dr-check-runbook.drift",
        "dr-service-payments",
        "dr-severity-medium",
        "dr-resource-rds_instance:us-east-2:shard-1",
    }
    assert drift["summary"].startswith("[DR] payments: Runbook does not match the live configuration")
    body = drift["description"]
    for part in (
        "multi\\_az is documented as true but is false live",
        '"documented": true',
        '"live": false',
        "runbooks/payments.yaml",
        "Either change the live configuration",
        "[run-1|http://prefect.local/runs/flow-run/run-1]",
        "/evidence/documentation-review/run-1",
    ):
        assert part in body, part

    stale = by_fp[findings[2].fingerprint]  # Tier 0: more severe, shorter SLA; champion unknown -> owner
    assert stale["priority"] == "High" and stale["due"] == date.today() + timedelta(days=14)
    assert stale["assignee"] == "ledger-owner@example.org" and "dr-tier-0" in stale["labels"]
    orphan = by_fp[findings[3].fingerprint]  # nobody named: unassigned, and the ticket says so
    assert orphan["assignee"] is None and "unassigned" in orphan["description"]


def test_a_second_run_creates_nothing_and_writes_nothing(jira820, tmp_path):
    findings = [gap(subject=f"attr{i}") for i in range(5)]
    first = sync_findings(tracker(tmp_path), findings, scope("payments"), CTX)
    before = writes(jira820)
    again = tracker(tmp_path)
    second = sync_findings(
        again, [gap(subject=f"attr{i}", detail="reworded") for i in range(5)], scope("payments"), CTX
    )
    assert second.created == [] and sorted(second.kept) == sorted(first.created) and second.tickets == first.tickets
    assert writes(jira820) == before and len(jira820.tool_issues()) == 5
    assert again.stats["requests"] == 2  # serverInfo and one search page


def test_an_escalated_gap_gets_one_comment_then_nothing(jira820, tmp_path):
    [key] = sync_findings(tracker(tmp_path), [gap(tier=1)], scope("payments"), CTX).created
    up = sync_findings(tracker(tmp_path), [gap(tier=0)], scope("payments"), CTX)
    again = sync_findings(tracker(tmp_path), [gap(tier=0)], scope("payments"), CTX)
    assert up.escalated == [key] and again.escalated == [] and again.kept == [key]
    issue = jira820.store.issues[key]
    assert len(issue["comments"]) == 1 and "medium to high" in issue["comments"][0]["body"]
    assert "dr-severity-high" in issue["labels"] and "dr-severity-medium" not in issue["labels"]
    assert issue["priority"] == "High"


def test_a_fixed_gap_is_resolved_and_a_returning_gap_reopens_it(jira820, tmp_path):
    [key] = sync_findings(tracker(tmp_path), [gap()], scope("payments"), CTX).created
    fixed = sync_findings(tracker(tmp_path), [], scope("payments"), CTX)
    issue = jira820.store.issues[key]
    assert fixed.resolved == [key] and issue["statusCategory"] == "done" and issue["resolution"] == "Done"
    assert "no longer present" in issue["comments"][-1]["body"] and "run-1" in issue["comments"][-1]["body"]

    back = sync_findings(tracker(tmp_path), [gap()], scope("payments"), CTX)
    assert back.reopened == [key] and back.created == [] and issue["statusName"] == "Reopened"
    assert "come back" in issue["comments"][-1]["body"] and len(jira820.tool_issues()) == 1


def test_a_returning_gap_can_file_a_new_ticket_linked_to_the_old(jira820, tmp_path):
    [old] = sync_findings(tracker(tmp_path), [gap()], scope("payments"), CTX).created
    sync_findings(tracker(tmp_path), [], scope("payments"), CTX)
    back = sync_findings(tracker(tmp_path, on_return="link_new"), [gap()], scope("payments"), CTX)
    [new] = back.reopened
    assert new != old and jira820.store.issues[old]["statusCategory"] == "done"
    assert [(ln["type"], ln["key"]) for ln in jira820.store.issues[new]["links"]] == [("Relates", old)]
    assert f"tracked before in {old}" in jira820.store.issues[new]["description"]
    # The newest ticket is the one kept from now on.
    assert sync_findings(tracker(tmp_path), [gap()], scope("payments"), CTX).kept == [new]


def test_scope_is_respected_a_tier_1_review_never_resolves_a_tier_0_ticket(jira820, tmp_path):
    sync_findings(tracker(tmp_path), [gap(service="ledger", tier=0)], scope("ledger"), CTX)
    assert sync_findings(tracker(tmp_path), [], scope("payments"), CTX).resolved == []
    blind = Scope(
        assessed=frozenset({("ledger", "runbook.")}), skipped_resources=frozenset({"rds_instance:us-east-2:"})
    )
    assert sync_findings(tracker(tmp_path), [], blind, CTX).resolved == []
    assert all(it["statusCategory"] != "done" for it in jira820.tool_issues())


def test_a_create_whose_response_was_lost_is_not_filed_twice(jira820, tmp_path):
    seen = {"creates": 0}

    def lose_second_create(method, path):
        if (method, path) == ("POST", "/rest/api/2/issue"):
            seen["creates"] += 1
            if seen["creates"] == 2:
                return ("after", 504)  # processed, but the gateway timed out
        return None

    jira820.fault = lose_second_create
    result = sync_findings(tracker(tmp_path), [gap(subject=f"a{i}") for i in range(3)], scope("payments"), CTX)
    assert len(result.created) + len(result.kept) == 3 and result.error is None
    assert len(jira820.tool_issues()) == 3 and seen["creates"] == 3  # the lost one was found, not re-sent


def test_rate_limits_and_server_errors_are_retried_and_retry_after_is_honoured(jira820, tmp_path):
    jira820.script(
        {("GET", "/rest/api/2/search"): [(429, {"Retry-After": "7"})], ("POST", "/rest/api/2/issue"): [502, 503]}
    )
    slept = []
    settings = load_settings(Policy(jira=JiraPolicy(backoff_seconds=0.01, retries=3)))
    result = sync_findings(JiraTracker(settings, sleep=slept.append), [gap()], scope("payments"), CTX)
    assert len(result.created) == 1 and len(jira820.tool_issues()) == 1
    assert slept[0] == 7.0 and len(slept) == 3 and max(slept[1:]) <= 0.02  # Retry-After, then backoff


def test_a_retry_after_longer_than_allowed_defers_instead_of_stalling(jira820, tmp_path):
    jira820.script({("GET", "/rest/api/2/search"): [(429, {"Retry-After": "3600"})]})
    slept = []
    settings = load_settings(Policy(jira=JiraPolicy(max_retry_after_seconds=60)))
    outboxed = open_tracker("jira", tmp_path, Policy())
    result = sync_findings(
        JiraTracker(settings, outbox=outboxed.outbox, sleep=slept.append), [gap()], scope("payments"), CTX
    )
    assert slept == [] and result.deferred == 1 and "HTTP 429" in result.error
    assert [e["kind"] for e in outboxed.outbox.load()] == ["sync"]


def test_a_refused_operation_is_recorded_and_the_others_go_on(jira820, tmp_path):
    [key] = sync_findings(tracker(tmp_path), [gap()], scope("payments"), CTX).created
    result = sync_findings(
        tracker(tmp_path, done_transition="Close Issue"), [gap(subject="encrypted")], scope("payments"), CTX
    )
    assert len(result.created) == 1 and result.resolved == [] and len(result.failed) == 1
    assert f"{key}: no transition 'Close Issue' available" in result.error and result.deferred == 0
    assert jira820.store.issues[key]["statusCategory"] != "done"


def test_rejected_credentials_keep_the_run_for_a_later_flush(jira820, tmp_path):
    jira820.script({("GET", "/rest/api/2/serverInfo"): [401]})
    result = sync_findings(tracker(tmp_path), [gap()], scope("payments"), CTX)
    assert result.deferred == 1 and "HTTP 401" in result.error and "$DR_JIRA_TOKEN" in result.error
    assert [e["kind"] for e in tracker(tmp_path).outbox.load()] == ["sync"]
