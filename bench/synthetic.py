"""A synthetic DR programme history: runbooks, eight quarters of evidence and a ticket ledger.

Used by the dashboard tests (a dozen services, written through the real evidence code) and by
bench/dashboard.py (10,000 services). Deterministic: the same arguments give the same files.

The shape follows the program: documentation reviews and restore tests every quarter for Tiers 0/1
(restore tests twice a year for Tier 2, once for Tier 3), a DR simulation of every service once a year,
a ticket per review finding, most of them closed within a quarter. Services in `lapsed` stop being
reviewed, tested and simulated two quarters before `now` (so they are overdue); services in
`never_restored` never get a restore test.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tasks.catalog.policy import Policy
from tasks.evidence.findings import Finding, fingerprint
from tasks.evidence.records import Measurement, RunRecord, ServiceStatus
from tasks.evidence.store import LocalEvidenceStore, RunEvidence
from tasks.rules.dashboard import ServiceInfo
from tasks.rules.quarters import Quarter

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
FLEET_MEMBERS = 8


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) from its arguments."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def default_tier(i: int) -> int:
    return 0 if i % 20 == 0 else 1 if i % 4 == 0 else 2 if i % 2 == 0 else 3


@dataclass
class Estate:
    root: Path
    evidence: Path
    runbooks: Path | None
    services: list[ServiceInfo]
    now: datetime
    runs: dict[str, int] = field(default_factory=dict)
    tickets: int = 0
    expected: dict[str, object] = field(default_factory=dict)


def make_services(
    count: int, tiers=default_tier, names: dict[int, str] | None = None, fleet_every: int = 50
) -> list[ServiceInfo]:
    services = []
    for i in range(count):
        sid = f"svc-{i:05d}"
        fleets = (
            (f"{sid}|rds_instance:us-east-1:[service={sid}-tenants]",) if i % fleet_every == fleet_every - 1 else ()
        )
        services.append(
            ServiceInfo(
                service=sid,
                name=(names or {}).get(i, f"Service {i}"),
                tier=tiers(i),
                owner=f"owner{i}@example.com",
                champion=f"champion{i}@example.com",
                fleets=fleets,
            )
        )
    return services


def write_runbooks(directory: Path, services: list[ServiceInfo]) -> Path:
    """Runbook YAML for the services (JSON is YAML: no escaping surprises in names)."""
    directory.mkdir(parents=True, exist_ok=True)
    for s in services:
        resources = [{"kind": "rds_instance", "id": f"{s.service}-db", "region": "us-east-1"}]
        if s.fleets:
            resources.append(
                {"kind": "rds_instance", "select": {"tags": {"service": f"{s.service}-tenants"}}, "region": "us-east-1"}
            )
        doc = {
            "service": s.service,
            "name": s.name,
            "tier": s.tier,
            "owner": s.owner,
            "dr_champion": s.champion,
            "documentation": {"last_reviewed": "2026-10-01"},
            "procedure": ["Restore from the latest snapshot."],
            "validation": [{"name": "available", "kind": "status"}],
            "resources": resources,
        }
        (directory / f"{s.service}.yaml").write_text(json.dumps(doc, indent=1) + "\n")
    return directory


def _run_id(*parts: object) -> str:
    return str(uuid.UUID(hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]))


def _save(store: LocalEvidenceStore, record: RunRecord) -> None:
    record.status = "completed"
    record.finished_at = record.started_at + timedelta(minutes=20)
    RunEvidence(store, record).save()  # writes results.json and summary.json


# What the simulation finds, per check: severity, title, detail, remediation.
_SIMULATION_FINDINGS = {
    "unrecoverable": (
        "critical",
        "Service could not be recovered in the region-loss scenario",
        "The restore procedure depends on the lost region.",
        "Add a cross-region copy.",
    ),
    "action_item": (
        "medium",
        "Procedure step was out of date",
        "Step 3 names a retired bastion host.",
        "Update the procedure.",
    ),
}


def _simulation_finding(s: ServiceInfo, quarter: str, kind: str) -> Finding:
    severity, title, detail, remediation = _SIMULATION_FINDINGS[kind]
    check = f"simulation.{kind}"
    return Finding(
        fingerprint=fingerprint(s.service, "runbook", check, quarter),
        service=s.service,
        tier=s.tier,
        resource="runbook",
        check=check,
        severity=severity,
        title=title,
        detail=detail,
        remediation=remediation,
    )


def build_estate(
    root: Path,
    services: list[ServiceInfo],
    quarters: int = 8,
    now: datetime = NOW,
    batch: int = 1000,
    lapsed: frozenset[str] = frozenset(),
    never_restored: frozenset[str] = frozenset(),
    write_catalog: bool = True,
    gap_rate: float = 0.2,
) -> Estate:
    policy = Policy()
    evidence = root / "evidence"
    store = LocalEvidenceStore(evidence)
    runbooks = write_runbooks(root / "runbooks", services) if write_catalog else None
    span = Quarter.of(now).back(quarters)
    cutoff = span[-2].start if len(span) > 1 else span[-1].start  # lapsed services stop here
    tickets: dict[str, dict] = {}
    runs = {"documentation-review": 0, "backup-restore-test": 0, "dr-simulation": 0}

    def active(s: ServiceInfo, at: datetime) -> bool:
        return not (s.service in lapsed and at >= cutoff)

    def completed(flow: str, run_id: str, at: datetime, parameters: dict, **results) -> None:
        """One completed run's evidence (results.json and summary.json), counted."""
        _save(store, RunRecord(flow=flow, run_id=run_id, started_at=at, parameters=parameters, **results))
        runs[flow] += 1

    for qi, q in enumerate(span):
        # Documentation review, in batches (teams run their own selections).
        at = q.start + timedelta(days=12)
        for b in range(0, len(services), batch):
            when = at + timedelta(minutes=b // batch)
            if when > now:
                break
            chunk = [s for s in services[b : b + batch] if active(s, when)]
            if not chunk:
                continue
            statuses, findings = [], []
            for s in chunk:
                gap = _unit("review", s.service, q.id) < gap_rate
                statuses.append(
                    ServiceStatus(
                        service=s.service, tier=s.tier, status="gaps" if gap else "pass", findings=1 if gap else 0
                    )
                )
                if gap:
                    resource = f"rds_instance:us-east-1:{s.service}-db"
                    fp = fingerprint(s.service, resource, "runbook.drift", f"multi_az-{q.id}")
                    key = f"DR-{len(tickets) + 1}"
                    findings.append(
                        Finding(
                            fingerprint=fp,
                            service=s.service,
                            tier=s.tier,
                            resource=resource,
                            check="runbook.drift",
                            subject="multi_az",
                            severity="high" if s.tier == 0 else "medium",
                            title="Runbook does not match the live configuration: multi_az",
                            detail=f"rds_instance {s.service}-db (us-east-1): multi_az is documented as true but is false live.",
                            remediation="Either change the live configuration to what the runbook promises or correct the runbook.",
                            evidence={"attribute": "multi_az", "documented": True, "live": False},
                            ticket=key,
                        )
                    )
                    opened = when + timedelta(hours=1)
                    days = 20 + int(_unit("close", s.service, q.id) * 160)
                    closed = opened + timedelta(days=days)
                    still_open = closed > now or _unit("stays-open", s.service, q.id) < 0.1
                    tickets[key] = {
                        "key": key,
                        "fingerprint": fp,
                        "service": s.service,
                        "tier": s.tier,
                        "check": "runbook.drift",
                        "resource": resource,
                        "severity": findings[-1].severity,
                        "title": findings[-1].title,
                        "detail": findings[-1].detail,
                        "remediation": findings[-1].remediation,
                        "status": "open" if still_open else "closed",
                        "opened_at": opened.isoformat(timespec="seconds"),
                        "closed_at": None if still_open else closed.isoformat(timespec="seconds"),
                        "history": [
                            {
                                "at": opened.isoformat(timespec="seconds"),
                                "event": "opened",
                                "flow": "documentation-review",
                                "run_id": "synthetic",
                                "evidence": None,
                                "detail": findings[-1].detail,
                            }
                        ],
                    }
            completed(
                "documentation-review",
                _run_id("review", q.id, b),
                when,
                {"tiers": [0, 1, 2, 3]},
                services=statuses,
                findings=findings,
            )

        # Restore tests: Tiers 0/1 every quarter, Tier 2 in Q1 and Q3, Tier 3 in Q1.
        at = q.start + timedelta(days=25)
        for b in range(0, len(services), batch):
            when = at + timedelta(minutes=b // batch)
            if when > now:
                break
            chunk = [
                s
                for s in services[b : b + batch]
                if active(s, when)
                and s.service not in never_restored
                and (s.tier in (0, 1) or (s.tier == 2 and q.q in (1, 3)) or (s.tier == 3 and q.q == 1))
            ]
            if not chunk:
                continue
            statuses, measurements, fleets = [], [], {}
            improve = 1.0 - 0.06 * qi  # restores get faster over the quarters
            for s in chunk:
                tier = policy.tier(s.tier)
                rto_t, rpo_t = tier.rto.total_seconds(), tier.rpo.total_seconds()
                members = [f"rds_instance:us-east-1:{s.service}-db"]
                for fleet in s.fleets:
                    all_members = [f"rds_instance:us-east-1:{s.service}-tenant-{m:03d}" for m in range(FLEET_MEMBERS)]
                    fleets[fleet] = all_members
                    members += [m for n, m in enumerate(all_members) if n % 4 == qi % 4]  # rotation
                ok = True
                for resource in members:
                    miss = _unit("miss", resource, q.id) < 0.04
                    rto = rto_t * (
                        1.2 + _unit("rto", resource, q.id)
                        if miss
                        else (0.15 + 0.45 * _unit("rto", resource, q.id)) * improve
                    )
                    rpo = rpo_t * (0.1 + 0.5 * _unit("rpo", resource, q.id))
                    measurements.append(
                        Measurement(
                            service=s.service,
                            tier=s.tier,
                            resource=resource,
                            kind="rds_instance",
                            mode="snapshot",
                            region="us-east-1",
                            source_region="us-east-1",
                            started_at=when,
                            finished_at=when + timedelta(seconds=rto),
                            rto_seconds=round(rto, 1),
                            rto_target_seconds=rto_t,
                            rpo_seconds=round(rpo, 1),
                            rpo_target_seconds=rpo_t,
                            passed=not miss,
                            status="passed",
                            recovery_point=f"rds:{s.service}-snap",
                            cleanup="deleted",
                            validation=[{"name": "available", "kind": "status", "passed": True, "detail": "available"}],
                        )
                    )
                    ok = ok and not miss
                statuses.append(
                    ServiceStatus(
                        service=s.service, tier=s.tier, status="pass" if ok else "gaps", findings=0 if ok else 1
                    )
                )
            completed(
                "backup-restore-test",
                _run_id("restore", q.id, b),
                when,
                {"signature": {"tiers": [0, 1, 2, 3]}},
                services=statuses,
                measurements=measurements,
                fleets=fleets,
            )

        # The annual DR simulation, in the second quarter of each year.
        when = q.start + timedelta(days=40)
        if q.q == 2 and when <= now:
            statuses, findings = [], []
            for s in services:
                if not active(s, when):
                    continue
                bad = _unit("sim", s.service, q.id) < 0.02
                # The simulation records an unrecoverable service as gaps; its simulation.unrecoverable finding says which.
                statuses.append(ServiceStatus(service=s.service, tier=s.tier, status="gaps" if bad else "pass"))
                if bad:
                    findings.append(_simulation_finding(s, q.id, "unrecoverable"))
                if _unit("action", s.service, q.id) < 0.05:
                    findings.append(_simulation_finding(s, q.id, "action_item"))
            scenario = "region-loss" if q.year % 2 == 0 else "az-loss"
            completed(
                "dr-simulation",
                _run_id("sim", q.id),
                when,
                {"scenario": scenario},
                services=statuses,
                findings=findings,
            )

    ledger = evidence / "tracker" / "ledger.json"
    ledger.parent.mkdir(parents=True, exist_ok=True)
    ledger.write_text(json.dumps({"next": len(tickets) + 1, "tickets": tickets}, indent=1, sort_keys=True))
    return Estate(
        root=root, evidence=evidence, runbooks=runbooks, services=services, now=now, runs=runs, tickets=len(tickets)
    )
