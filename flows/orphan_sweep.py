"""Orphan sweep: delete this tool's restore copies whose expiry passed (after a crash, say)."""

from __future__ import annotations

from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows.sweeping import sweep, sweep_pairs
from tasks.aws.clients import AwsClients
from tasks.aws.identity import require_some, resolve
from tasks.catalog.load import load_catalog

FLOW_NAME = "orphan-sweep"


@flow(name=FLOW_NAME, log_prints=True)
def orphan_sweep(
    regions: Annotated[
        list[str] | None, Field(description="Regions to sweep (default: every region in the catalog).")
    ] = None,
    runbooks: Annotated[str, Field(description="Runbook directory (for regions and accounts).")] = "runbooks",
    policy: Annotated[str | None, Field(description="Tier policy file.")] = None,
    evidence: Annotated[
        str, Field(description="Evidence directory of the restore tests (to tell crashed runs).")
    ] = "evidence",
    dry_run: Annotated[bool, Field(description="List what would be deleted; delete nothing.")] = False,
) -> dict:
    logger = get_run_logger()
    catalog = load_catalog(runbooks, policy)
    pairs = sweep_pairs(catalog, regions)
    clients = AwsClients(accounts=dict(catalog.policy.accounts))
    require_some(resolve(clients, {account for account, _ in pairs}))
    result = sweep(clients, pairs, evidence, dry_run, logger)
    found = result["copies"]
    for entry in found:
        verb = "would delete" if dry_run else ("deleted" if entry.get("deleted") else "FAILED to delete")
        logger.info(
            "%s %s %s in %s (run %s, expired %s)",
            verb,
            entry["kind"],
            entry["id"],
            entry["region"],
            entry["run_id"],
            entry["expires_at"],
        )
    if not found:
        logger.info("no expired copies in %d region(s)", len(pairs))
    return result
