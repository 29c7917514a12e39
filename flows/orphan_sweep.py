"""Orphan sweep: delete this tool's restore copies whose expiry passed (after a crash, say)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows._run import now
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.aws.owned import OwnedCopy, is_orphan, list_owned
from tasks.aws.restore import DRIVERS, RestoreSpec
from tasks.catalog import load_catalog
from tasks.restore_run import FLOW as RESTORE_FLOW
from tasks.runlock import RunInProgress, exclusive_run

FLOW_NAME = "orphan-sweep"


def _delete(clients: AwsClients, copy: OwnedCopy) -> None:
    spec = RestoreSpec(kind=copy.kind, mode="", source_id="", source_region=copy.region, region=copy.region,
                       copy_name=copy.identifier, tags=(), account=copy.account)
    DRIVERS[copy.kind][3](clients, spec, copy.identifier)


def sweep_regions(clients: AwsClients, regions, at: datetime, current_run_id: str | None = None,
                  dead_flows: frozenset[str] = frozenset(), dry_run: bool = False) -> list[dict]:
    """Find and (unless dry_run) delete orphans in (account, region) pairs. Deletes pass the interlock."""
    removed = []
    for account, region in regions:
        for copy in list_owned(clients, region, account):
            if not is_orphan(copy, at, current_run_id, dead_flows):
                continue
            entry = {"kind": copy.kind, "id": copy.identifier, "region": region, "account": account,
                     "run_id": copy.run_id, "flow": copy.flow,
                     "expires_at": copy.expires_at.isoformat() if copy.expires_at else None}
            if not dry_run:
                try:
                    _delete(clients, copy)
                    entry["deleted"] = True
                except Exception as exc:  # noqa: BLE001 - reported; the next sweep tries again
                    entry["deleted"] = False
                    entry["error"] = describe_error(exc)
            removed.append(entry)
    return removed


def catalog_regions(runbooks: str, policy: str | None) -> list[tuple[str | None, str]]:
    catalog = load_catalog(runbooks, policy)
    pairs = set()
    for runbook in catalog.runbooks.values():
        for spec in runbook.resources:
            for account in spec.all_accounts():
                for region in spec.all_regions() + list(spec.expect.copy_regions or []) + (
                        [runbook.dr_region] if runbook.dr_region else []):
                    pairs.add((account, region))
    return sorted(pairs, key=lambda p: (p[0] or "", p[1]))


@flow(name=FLOW_NAME, log_prints=True)
def orphan_sweep(
    regions: Annotated[list[str] | None, Field(description="Regions to sweep (default: every region in the catalog).")] = None,
    runbooks: Annotated[str, Field(description="Runbook directory (for regions and accounts).")] = "runbooks",
    policy: Annotated[str | None, Field(description="Tier policy file.")] = None,
    evidence: Annotated[str, Field(description="Evidence directory of the restore tests (to tell crashed runs).")] = "evidence",
    dry_run: Annotated[bool, Field(description="List what would be deleted; delete nothing.")] = False,
) -> dict:
    logger = get_run_logger()
    catalog = load_catalog(runbooks, policy)
    pairs = catalog_regions(runbooks, policy)
    if regions:
        pairs = [(None, region) for region in regions] + [(a, r) for a, r in pairs if a and r in regions]
    clients = AwsClients(accounts=dict(catalog.policy.accounts))
    try:
        # Holding the restore test's run lock proves no restore test is alive: its copies are orphans now.
        with exclusive_run(evidence, RESTORE_FLOW, "orphan-sweep"):
            found = sweep_regions(clients, pairs, now(), dead_flows=frozenset({RESTORE_FLOW}), dry_run=dry_run)
    except RunInProgress:
        logger.info("a restore test is running: only expired copies are swept")
        found = sweep_regions(clients, pairs, now(), dry_run=dry_run)
    for entry in found:
        verb = "would delete" if dry_run else ("deleted" if entry.get("deleted") else "FAILED to delete")
        logger.info("%s %s %s in %s (run %s, expired %s)", verb, entry["kind"], entry["id"], entry["region"],
                    entry["run_id"], entry["expires_at"])
    if not found:
        logger.info("no expired copies in %d region(s)", len(pairs))
    return {"dry_run": dry_run, "copies": found, "regions": [r for _, r in pairs]}
