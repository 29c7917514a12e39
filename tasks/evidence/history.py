"""Read the evidence history compactly: one summary per run, from summary.json or, for runs written
before summaries existed, from results.json (parsed fully once, then reduced to the same shape)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import orjson  # Prefect's own dependency; parses a 10,000-service history in half json's time

from tasks.evidence.gc_pause import paused_gc
from tasks.evidence.records import (
    DASHBOARD_FLOWS,
    RunSummary,
    run_summary,
    summary_from_dict,
)
from tasks.evidence.store import SUMMARY_FILE, EvidenceStore, list_dirs, parse_record

logger = logging.getLogger(__name__)


def read_run(store: EvidenceStore, run_dir: str) -> RunSummary | None:
    raw = store.read_bytes(f"{run_dir}/{SUMMARY_FILE}")
    if raw is not None:
        try:
            return summary_from_dict(orjson.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:  # a truncated summary: its results.json may be whole
            logger.warning("skipped %s/%s/%s: unreadable (%s)", store.location, run_dir, SUMMARY_FILE, exc)
    raw = store.read_bytes(f"{run_dir}/results.json")
    if raw is None:
        return None  # a directory without results (an interrupted first write): nothing to report
    record = parse_record(store, f"{run_dir}/results.json", raw)
    return summary_from_dict(run_summary(record)) if record is not None else None


def load_summaries(store: EvidenceStore, flow: str, workers: int = 1) -> list[RunSummary]:
    """Every run of a flow (any status), oldest first. Remote stores read with a few threads."""
    dirs = list_dirs(store, flow)
    if workers > 1 and len(dirs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            runs = list(pool.map(lambda d: read_run(store, d), dirs))
    else:
        runs = [read_run(store, d) for d in dirs]
    return sorted((r for r in runs if r is not None), key=lambda r: r.started_at)


def load_dashboard_history(store: EvidenceStore, workers: int | None = None) -> dict[str, list[RunSummary]]:
    remote = "://" in store.location
    workers = workers or (8 if remote else 1)
    with paused_gc():
        return {flow: load_summaries(store, flow, workers) for flow in DASHBOARD_FLOWS}
