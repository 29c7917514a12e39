"""Findings: what a check found, with a fingerprint that stays the same from run to run.

The fingerprint depends only on (service, resource, check, subject): never on time or wording, so the
same gap found next quarter maps onto the same ticket.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

SEVERITIES = ("low", "medium", "high", "critical")
SERVICE_LEVEL = "runbook"  # the `resource` of findings about the runbook itself


@dataclass(frozen=True)
class Check:
    id: str
    severity: str  # severity for a Tier 1 service; other tiers shift it (see severity_for)
    title: str
    remediation: str


_CHECKS = [
    Check("runbook.invalid", "high", "Runbook does not validate",
          "Fix the runbook so `dr validate` passes; until then nothing else about the service is checked."),
    Check("runbook.owner_missing", "high", "No service owner named",
          "Name the service owner accountable for RTO/RPO in `owner`."),
    Check("runbook.champion_missing", "medium", "No DR champion named",
          "Name the team's DR champion in `dr_champion`."),
    Check("runbook.procedure_missing", "high", "No restore procedure documented",
          "Write the ordered restore steps in `procedure`."),
    Check("runbook.validation_missing", "medium", "No validation steps for restored copies",
          "Add `validation` steps (at least a status check) so restore tests can prove the copy works."),
    Check("runbook.stale", "medium", "Runbook review overdue",
          "Review the runbook with the owner and update `documentation.last_reviewed`."),
    Check("runbook.resource_not_found", "high", "Documented resource not found in AWS",
          "Correct the resource id/selector in the runbook, or restore the missing resource."),
    Check("runbook.drift", "medium", "Runbook does not match the live configuration",
          "Either change the live configuration to what the runbook promises or correct the runbook."),
    Check("runbook.not_assessed", "high", "Resource could not be assessed",
          "Grant the tool read access (see docs/safety.md) or fix the account's role mapping."),
]
CHECKS: dict[str, Check] = {check.id: check for check in _CHECKS}


def register(*checks: Check) -> None:
    """Later flows (restore test, audit, simulation) add their own vocabulary here."""
    for check in checks:
        CHECKS[check.id] = check


def severity_for(check_id: str, tier: int | None) -> str:
    """Tier 0 is one step more severe than Tier 1; Tiers 2 and 3 one and two steps less."""
    base = SEVERITIES.index(CHECKS[check_id].severity)
    shift = {0: 1, 1: 0, 2: -1, 3: -2}.get(tier if tier is not None else 1, 0)
    return SEVERITIES[max(0, min(len(SEVERITIES) - 1, base + shift))]


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def fingerprint(service: str, resource: str, check: str, subject: str = "") -> str:
    material = "\x1f".join((service, resource, check, subject))
    return hashlib.sha256(material.encode()).hexdigest()[:16]


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fingerprint: str
    service: str
    tier: int | None
    resource: str
    check: str
    subject: str = ""
    severity: str
    title: str
    detail: str
    remediation: str
    evidence: dict[str, object] = {}
    ticket: str | None = None


def make_finding(check_id: str, *, service: str, tier: int | None, detail: str,
                 resource: str = SERVICE_LEVEL, subject: str = "", title: str | None = None,
                 evidence: dict[str, object] | None = None) -> Finding:
    check = CHECKS[check_id]
    return Finding(
        fingerprint=fingerprint(service, resource, check_id, subject),
        service=service, tier=tier, resource=resource, check=check_id, subject=subject,
        severity=severity_for(check_id, tier),
        title=title or (f"{check.title}: {subject}" if subject else check.title),
        detail=detail, remediation=check.remediation, evidence=evidence or {},
    )
