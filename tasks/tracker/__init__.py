"""Ticket trackers: one interface, a local ledger (default) and Jira behind it."""
from .base import RunContext, Scope, SyncResult, Ticket, Tracker
from .sync import plan_sync, sync_findings

__all__ = ["RunContext", "Scope", "SyncResult", "Ticket", "Tracker", "plan_sync", "sync_findings"]
