"""DR tickets as the dashboard reads them: one small record per ticket, from whichever tracker keeps them.

Readers are registered by tracker name. The local ledger is read from the evidence store
(<evidence>/tracker/ledger.json); Jira is asked with one paged search for this tool's label (open and closed
tickets), configured as the review's sync is (the policy's jira section and its environment variables).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson  # Prefect's own dependency; a 16,000-ticket ledger parses in half json's time

from tasks.catalog.policy import Policy
from tasks.errors import ConfigError, StateCorrupt, TrackerError, TrackerUnavailable
from tasks.evidence.gc_pause import paused_gc
from tasks.evidence.records import TicketRecord, utc
from tasks.evidence.store import EvidenceStore, open_store
from tasks.tracker.ledger import LEDGER_FILE, READ_FIELDS, check_ledger


def ledger_tickets(data: dict) -> list[TicketRecord]:
    """The ledger's JSON (tasks/tracker/ledger.py) as ticket records; pure."""
    tickets = []
    for entry in (data or {}).get("tickets", {}).values():
        tickets.append(
            TicketRecord(
                key=entry["key"],
                service=entry["service"],
                tier=entry.get("tier"),
                severity=entry["severity"],
                status=entry["status"],
                opened_at=utc(entry["opened_at"]),
                closed_at=utc(entry.get("closed_at")),
                title=entry.get("title", ""),
                check=entry.get("check", ""),
                resource=entry.get("resource", ""),
            )
        )
    return tickets


def read_ledger(store: EvidenceStore) -> list[TicketRecord]:
    raw = store.read_bytes(f"tracker/{LEDGER_FILE}")
    if raw is None:
        return []  # no run has filed a ticket yet
    where = f"{store.location}/tracker/{LEDGER_FILE}"
    try:
        with paused_gc():
            return ledger_tickets(check_ledger(orjson.loads(raw), READ_FIELDS))
    except (ValueError, KeyError, TypeError) as exc:
        raise StateCorrupt(f"ledger {where} is unreadable: {exc}") from None


def read_jira(evidence: str, policy: Policy | None = None) -> list[TicketRecord]:
    from tasks.tracker.factory import open_tracker  # the jira library loads only when Jira is read

    try:
        return open_tracker("jira", evidence, policy).history()
    except TrackerUnavailable as exc:
        raise TrackerError(f"cannot read the dashboard's tickets: {exc}") from None


# tracker name -> (evidence location, policy or None) -> every ticket, open and closed
TICKET_READERS: dict[str, Callable[[str, Policy | None], list[TicketRecord]]] = {
    "ledger": lambda evidence, policy=None: read_ledger(open_store(evidence)),
    "jira": read_jira,
}


def read_tickets(tracker: str, evidence: str, policy: Policy | None = None) -> list[TicketRecord]:
    reader = TICKET_READERS.get(tracker)
    if reader is None:
        raise ConfigError(
            f"cannot read tickets from tracker {tracker!r} (readers: {', '.join(sorted(TICKET_READERS))})"
        )
    return reader(evidence, policy)
