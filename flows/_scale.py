"""Scale-out on Prefect: split a run into child flow runs of the same deployment, one per partition.

Each child runs wherever a worker picks it up, writes its results to the shared evidence store under
`<flow>-part/`, and files no tickets; the parent merges the children's results and files tickets once.
"""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import ThreadPoolExecutor

from tasks.catalog.runbook import Resource
from tasks.evidence.records import RunRecord
from tasks.evidence.store import EvidenceStore

PART_SUFFIX = "-part"


def partition_key(account: str | None, region: str) -> str:
    return f"{account}/{region}" if account else region


def split(spec: Resource, partition: str | None) -> list[Resource]:
    """One spec per (account, region) it covers, or only the one matching `partition`."""
    pieces = []
    for account in spec.all_accounts():
        for region in spec.all_regions():
            if partition is None or partition == partition_key(account, region):
                pieces.append(
                    spec.model_copy(update={"region": region, "regions": None, "account": account, "accounts": None})
                )
    return pieces


def partitions_of(specs: list[Resource]) -> list[str]:
    return sorted({partition_key(a, r) for spec in specs for a in spec.all_accounts() for r in spec.all_regions()})


def in_deployment() -> str | None:
    from prefect.runtime import deployment, flow_run

    return f"{flow_run.flow_name}/{deployment.name}" if deployment.id else None


def run_children(deployment_name: str, parameters: dict, partitions: list[str], timeout: float | None = None):
    """Start one child run per partition and wait for all of them (they run on any worker of the pool)."""
    from prefect.deployments import run_deployment

    def start(partition: str):
        return run_deployment(
            deployment_name, parameters={**parameters, "partition": partition, "fan_out": False}, timeout=timeout
        )

    with ThreadPoolExecutor(max_workers=max(1, len(partitions))) as pool:
        # Each thread gets a copy of the flow run context so the children are linked to this run.
        futures = [pool.submit(contextvars.copy_context().run, start, p) for p in partitions]
        return [f.result() for f in futures]


def child_record(store: EvidenceStore, flow: str, run_id: str) -> RunRecord | None:
    suffix = run_id.replace("-", "")[:8]
    for relpath in store.list_prefix(flow + PART_SUFFIX):
        if relpath.endswith("/results.json") and relpath.split("/")[-2].endswith(suffix):
            raw = store.read_bytes(relpath)
            record = RunRecord.model_validate(json.loads(raw)) if raw else None
            if record and record.run_id == run_id:
                return record
    return None
