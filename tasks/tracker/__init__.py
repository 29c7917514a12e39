"""Ticket trackers: one interface, a local ledger (default) and Jira behind it."""

from tasks.tracker.base import (
    RunContext,
    Scope,
    ServiceRouting,
    SyncResult,
    Ticket,
    Tracker,
)
from tasks.tracker.sync import flush_outbox, plan_sync, sync_findings

__all__ = [
    "RunContext",
    "Scope",
    "ServiceRouting",
    "SyncResult",
    "Ticket",
    "Tracker",
    "flush_outbox",
    "plan_sync",
    "sync_findings",
]
