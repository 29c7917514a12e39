"""What was observed live for each resource a runbook documents (plain data, no AWS types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.catalog.runbook import Resource, resource_key


@dataclass
class LiveResource:
    kind: str
    region: str
    id: str
    account: str | None = None
    # Normalised to the names of the runbook's `expect` block: multi_az, encrypted,
    # backup_retention_days, copy_regions, versioning, replication_to, pitr, snapshot_age_seconds...
    attrs: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return resource_key(self.kind, self.region, self.id, self.account)


@dataclass
class Observation:
    """The live side of one `resources:` entry: its members (one for an id, many for a fleet)."""

    spec: Resource
    index: int
    members: list[LiveResource] = field(default_factory=list)
    # Regions/accounts that could not be read (AccessDenied, missing API): never reported as passing.
    errors: list[str] = field(default_factory=list)
    unread: list[tuple[str | None, str]] = field(default_factory=list)  # the (account, region) of each error

    @property
    def assessed(self) -> bool:
        return not self.errors

    def unreadable(self) -> set[str]:
        """Resource keys (key prefixes for fleets) whose tickets this run must not resolve."""
        if self.errors and not self.unread:
            return {self.spec.label()}  # the whole entry failed, not one account or region
        return {
            resource_key(self.spec.kind.value, region, self.spec.id or "", account) for account, region in self.unread
        }
