"""Finding and deleting this tool's expired or orphaned copies: the sweep flow, the restore test's start-up
sweep and `dr sweep --dry-run` share it.

A copy is deleted before its expiry only when its run is known to be over: the run lock it recorded is held
here (same host, same evidence directory), or the Prefect API says its flow run is in a final state. When
neither can tell (another host, an `s3://` store, no Prefect API), only expired copies go.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

from flows._scale import PART_SUFFIX
from tasks.actions.restore import FLOW as RESTORE_FLOW
from tasks.aws.clients import AwsClients
from tasks.aws.owned import KnownRuns, OwnedCopy, RunLiveness, sweep_regions
from tasks.evidence.records import RunRecord
from tasks.evidence.runlock import RunInProgress, exclusive_run
from tasks.evidence.store import load_history, open_store
from tasks.rules.restore_plan import run_prefix


def catalog_regions(catalog) -> list[tuple[str | None, str]]:
    pairs = set()
    for runbook in catalog.runbooks.values():
        for spec in runbook.resources:
            for account in spec.all_accounts():
                for region in (
                    spec.all_regions()
                    + list(spec.expect.copy_regions or [])
                    + ([runbook.dr_region] if runbook.dr_region else [])
                ):
                    pairs.add((account, region))
    return sorted(pairs, key=lambda p: (p[0] or "", p[1]))


def prefect_run_alive(run_id: str) -> bool | None:
    """Whether Prefect knows this flow run as still going (True), over (False), or cannot say (None).
    Only asked when an API is configured: an ephemeral server would know no other process's runs."""
    try:
        flow_run_id = uuid.UUID(run_id)
    except ValueError:
        return None  # not a Prefect flow run id (a run outside Prefect)
    from prefect.settings import PREFECT_API_URL

    if not (PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL")):
        return None
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
    except ObjectNotFound:
        return None  # another server's run, or one this API never saw
    except Exception:
        return None
    if state is None:
        return None
    return not state.is_final()


def liveness(
    held_locks: frozenset[str] = frozenset(), ask_prefect: bool = True, alive=prefect_run_alive
) -> RunLiveness:
    """A copy's run is over if it recorded a lock held here; otherwise ask Prefect (once per run)."""
    cache: dict[str, bool | None] = {}

    def check(copy: OwnedCopy) -> bool | None:
        if copy.lock and copy.lock in held_locks:
            return False
        if not ask_prefect or not copy.run_id:
            return None
        if copy.run_id not in cache:
            cache[copy.run_id] = alive(copy.run_id)
        return cache[copy.run_id]

    return check


def known_runs(records: list[RunRecord]) -> KnownRuns:
    """The restore tests an evidence store recorded, by the run prefix their copies' names carry, with the run
    lock each held (recorded as details.lock): how a copy that never got its tags is tied to its run."""
    runs: dict[str, tuple[str, str]] = {}
    shared: set[str] = set()
    for record in records:
        prefix = run_prefix(record.run_id)
        if prefix in runs and runs[prefix][0] != record.run_id:
            shared.add(prefix)  # two runs, one prefix: neither can be told from a copy's name
        runs[prefix] = (record.run_id, str(record.details.get("lock") or ""))
    return {prefix: run for prefix, run in runs.items() if prefix not in shared}


def recorded_runs(evidence: str, logger) -> KnownRuns:
    """known_runs of the restore tests (and their fanned-out children) in an evidence store."""
    try:
        store = open_store(evidence)
        records = load_history(store, RESTORE_FLOW) + load_history(store, RESTORE_FLOW + PART_SUFFIX)
    except Exception as exc:  # the sweep goes on; untagged copies then stay unidentified (kept, reported)
        logger.warning("cannot read the restore tests recorded in %s: %s", evidence, exc)
        return {}
    return known_runs(records)


def sweep(clients: AwsClients, pairs, evidence: str, dry_run: bool, logger) -> dict:
    at = datetime.now(timezone.utc)
    kept: list[dict] = []
    runs = recorded_runs(evidence, logger)
    try:
        # Holding the restore test's run lock proves dead only the runs that held this same lock.
        with exclusive_run(evidence, RESTORE_FLOW, "orphan-sweep") as lock:
            held = frozenset({lock}) if lock else frozenset()
            found = sweep_regions(
                clients, pairs, at, liveness=liveness(held), dry_run=dry_run, kept=kept, known_runs=runs
            )
    except RunInProgress:
        logger.info("a restore test is running here: its copies are kept")
        found = sweep_regions(clients, pairs, at, liveness=liveness(), dry_run=dry_run, kept=kept, known_runs=runs)
    for entry in kept:
        logger.warning("kept %s %s in %s: %s", entry["kind"], entry["id"], entry["region"], entry["kept"])
    return {"dry_run": dry_run, "copies": found, "kept": kept, "regions": [r for _, r in pairs]}


def sweep_pairs(catalog, regions: list[str] | None) -> list[tuple[str | None, str]]:
    """The (account, region) pairs to sweep: the catalog's, or only the regions asked for."""
    pairs = catalog_regions(catalog)
    if regions:
        pairs = [(None, region) for region in regions] + [(a, r) for a, r in pairs if a and r in regions]
    return pairs
