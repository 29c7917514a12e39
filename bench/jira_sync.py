"""Jira sync cost: 500 gaps of which 450 already have tickets, against jira820 at 20 ms per request.

    python -m bench.jira_sync

Counts every HTTP request the backend makes (a requests response hook, cross-checked by the server's own
count) and reports jira_requests_ratio = requests / (search pages + creates): 1.0 would mean nothing but
the paged search for open tickets and the creates. Target: <= 1.1.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ holds the jira820 harness

SERVICES, GAPS_PER_SERVICE, NEW_SERVICES = 10, 50, 1  # the newest service's 50 gaps have no ticket yet
LATENCY_MS = 20


def _findings():
    from tasks.rules.checks import make_finding

    return [
        make_finding(
            "runbook.drift",
            service=f"svc-{s:02d}",
            tier=1,
            subject="encrypted",
            resource=f"rds_instance:us-east-1:tenant-{s:02d}-{i:03d}",
            detail=f"tenant-{s:02d}-{i:03d} is unencrypted",
            evidence={"documented": True, "live": False},
        )
        for s in range(SERVICES)
        for i in range(GAPS_PER_SERVICE)
    ]


def run() -> dict:
    from tasks.catalog.policy import Policy
    from tasks.tracker import RunContext, Scope, ServiceRouting, sync_findings
    from tasks.tracker.factory import open_tracker
    from tests.jira_server import PROJECT, Jira820

    champions = [f"champ-{s:02d}@example.org" for s in range(SERVICES)]
    server = Jira820(latency_ms=0, users=tuple(champions))
    env = {"DR_JIRA_URL": server.url, "DR_JIRA_PROJECT": PROJECT, "DR_JIRA_TOKEN": "bench-token"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        evidence = tempfile.mkdtemp(prefix="dr-bench-jira-")
        findings = _findings()
        services = sorted({f.service for f in findings})
        context = RunContext(
            flow="documentation-review",
            run_id="bench",
            services={name: ServiceRouting(tier=1, champion=champions[i]) for i, name in enumerate(services)},
        )
        scope = Scope(assessed=frozenset((name, "runbook.") for name in services))
        existing = [f for f in findings if f.service not in services[-NEW_SERVICES:]]
        setup = sync_findings(open_tracker("jira", evidence, Policy()), existing, scope, context)
        assert len(setup.created) == len(existing) == 450, setup.summary()

        server.store.config.latency_ms = LATENCY_MS
        before = sum(server.requests.values())
        tracker = open_tracker("jira", evidence, Policy())
        started = time.perf_counter()
        result = sync_findings(tracker, findings, scope, context)
        seconds = time.perf_counter() - started
        served = sum(server.requests.values()) - before
        stats = tracker.stats
        useful = stats["open_pages"] + stats["creates"]
        report = {
            "gaps": len(findings),
            "existing_tickets": len(existing),
            "created": len(result.created),
            "kept": len(result.kept),
            "requests": stats["requests"],
            "requests_seen_by_server": served,
            "search_pages": stats["open_pages"],
            "lookup_pages": stats["lookup_pages"],
            "creates": stats["creates"],
            "jira_requests_ratio": round(stats["requests"] / useful, 3),
            "seconds": round(seconds, 2),
            "latency_ms": LATENCY_MS,
        }
        assert result.error is None and len(result.created) == 50 and served == stats["requests"], report
        return report
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> None:
    report = run()
    for key, value in report.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
