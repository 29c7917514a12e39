"""The exceptions this tool raises on purpose.

    DrError                      base: the CLI prints its message on one line; exit 1 (the run failed)
    ├── InputError               exit 2: bad input, found before any work
    │   ├── CatalogError         runbooks or policy invalid; carries every Problem (file, line, field)
    │   ├── ConfigError          a setting is missing or contradictory
    │   └── CredentialsError     no account the run needs has usable credentials (checked before any work)
    ├── EvidenceError            evidence could not be written or read mid-run
    │   └── EvidenceUnusable     exit 2: the store was unusable when the run began (no work was done)
    ├── AwsError                 an AWS call failed for a non-transient reason (AccessDenied, missing API)
    └── TrackerError             the ticket tracker refused an operation
        ├── TrackerUnavailable   the tracker is unreachable after retries; pending work goes to the outbox
        └── StateCorrupt         exit 2: the ledger or outbox does not parse or validate (never read as empty)

`exit_code` on each class is what `dr` exits with (docs: README "Exit codes").
"""

from __future__ import annotations

from dataclasses import dataclass


class DrError(Exception):
    """Base class: a failure the tool explains in one line. Raised mid-run, the run failed: exit 1."""

    exit_code = 1


class InputError(DrError):
    """Bad input (a file, a setting, an option, missing credentials): nothing was done. Exit 2."""

    exit_code = 2


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


class CatalogError(InputError):
    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.field))
        super().__init__(f"{len(self.problems)} problem(s) in the catalog; first: {self.problems[0]}")


class ConfigError(InputError):
    pass


class EvidenceError(DrError):
    pass


class EvidenceUnusable(EvidenceError, InputError):
    exit_code = 2


class AwsError(DrError):
    pass


class CredentialsError(AwsError, InputError):
    exit_code = 2


class TrackerError(DrError):
    pass


class TrackerUnavailable(TrackerError):
    pass


class StateCorrupt(TrackerError, InputError):
    """The ledger or outbox file exists but does not parse or validate: stop, naming it, changing nothing."""

    exit_code = 2
