"""The tracker interface every backend implements, and the values passed across it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from tasks.evidence.findings import Finding


@dataclass
class Ticket:
    key: str
    fingerprint: str
    service: str
    check: str
    resource: str
    severity: str
    status: str  # open | closed
    title: str = ""
    url: str | None = None


@dataclass(frozen=True)
class Scope:
    """What a run assessed. Only tickets inside the scope may be resolved by its absence of findings:
    a review of Tier 1 never resolves a Tier 0 ticket, and an unreadable resource resolves nothing."""

    assessed: frozenset[tuple[str, str]]  # (service, check id prefix)
    # Resources (or "kind:region:" prefixes of fleets) that could not be read this run.
    skipped_resources: frozenset[str] = frozenset()
    # When set, only tickets on these resources may be resolved (a sampled restore test).
    only_resources: frozenset[str] | None = None

    def covers(self, ticket: Ticket) -> bool:
        if self.only_resources is not None and ticket.resource not in self.only_resources:
            return False
        if any(ticket.resource.startswith(skipped) for skipped in self.skipped_resources):
            return False
        return any(ticket.service == service and ticket.check.startswith(prefix) for service, prefix in self.assessed)


@dataclass(frozen=True)
class ServiceRouting:
    """What a remote tracker needs to know about a service: where its tickets go and who gets them."""

    tier: int | None = None
    project: str | None = None
    component: str | None = None
    owner: str | None = None
    champion: str | None = None


@dataclass(frozen=True)
class RunContext:
    flow: str
    run_id: str
    run_url: str | None = None
    evidence_dir: str | None = None
    runbook_files: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceRouting] = field(default_factory=dict)


@dataclass
class SyncResult:
    backend: str
    tickets: dict[str, str] = field(default_factory=dict)  # fingerprint -> ticket key
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    deferred: int = 0  # operations of this run left in the outbox (remote trackers only)
    replayed: int = 0  # operations of earlier runs taken from the outbox and applied
    failed: list[str] = field(default_factory=list)  # operations the tracker refused (not retried)
    error: str | None = None

    def summary(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "created": len(self.created),
            "kept": len(self.kept),
            "escalated": len(self.escalated),
            "reopened": len(self.reopened),
            "resolved": len(self.resolved),
            "deferred": self.deferred,
            "replayed": self.replayed,
            "failed": len(self.failed),
            "error": self.error,
        }


class Tracker(Protocol):
    """Remote backends may also have `outbox` (an Outbox: deferred work survives an outage) and
    `prefetch(fingerprints)` (one batched lookup that later `find` calls are answered from)."""

    name: str

    def session(self) -> AbstractContextManager:
        """Held for a whole sync (the ledger takes its file lock here)."""

    def open_tickets(self) -> dict[str, Ticket]:
        """Every open ticket this tool filed, by fingerprint (one paged search on remote backends)."""

    def find(self, fingerprint: str) -> Ticket | None:
        """The newest ticket with this fingerprint in any status (guards creates against duplicates)."""

    def create(self, finding: Finding, context: RunContext) -> Ticket: ...

    def escalate(self, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket: ...

    def reopen(self, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket: ...

    def resolve(self, ticket: Ticket, context: RunContext) -> Ticket: ...
