"""The durable outbox: tracker work a run could not do because the tracker was unreachable.

It lives in the evidence store (`tracker/jira-outbox.json`). Entries record intent, not requests, so
replaying one converges whatever part of it already reached Jira:

    {"kind": "open", "fingerprint", "finding", "context"}     the gap exists: ticket open (create/reopen/escalate)
    {"kind": "resolved", "fingerprint", "ticket", "context"}  the gap is gone: close the open ticket
    {"kind": "sync", "findings", "scope", "context"}          nothing could be planned: the whole run's sync

A later run that assessed the same fingerprints supersedes older entries: its evidence is newer.
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from tasks.errors import StateCorrupt
from tasks.evidence.findings import Finding
from tasks.evidence.records import now_text
from tasks.evidence.store import EvidenceStore
from tasks.tracker.base import RunContext, Scope, ServiceRouting, Ticket

OUTBOX_PATH = "tracker/jira-outbox.json"


class Outbox:
    def __init__(self, store: EvidenceStore, path: str = OUTBOX_PATH):
        self.store = store
        self.path = path

    def load(self) -> list[dict]:
        raw = self.store.read_bytes(self.path)
        if raw is None:
            return []
        try:
            entries = json.loads(raw)["entries"]
            # Each entry is checked too: a truncated or hand-edited file is never read as empty.
            if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("kind"), str) for e in entries
            ):
                raise ValueError("expected 'entries' to be a list of objects with a 'kind'")
            return entries
        except (ValueError, KeyError, TypeError) as exc:
            raise StateCorrupt(
                f"outbox {self.store.location}/{self.path} is unreadable: {exc}; fix or restore "
                f"it (nothing was changed)"
            ) from None

    def save(self, entries: list[dict]) -> None:
        self.store.write_bytes(self.path, json.dumps({"version": 1, "entries": entries}, indent=1).encode())

    @contextmanager
    def locked(self):
        """Serialise syncs sharing this evidence store (the check-then-create of one fingerprint too)."""
        root = getattr(self.store, "root", None)
        if root is None:  # a remote store has no file lock; runs are serialised by deployment instead
            yield self
            return
        lock = Path(root) / Path(self.path).parent / ".outbox.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


# --- pure helpers ---------------------------------------------------------------------------------


def context_to_dict(context: RunContext) -> dict:
    return asdict(context)


def context_from_dict(data: dict) -> RunContext:
    services = {name: ServiceRouting(**routing) for name, routing in (data.get("services") or {}).items()}
    return RunContext(**{**data, "services": services})


def scope_to_dict(scope: Scope) -> dict:
    data: dict = {"assessed": sorted(map(list, scope.assessed)), "skipped_resources": sorted(scope.skipped_resources)}
    if scope.only_resources is not None:  # a sampled run: it may resolve tickets only on what it tested
        data["only_resources"] = sorted(scope.only_resources)
    return data


def scope_from_dict(data: dict) -> Scope:
    only = data.get("only_resources")
    return Scope(
        assessed=frozenset(tuple(pair) for pair in data["assessed"]),
        skipped_resources=frozenset(data.get("skipped_resources", [])),
        only_resources=frozenset(only) if only is not None else None,
    )


def open_entry(finding: Finding, context: RunContext) -> dict:
    return {
        "kind": "open",
        "fingerprint": finding.fingerprint,
        "finding": finding.model_dump(mode="json"),
        "context": context_to_dict(context),
        "queued_at": now_text(),
    }


def resolved_entry(ticket: Ticket, context: RunContext) -> dict:
    return {
        "kind": "resolved",
        "fingerprint": ticket.fingerprint,
        "ticket": asdict(ticket),
        "context": context_to_dict(context),
        "queued_at": now_text(),
    }


def sync_entry(findings: list[Finding], scope: Scope, context: RunContext) -> dict:
    return {
        "kind": "sync",
        "findings": [f.model_dump(mode="json") for f in findings],
        "scope": scope_to_dict(scope),
        "context": context_to_dict(context),
        "queued_at": now_text(),
    }


def entries_from_ops(ops: list, context: RunContext) -> list[dict]:
    """The not-yet-applied operations of a plan, as intents (a `keep` needs no write)."""
    entries = []
    for op in ops:
        if op.action in ("create", "escalate"):
            entries.append(open_entry(op.finding, context))
        elif op.action == "resolve":
            entries.append(resolved_entry(op.ticket, context))
    return entries


def pending_count(entries: list[dict]) -> int:
    return sum(len({f["fingerprint"] for f in e["findings"]}) if e["kind"] == "sync" else 1 for e in entries)


def _covered(scope: Scope, service: str, check: str, resource: str) -> bool:
    return scope.covers(
        Ticket(key="", fingerprint="", service=service, check=check, resource=resource, severity="low", status="open")
    )


def supersede(entries: list[dict], fingerprints: set[str], scope: Scope) -> list[dict]:
    """Drop what a newer run decides itself: its findings, and everything its scope assessed."""
    kept = []
    for entry in entries:
        if entry["kind"] == "sync":
            old = scope_from_dict(entry["scope"])
            findings = [
                f
                for f in entry["findings"]
                if f["fingerprint"] not in fingerprints and not _covered(scope, f["service"], f["check"], f["resource"])
            ]
            assessed = old.assessed - scope.assessed
            if assessed or findings:
                narrowed = Scope(
                    assessed=assessed, skipped_resources=old.skipped_resources, only_resources=old.only_resources
                )
                kept.append({**entry, "findings": findings, "scope": scope_to_dict(narrowed)})
            continue
        item = entry["finding"] if entry["kind"] == "open" else entry["ticket"]
        if entry["fingerprint"] in fingerprints or _covered(scope, item["service"], item["check"], item["resource"]):
            continue
        kept.append(entry)
    return kept
