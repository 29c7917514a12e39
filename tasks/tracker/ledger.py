"""The local ticket ledger: a JSON file of tickets keyed DR-1, DR-2, ... with their history.

It is the default tracker and the record the dashboard reads when no Jira is configured. Writes are
atomic and serialised with a file lock so two runs at once cannot lose each other's tickets.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.errors import StateCorrupt
from tasks.evidence.files import write_atomic
from tasks.evidence.findings import Finding
from tasks.evidence.records import now_text
from tasks.tracker.base import RunContext, Ticket

LEDGER_FILE = "ledger.json"
READ_FIELDS = ("key", "service", "severity", "status", "opened_at")  # what the dashboard reads
SYNC_FIELDS = READ_FIELDS + ("fingerprint",)  # and what a sync matches on


def check_ledger(data: object, fields: tuple[str, ...] = SYNC_FIELDS) -> dict:
    """The ledger's shape, checked before use: a truncated or hand-broken file is never read as empty."""
    if not isinstance(data, dict) or not isinstance(data.get("next"), int) or not isinstance(data.get("tickets"), dict):
        raise ValueError("expected an object with an integer 'next' and a 'tickets' object")
    for key, ticket in data["tickets"].items():
        if not isinstance(ticket, dict) or any(f not in ticket for f in fields):
            raise ValueError(f"ticket {key!r} lacks one of {', '.join(fields)}")
    return data


class LedgerTracker:
    name = "ledger"

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.path = self.directory / LEDGER_FILE
        self._data: dict | None = None
        self._dirty = False
        self._lock_handle = None

    @contextmanager
    def session(self):
        """Hold the ledger lock for a whole sync and write once at its end, under the lock, whatever ended it.
        (Writing the whole file on every change made a first audit of a large fleet quadratic.) Changes are
        local, so a process killed mid-sync loses only that sync, which the next run repeats by fingerprint."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".ledger.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._data = self._read()
                self._dirty = False
                yield self
            finally:
                try:
                    if self._dirty:
                        self._write()
                finally:
                    self._data, self._dirty = None, False
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict:
        if not self.path.exists():
            return {"next": 1, "tickets": {}}
        try:
            return check_ledger(json.loads(self.path.read_text()))
        except (OSError, ValueError) as exc:
            raise StateCorrupt(
                f"ledger {self.path} is unreadable: {exc}; fix or restore it (nothing was changed)"
            ) from None

    def _write(self) -> None:
        write_atomic(self.path, json.dumps(self._data, indent=1, sort_keys=True).encode())

    @property
    def data(self) -> dict:
        return self._data if self._data is not None else self._read()

    @contextmanager
    def _writing(self) -> Iterator[dict]:
        """The ledger's data for a change: the session's, or a session of its own for one call."""
        if self._data is not None:
            yield self._data
            return
        with self.session():
            assert self._data is not None
            yield self._data

    def all_tickets(self) -> list[dict]:
        return list(self.data["tickets"].values())

    # --- Tracker interface ---------------------------------------------------------------------

    def open_tickets(self) -> dict[str, Ticket]:
        return {t["fingerprint"]: _ticket(t) for t in self.data["tickets"].values() if t["status"] == "open"}

    def find(self, fingerprint: str) -> Ticket | None:
        matches = [t for t in self.data["tickets"].values() if t["fingerprint"] == fingerprint]
        if not matches:
            return None
        return _ticket(max(matches, key=lambda t: int(t["key"].split("-")[1])))

    def create(self, finding: Finding, context: RunContext) -> Ticket:
        with self._writing() as data:
            return self._create(data, finding, context)

    def _create(self, data: dict, finding: Finding, context: RunContext) -> Ticket:
        key = f"DR-{data['next']}"
        data["next"] += 1
        data["tickets"][key] = {
            "key": key,
            "fingerprint": finding.fingerprint,
            "service": finding.service,
            "tier": finding.tier,
            "check": finding.check,
            "resource": finding.resource,
            "severity": finding.severity,
            "title": finding.title,
            "detail": finding.detail,
            "remediation": finding.remediation,
            "status": "open",
            "opened_at": now_text(),
            "closed_at": None,
            "history": [self._event("opened", context, finding.detail)],
        }
        self._dirty = True
        return _ticket(data["tickets"][key])

    def escalate(self, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket:
        with self._writing() as data:
            return self._escalate(data, ticket, finding, context)

    def _escalate(self, data: dict, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket:
        entry = data["tickets"][ticket.key]
        entry["history"].append(
            self._event("escalated", context, f"severity {entry['severity']} -> {finding.severity}: {finding.detail}")
        )
        entry["severity"] = finding.severity
        self._dirty = True
        return _ticket(entry)

    def reopen(self, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket:
        with self._writing() as data:
            return self._reopen(data, ticket, finding, context)

    def _reopen(self, data: dict, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket:
        entry = data["tickets"][ticket.key]
        entry.update(status="open", closed_at=None, severity=finding.severity, detail=finding.detail)
        entry["history"].append(self._event("reopened", context, finding.detail))
        self._dirty = True
        return _ticket(entry)

    def resolve(self, ticket: Ticket, context: RunContext) -> Ticket:
        with self._writing() as data:
            return self._resolve(data, ticket, context)

    def _resolve(self, data: dict, ticket: Ticket, context: RunContext) -> Ticket:
        entry = data["tickets"][ticket.key]
        entry.update(status="closed", closed_at=now_text())
        entry["history"].append(self._event("resolved", context, "gap no longer present"))
        self._dirty = True
        return _ticket(entry)

    @staticmethod
    def _event(event: str, context: RunContext, detail: str) -> dict:
        return {
            "at": now_text(),
            "event": event,
            "flow": context.flow,
            "run_id": context.run_id,
            "evidence": context.evidence_dir,
            "detail": detail,
        }


def _ticket(entry: dict) -> Ticket:
    return Ticket(
        key=entry["key"],
        fingerprint=entry["fingerprint"],
        service=entry["service"],
        check=entry["check"],
        resource=entry["resource"],
        severity=entry["severity"],
        status=entry["status"],
        title=entry["title"],
    )
