"""Choose a tracker backend by name (`--tracker ledger|jira`)."""
from __future__ import annotations

from pathlib import Path

from tasks.catalog.policy import Policy
from tasks.errors import ConfigError
from tasks.tracker.ledger import LedgerTracker

TRACKERS = ("ledger", "jira")


def ledger_dir(evidence: str | Path) -> Path:
    return Path(evidence) / "tracker"


def open_tracker(name: str, evidence: str | Path, policy: Policy | None = None):
    if name == "ledger":
        if str(evidence).startswith("s3://"):
            raise ConfigError("the local ledger needs a local evidence directory")
        return LedgerTracker(ledger_dir(evidence))
    if name == "jira":
        # Imported here: only Jira runs pay for the jira library, and settings fail fast (ConfigError)
        # before any request; the client itself is built on first use.
        from tasks.evidence.store import open_store
        from tasks.tracker.jira_config import load_settings
        from tasks.tracker.jira_tracker import JiraTracker
        from tasks.tracker.outbox import Outbox

        return JiraTracker(load_settings(policy), outbox=Outbox(open_store(evidence)))
    raise ConfigError(f"unknown tracker {name!r} (choose from: {', '.join(TRACKERS)})")
