"""Benchmark: the dashboard for 10,000 services with eight quarters of history.

    python -m bench.dashboard [--services 10000] [--quarters 8] [--batch 1000] [--keep DIR]

Builds a synthetic evidence history once (not timed: bench/synthetic.py, written through the real
evidence code, so each run has its results.json and summary.json), then times a fresh subprocess that
does what the flow does: read the history and the ledger, judge every service, render the dashboard
and the quarterly pack, write the site. Reports wall time and the subprocess's peak RSS
(getrusage RUSAGE_CHILDREN). Targets: at most 2 s and 300 MB.

The subprocess starts from the catalog already parsed into service records (estate.json, with the estate's "now"): parsing
10,000 runbook YAML files is the catalog loader's cost, measured separately as catalog_seconds when
--with-catalog is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

TARGET_SECONDS = 2.0
TARGET_MB = 300.0


def _child(root: Path) -> None:
    """The timed work, in its own process so its peak RSS is its own."""
    import orjson

    from tasks.catalog.policy import Policy
    from tasks.evidence.history import load_dashboard_history
    from tasks.evidence.store import open_store
    from tasks.report.site import Inputs, render_site, write_site
    from tasks.rules.dashboard import ServiceInfo
    from tasks.tracker.history import read_tickets

    started = time.perf_counter()
    raw = orjson.loads((root / "estate.json").read_bytes())
    now = datetime.fromisoformat(raw["now"])
    services = [ServiceInfo(**{**s, "fleets": tuple(s["fleets"])}) for s in raw["services"]]
    evidence = str(root / "evidence")
    inputs = Inputs(
        services=services,
        policy=Policy(),
        history=load_dashboard_history(open_store(evidence)),
        tickets=read_tickets("ledger", evidence),
        evidence=evidence,
        tracker="ledger",
    )
    read = time.perf_counter()
    site = render_site(inputs, str(root / "site"), now=now)
    rendered = time.perf_counter()
    write_site(site, str(root / "site"))
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "read_seconds": round(read - started, 2),
                "render_seconds": round(rendered - read, 2),
                "write_seconds": round(done - rendered, 2),
                "rows": len(site.dashboard.rows),
                "index_mb": round(len(site.pages["index.html"]) / 1e6, 1),
                "self_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def prepare(root: Path, services: int, quarters: int, batch: int) -> dict:
    from bench.synthetic import NOW, build_estate, make_services

    started = time.perf_counter()
    infos = make_services(services)
    estate = build_estate(
        root,
        infos,
        quarters=quarters,
        batch=batch,
        lapsed=frozenset(s.service for s in infos[7::97]),
        write_catalog=False,
    )
    # The child reads the services and the estate's "now" from here (it does not import the estate builder).
    (root / "estate.json").write_text(json.dumps({"now": NOW.isoformat(), "services": [asdict(s) for s in infos]}))
    evidence_mb = sum(p.stat().st_size for p in estate.evidence.rglob("*") if p.is_file()) / 1e6
    return {
        "prepare_seconds": round(time.perf_counter() - started, 1),
        "runs": estate.runs,
        "tickets": estate.tickets,
        "evidence_mb": round(evidence_mb, 1),
    }


def catalog_seconds(root: Path, count: int) -> float:
    """How long the catalog loader takes for this many runbooks (pure-Python YAML, with line numbers)."""
    from bench.synthetic import make_services, write_runbooks
    from tasks.catalog.load import load_catalog

    directory = write_runbooks(root / "runbooks", make_services(count))
    started = time.perf_counter()
    load_catalog(directory)
    return time.perf_counter() - started


def compile_sources() -> None:
    """Bytecode for the code the child imports, as an installed package has it (pip compiles at install):
    compiling the project's sources is not the dashboard's cost. Written even where PYTHONDONTWRITEBYTECODE
    is set (which keeps an editable checkout from caching its own; it cost each timed child about 0.3 s)."""
    import compileall  # here: the timed child does not need it

    here = Path(__file__).resolve().parent.parent
    for package in ("tasks", "bench"):
        compileall.compile_dir(here / package, quiet=1)


def measure(root: Path) -> dict:
    compile_sources()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.dashboard", "--child", str(root)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dashboard render failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    detail = json.loads(done.stdout.strip().splitlines()[-1])
    # RUSAGE_CHILDREN holds the largest child so far, so it names ours only if it grew; the child's own
    # RUSAGE_SELF at exit is its peak in any case.
    peak_kb = max(detail.pop("self_peak_kb"), after if after > before else 0)
    return {"dashboard_seconds": round(seconds, 2), "dashboard_peak_mb": round(peak_kb / 1024, 1), **detail}


def run(
    services: int = 10_000, quarters: int = 8, batch: int = 1000, keep: Path | None = None, with_catalog: bool = False
) -> dict:
    """{"dashboard_seconds", "dashboard_peak_mb", ...}: one cold render in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="dr-bench-dashboard-") as tmp:
        root = keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        result = {"services": services, "quarters": quarters, **prepare(root, services, quarters, batch)}
        result.update(measure(root))
        if with_catalog:
            result["catalog_seconds"] = round(catalog_seconds(root, services), 2)
        result["targets_met"] = (
            result["dashboard_seconds"] <= TARGET_SECONDS and result["dashboard_peak_mb"] <= TARGET_MB
        )
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000, help="services per review / restore run")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write the history and site here and keep them")
    parser.add_argument("--with-catalog", action="store_true", help="also time loading 10,000 runbook files")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    result = run(args.services, args.quarters, args.batch, args.keep, args.with_catalog)
    print(json.dumps(result, indent=2))
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
