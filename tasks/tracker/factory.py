"""Choose a tracker backend by name (`--tracker ledger|jira`)."""
from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .ledger import LedgerTracker

TRACKERS = ("ledger",)


def ledger_dir(evidence: str | Path) -> Path:
    return Path(evidence) / "tracker"


def open_tracker(name: str, evidence: str | Path):
    if name == "ledger":
        if str(evidence).startswith("s3://"):
            raise ConfigError("the local ledger needs a local evidence directory")
        return LedgerTracker(ledger_dir(evidence))
    raise ConfigError(f"unknown tracker {name!r} (choose from: {', '.join(TRACKERS)})")
