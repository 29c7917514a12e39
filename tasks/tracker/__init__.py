"""Ticket trackers: one interface, a local ledger (default) and Jira behind it."""
from .base import RunContext, Scope, ServiceRouting, SyncResult, Ticket, Tracker
from .sync import flush_outbox, plan_sync, sync_findings

__all__ = ["RunContext", "Scope", "ServiceRouting", "SyncResult", "Ticket", "Tracker", "flush_outbox",
           "plan_sync", "sync_findings"]
