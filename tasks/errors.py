"""The exceptions this tool raises on purpose.

    DrError                      base: the CLI prints its message on one line and exits non-zero
    ├── CatalogError             runbooks or policy invalid; carries every Problem (file, line, field)
    ├── ConfigError              a setting is missing or contradictory
    ├── EvidenceError            the evidence store cannot be written (raised before any AWS mutation)
    ├── AwsError                 an AWS call failed for a non-transient reason (AccessDenied, missing API)
    │   └── CredentialsError     no account the run needs has usable credentials (checked before any work)
    └── TrackerError             the ticket tracker refused an operation
        └── TrackerUnavailable   the tracker is unreachable after retries; pending work goes to the outbox
"""
from __future__ import annotations

from dataclasses import dataclass


class DrError(Exception):
    """Base class: a failure the tool explains in one line."""


@dataclass(frozen=True, order=True)
class Problem:
    """One validation error, located as precisely as the source allows."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class CatalogError(DrError):
    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.field))
        super().__init__(f"{len(self.problems)} problem(s) in the catalog; first: {self.problems[0]}")


class ConfigError(DrError):
    pass


class EvidenceError(DrError):
    pass


class AwsError(DrError):
    pass


class CredentialsError(AwsError):
    pass


class TrackerError(DrError):
    pass


class TrackerUnavailable(TrackerError):
    pass
