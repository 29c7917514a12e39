"""The dashboard reads its tickets from Jira (`--tracker jira`): one paged search against jira820 over HTTP."""

from __future__ import annotations

from datetime import timedelta

from tasks.catalog.policy import JiraPolicy, Policy
from tasks.report.site import Inputs, render_site
from tasks.rules.dashboard import ServiceInfo
from tasks.tracker import sync_findings
from tasks.tracker.history import read_tickets
from tests.jira_findings import CTX, review_gaps, scope, tracker
from tests.jira_server import jira820


def test_the_dashboard_reads_open_and_closed_jira_tickets_in_one_paged_search(jira820, tmp_path):
    findings = review_gaps()
    created = sync_findings(tracker(tmp_path), findings, scope("payments", "ledger"), CTX).created
    fixed = sync_findings(tracker(tmp_path), findings[1:], scope("payments", "ledger"), CTX)
    assert len(created) == 3 and len(fixed.resolved) == 1
    jira820.requests.clear()

    policy = Policy(jira=JiraPolicy(page_size=2))  # three tickets: two pages
    tickets = {t.key: t for t in read_tickets("jira", str(tmp_path), policy)}

    assert sorted(tickets) == sorted(created)
    searches = sum(n for (method, path), n in jira820.requests.items() if path.endswith("/search"))
    assert searches == 2
    closed = tickets[fixed.resolved[0]]
    assert closed.status == "closed" and closed.closed_at is not None and closed.closed_at >= closed.opened_at
    assert closed.service == "payments" and closed.tier == 1 and closed.check == "runbook.drift"
    assert closed.resource == "rds_instance:us-east-2:shard-1" and closed.url.endswith(f"/browse/{closed.key}")
    stale = next(t for t in tickets.values() if t.service == "ledger")
    assert stale.status == "open" and stale.tier == 0 and stale.closed_at is None and stale.resource == "runbook"
    assert stale.severity == findings[2].severity and stale.opened_at.tzinfo is not None

    # The dashboard counts them as it counts the ledger's.
    now = max(t.opened_at for t in tickets.values()) + timedelta(minutes=1)  # jira820 keeps its own clock
    inputs = Inputs(
        services=[ServiceInfo("payments", "Payments", 1), ServiceInfo("ledger", "Ledger", 0)],
        policy=Policy(),
        history={},
        tickets=list(tickets.values()),
        evidence=str(tmp_path),
        tracker="jira",
    )
    site = render_site(inputs, str(tmp_path / "site"), now=now)
    assert site.dashboard.counts["open_tickets"] == 2
    by_service = {r.service: r.tickets.open for r in site.dashboard.rows}
    assert by_service == {"payments": 1, "ledger": 1}
