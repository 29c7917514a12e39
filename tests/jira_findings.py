"""Findings, routing and a jira820-backed tracker shared by the Jira tests."""

from __future__ import annotations

from tasks.catalog.policy import JiraPolicy, Policy
from tasks.rules.checks import make_finding
from tasks.tracker import RunContext, Scope, ServiceRouting
from tasks.tracker.factory import open_tracker
from tasks.tracker.jira_tracker import JiraTracker

ROUTING = {
    "payments": ServiceRouting(
        tier=1, component="Payments", owner="pay-owner@example.org", champion="pay-champ@example.org"
    ),
    "ledger": ServiceRouting(tier=0, owner="ledger-owner@example.org", champion="nobody@example.org"),
    "chat": ServiceRouting(tier=1),
}
CTX = RunContext(
    flow="documentation-review",
    run_id="run-1",
    run_url="http://prefect.local/runs/flow-run/run-1",
    evidence_dir="/evidence/documentation-review/run-1",
    runbook_files={"payments": "runbooks/payments.yaml"},
    services=ROUTING,
)


def gap(
    service="payments",
    tier=1,
    check="runbook.drift",
    resource="rds_instance:us-east-2:shard-1",
    subject="multi_az",
    detail="shard-1 (us-east-2): multi_az is documented as true but is false live.",
):
    return make_finding(
        check,
        service=service,
        tier=tier,
        resource=resource,
        subject=subject,
        detail=detail,
        evidence={"attribute": subject, "documented": True, "live": False},
    )


def scope(*services):
    return Scope(assessed=frozenset((s, "runbook.") for s in services))


def tracker(evidence, **jira) -> JiraTracker:
    policy = Policy(jira=JiraPolicy(backoff_seconds=0.01, retries=2, **jira))
    return open_tracker("jira", evidence, policy)


def review_gaps() -> list:
    """Two drift gaps of Tier 1 `payments` and a stale Tier 0 `ledger` runbook: three tickets."""
    return [
        gap(),
        gap(subject="encrypted"),
        gap(
            service="ledger",
            tier=0,
            check="runbook.stale",
            resource="runbook",
            subject="",
            detail="Last reviewed 200 days ago.",
        ),
    ]
