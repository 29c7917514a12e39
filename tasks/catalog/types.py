"""TODO docstring."""

from __future__ import annotations

from dataclasses import dataclass, field

from tasks.catalog.policy import Policy
from tasks.catalog.runbook import Runbook
from tasks.errors import Problem


@dataclass
class InvalidRunbook:
    file: str
    service: str
    tier: int | None
    problems: list[Problem]


@dataclass
class Catalog:
    policy: Policy
    runbooks: dict[str, Runbook] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    invalid: list[InvalidRunbook] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return sorted(p for bad in self.invalid for p in bad.problems)
