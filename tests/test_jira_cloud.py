"""Jira Cloud request shapes at the HTTP level, against a small fake Cloud server on loopback."""

from __future__ import annotations

import base64

from tasks.catalog.policy import JiraPolicy, Policy
from tasks.errors import TrackerError
from tasks.rules.checks import make_finding
from tasks.tracker import RunContext, Scope, ServiceRouting, sync_findings
from tasks.tracker.jira_config import load_settings
from tasks.tracker.jira_tracker import JiraTracker
from tests.jira_server import jira_cloud

ROUTING = {
    "payments": ServiceRouting(
        tier=1, project="PAY", component="Payments", owner="pay-owner@example.org", champion="pay-champ@example.org"
    )
}
CTX = RunContext(flow="documentation-review", run_id="run-1", services=ROUTING)
OPEN_JQL = 'labels = "dr-automation" AND statusCategory != Done ORDER BY key ASC'


def gap(i):
    return make_finding(
        "runbook.drift",
        service="payments",
        tier=1,
        resource=f"rds_instance:us-east-2:db{i}",
        subject="multi_az",
        detail=f"db{i} is single-AZ",
    )


def issue(key, finding):
    return {
        "id": key.split("-")[1],
        "key": key,
        "fields": {
            "summary": finding.title,
            "created": "2026-10-01T09:00:00.000+0000",
            "status": {"name": "To Do", "statusCategory": {"key": "new"}},
            "labels": [
                "dr-automation",
                f"dr-fp-{finding.fingerprint}",
                "dr-tier-1",
                "dr-check-runbook.drift",
                "dr-service-payments",
                "dr-severity-medium",
                f"dr-resource-{finding.resource}",
            ],
        },
    }


def test_cloud_searches_with_token_paging_and_assigns_by_account_id(jira_cloud):
    existing = [gap(i) for i in range(5)]
    jira_cloud.issues = [issue(f"PAY-{i + 1}", f) for i, f in enumerate(existing)]
    jira_cloud.users = {"pay-champ@example.org": "5b10ac8d82e05b22cc7d4ef5"}
    tracker = JiraTracker(load_settings(Policy()))
    result = sync_findings(tracker, existing + [gap(7)], Scope(assessed=frozenset({("payments", "runbook.")})), CTX)
    assert len(result.kept) == 5 and result.created == ["PAY-1"] and result.error is None

    log = jira_cloud.log
    assert log[0]["path"] == "/rest/api/2/serverInfo"
    searches = [r for r in log if "search" in r["path"] and "user" not in r["path"]]
    assert {r["path"] for r in searches} == {"/rest/api/3/search/jql"}  # never the removed /search
    assert all("startAt" not in r["query"] for r in searches)
    opens = [r["query"] for r in searches if r["query"]["jql"] == OPEN_JQL]
    assert [q.get("nextPageToken") for q in opens] == [None, "tok-2", "tok-4"]  # followed to the last page
    assert all(q["fields"] == "summary,status,labels,created" and q["maxResults"] == "100" for q in opens)
    [lookup] = [r["query"] for r in searches if r["query"]["jql"] != OPEN_JQL]
    assert lookup["jql"] == f'labels = "dr-automation" AND labels in ("dr-fp-{gap(7).fingerprint}") ORDER BY key ASC'

    [users] = [r for r in log if r["path"] == "/rest/api/2/user/search"]
    assert users["query"]["query"] == "pay-champ@example.org" and "username" not in users["query"]
    [create] = jira_cloud.created
    fields = create["fields"]
    assert fields["assignee"] == {"accountId": "5b10ac8d82e05b22cc7d4ef5"}
    assert fields["project"] == {"key": "PAY"} and fields["components"] == [{"name": "Payments"}]
    assert fields["issuetype"] == {"name": "Task"} and fields["priority"] == {"name": "Medium"}
    assert isinstance(fields["description"], str) and "db7 is single-AZ" in fields["description"]

    expected = "Basic " + base64.b64encode(b"bot@example.com:cloud-api-token-0000").decode()
    assert {r["auth"] for r in log} == {expected}
    assert len(log) == 1 + 3 + 1 + 1 + 1  # serverInfo, 3 pages, 1 lookup, 1 user search, 1 create


def test_cloud_rate_limit_is_waited_out_as_told(jira_cloud):
    jira_cloud.script = [(429, {"Retry-After": "3"}), (503, {})]
    slept = []
    tracker = JiraTracker(load_settings(Policy(jira=JiraPolicy(backoff_seconds=0.01))), sleep=slept.append)
    assert tracker.open_tickets() == {}
    assert slept[0] == 3.0 and len(slept) == 2
    assert [r["path"] for r in jira_cloud.log].count("/rest/api/3/search/jql") == 3


def test_a_prefect_secret_block_can_hold_the_token(jira_cloud, prefect_harness, monkeypatch):
    from prefect.blocks.system import Secret

    Secret(value="token-from-a-block").save("dr-test-jira-token", overwrite=True)
    monkeypatch.delenv("DR_JIRA_TOKEN")
    tracker = JiraTracker(load_settings(Policy(jira=JiraPolicy(token_block="dr-test-jira-token"))))
    assert tracker.is_cloud
    expected = "Basic " + base64.b64encode(b"bot@example.com:token-from-a-block").decode()
    assert jira_cloud.log[0]["auth"] == expected
    assert "token-from-a-block" not in repr(tracker.settings)


def test_a_server_echoing_credentials_in_an_error_does_not_leak_them(jira_cloud):
    basic = base64.b64encode(b"bot@example.com:cloud-api-token-0000").decode()
    jira_cloud.script = [(400, {}, {"errorMessages": [f"bad auth cloud-api-token-0000 / Basic {basic}"]})]
    tracker = JiraTracker(load_settings(Policy()))
    try:
        tracker.open_tickets()
    except TrackerError as exc:
        message = str(exc)
    assert "HTTP 400" in message and "cloud-api-token-0000" not in message and basic not in message
