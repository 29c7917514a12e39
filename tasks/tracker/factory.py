"""Choose a tracker backend by name (`--tracker ledger|jira`)."""

from __future__ import annotations

from pathlib import Path

from tasks.catalog.policy import Policy
from tasks.errors import ConfigError
from tasks.tracker.ledger import LedgerTracker

TRACKERS = ("ledger", "jira")


def ledger_dir(evidence: str | Path) -> Path:
    return Path(evidence) / "tracker"


def check_tracker(name: str, evidence: str | Path) -> None:
    """Refuse, before anything runs, a tracker that cannot keep its tickets where the evidence goes."""
    if name not in TRACKERS:
        raise ConfigError(f"unknown tracker {name!r} (choose from: {', '.join(TRACKERS)})")
    # The ledger is a local file: with S3 evidence its tickets would land on whichever host ran the flow.
    if name == "ledger" and str(evidence).startswith("s3://"):
        raise ConfigError(
            f"the ledger tracker keeps tickets in a local file and cannot use the evidence store "
            f"{evidence}; use a local --evidence directory or --tracker jira"
        )


def check_state(name: str, evidence: str | Path) -> None:
    """Read the tracker's own state (ledger or outbox) before any work: a file that does not parse or
    validate stops the run (StateCorrupt, exit 2) naming it, with nothing changed."""
    if name == "ledger":
        LedgerTracker(ledger_dir(evidence)).all_tickets()
    else:
        from tasks.evidence.store import open_store
        from tasks.tracker.outbox import Outbox

        Outbox(open_store(evidence)).load()


def open_tracker(name: str, evidence: str | Path, policy: Policy | None = None):
    check_tracker(name, evidence)
    if name == "ledger":
        return LedgerTracker(ledger_dir(evidence))
    # Jira. Imported here: only Jira runs pay for the jira library, and settings fail fast (ConfigError)
    # before any request; the client itself is built on first use.
    from tasks.evidence.store import open_store
    from tasks.tracker.jira_config import load_settings
    from tasks.tracker.jira_tracker import JiraTracker
    from tasks.tracker.outbox import Outbox

    return JiraTracker(load_settings(policy), outbox=Outbox(open_store(evidence)))
