"""Findings: what a check found, with a fingerprint that stays the same from run to run.

The fingerprint depends only on (service, resource, check, subject): never on time or wording, so the
same gap found next quarter maps onto the same ticket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

SEVERITIES = ("low", "medium", "high", "critical")
SERVICE_LEVEL = "runbook"  # the `resource` of findings about the runbook itself
PROGRAM = "dr-program"  # the service id of the programme's own tickets (vault gaps, the simulation's action items)


@dataclass(frozen=True)
class Check:
    id: str
    severity: str  # severity for a Tier 1 service; other tiers shift it (see severity_for)
    title: str
    remediation: str


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


_TIER_SHIFT = {0: 1, 1: 0, 2: -1, 3: -2}


class CheckSet(Mapping[str, Check]):
    """A vocabulary of checks. Each rules module exports its own (`CHECKS`); tasks/rules/checks.py joins
    them explicitly, so what a check id means never depends on which modules happen to be imported."""

    def __init__(self, *checks: Check) -> None:
        self._checks: dict[str, Check] = {}
        for check in checks:
            if check.id in self._checks:
                raise ValueError(f"check {check.id!r} is defined twice")
            if check.severity not in SEVERITIES:
                raise ValueError(f"check {check.id!r}: severity {check.severity!r} is not one of {SEVERITIES}")
            self._checks[check.id] = check

    def __getitem__(self, check_id: str) -> Check:
        try:
            return self._checks[check_id]
        except KeyError:
            raise KeyError(f"unknown check {check_id!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._checks)

    def __len__(self) -> int:
        return len(self._checks)

    def union(self, *others: CheckSet) -> CheckSet:
        return CheckSet(*self.values(), *(check for other in others for check in other.values()))

    def severity_for(self, check_id: str, tier: int | None) -> str:
        """Tier 0 is one step more severe than Tier 1; Tiers 2 and 3 one and two steps less."""
        base = SEVERITIES.index(self[check_id].severity)
        shift = _TIER_SHIFT.get(tier if tier is not None else 1, 0)
        return SEVERITIES[max(0, min(len(SEVERITIES) - 1, base + shift))]

    def make(
        self,
        check_id: str,
        *,
        service: str,
        tier: int | None,
        detail: str,
        resource: str = SERVICE_LEVEL,
        subject: str = "",
        title: str | None = None,
        evidence: dict[str, object] | None = None,
    ) -> Finding:
        check = self[check_id]
        return Finding(
            fingerprint=fingerprint(service, resource, check_id, subject),
            service=service,
            tier=tier,
            resource=resource,
            check=check_id,
            subject=subject,
            severity=self.severity_for(check_id, tier),
            title=title or (f"{check.title}: {subject}" if subject else check.title),
            detail=detail,
            remediation=check.remediation,
            evidence=evidence or {},
        )
