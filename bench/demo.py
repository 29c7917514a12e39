"""`make demo` from a warm virtualenv, and the command line's cold start with an ephemeral Prefect server.

`make demo` is timed as a user runs it: make, the `dr demo` process, its in-process moto server and its
temporary Prefect server, start to exit (no PREFECT_API_URL). Target: under 60 s on a 2-core machine.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from .common import DR, REPO, measure


def run_demo(env: dict, work: Path, say=print) -> dict:
    make = shutil.which("make") or "make"
    result = measure([make, "--no-print-directory", "-s", "demo"], env, cwd=REPO, log=work / "demo.log")
    tickets = re.search(r"tickets \(ledger\): (\d+) opened, (\d+) kept", result["stdout"])
    say(f"  demo: make demo {result['seconds']:.1f} s, peak {result['peak_mb']:.0f} MB")
    return {"seconds": result["seconds"], "peak_mb": result["peak_mb"],
            "review_tickets": tickets.groups() if tickets else None}


def cold_start(moto, server_env: dict, ephemeral_env: dict, runbooks: Path, work: Path, say=print) -> dict:
    """The same small audit (20 databases) as a cold command line with Prefect's ephemeral server, and
    against the running server."""
    out = {}
    for label, env in (("ephemeral", ephemeral_env), ("server", server_env)):
        home = tempfile.mkdtemp(prefix=f"prefect-home-{label}-", dir=work)
        evidence = tempfile.mkdtemp(prefix=f"evidence-cold-{label}-", dir=work)
        result = measure([DR, "audit", "--runbooks", str(runbooks), "--evidence", evidence, "--tier", "2"],
                         {**env, "PREFECT_HOME": home}, log=work / f"cold-{label}.log")
        out[label] = result["seconds"]
    say(f"  cold start: dr audit of 20 databases {out['ephemeral']:.1f} s with an ephemeral Prefect server, "
        f"{out['server']:.1f} s against a running one")
    return out
