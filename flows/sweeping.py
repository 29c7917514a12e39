"""Finding and deleting this tool's expired or orphaned copies, without Prefect: the sweep flow, the restore
test's start-up sweep and `dr sweep --dry-run` share it."""
from __future__ import annotations

from datetime import datetime, timezone

from tasks.actions.restore import FLOW as RESTORE_FLOW
from tasks.aws.clients import AwsClients
from tasks.aws.owned import sweep_regions
from tasks.evidence.runlock import RunInProgress, exclusive_run


def catalog_regions(catalog) -> list[tuple[str | None, str]]:
    pairs = set()
    for runbook in catalog.runbooks.values():
        for spec in runbook.resources:
            for account in spec.all_accounts():
                for region in spec.all_regions() + list(spec.expect.copy_regions or []) + (
                        [runbook.dr_region] if runbook.dr_region else []):
                    pairs.add((account, region))
    return sorted(pairs, key=lambda p: (p[0] or "", p[1]))


def sweep(clients: AwsClients, pairs, evidence: str, dry_run: bool, logger) -> dict:
    at = datetime.now(timezone.utc)
    try:
        # Holding the restore test's run lock proves no restore test is alive: its copies are orphans now.
        with exclusive_run(evidence, RESTORE_FLOW, "orphan-sweep"):
            found = sweep_regions(clients, pairs, at, dead_flows=frozenset({RESTORE_FLOW}), dry_run=dry_run)
    except RunInProgress:
        logger.info("a restore test is running: only expired copies are swept")
        found = sweep_regions(clients, pairs, at, dry_run=dry_run)
    return {"dry_run": dry_run, "copies": found, "regions": [r for _, r in pairs]}


def sweep_pairs(catalog, regions: list[str] | None) -> list[tuple[str | None, str]]:
    """The (account, region) pairs to sweep: the catalog's, or only the regions asked for."""
    pairs = catalog_regions(catalog)
    if regions:
        pairs = [(None, region) for region in regions] + [(a, r) for a, r in pairs if a and r in regions]
    return pairs
