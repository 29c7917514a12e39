"""`make demo` from a warm virtualenv.

`make demo` is timed as a user runs it: make, the `dr demo` process, its moto server (a child process) and
its temporary Prefect server, start to exit (no PREFECT_API_URL). Target: at most 30 s on a 2-core machine.
Also reported: CPU seconds of the whole process tree, and the demo's own wall seconds per phase
(<out>/timings.json, which `dr demo -v` prints).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from bench.common import DR, REPO, VENV_BIN, measure


def run_demo(env: dict, work: Path, say=print) -> dict:
    make = shutil.which("make") or "make"
    if VENV_BIN.parent.resolve() == (REPO / ".venv").resolve():
        command = [make, "--no-print-directory", "-s", "demo"]
    else:
        # Run from another virtualenv (a developer's): `make demo` would build .venv first; time `dr demo` itself.
        command = [DR, "demo"]
    say(f"  demo: {' '.join(Path(c).name if c == DR else c for c in command)}")
    result = measure(command, env, cwd=REPO, log=work / "demo.log")
    tickets = re.search(r"tickets \(ledger\): (\d+) opened, (\d+) kept", result["stdout"])
    timings_file = REPO / "out" / "demo" / "timings.json"
    phases = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    say(
        f"  demo: {Path(command[0]).name} demo {result['seconds']:.1f} s, {result['cpu_seconds']:.1f} CPU s, "
        f"peak {result['peak_mb']:.0f} MB"
    )
    if phases:
        say("  demo phases (s): " + ", ".join(f"{k} {v}" for k, v in phases.items()))
    return {
        "seconds": result["seconds"],
        "cpu_seconds": result["cpu_seconds"],
        "phases": phases,
        "peak_mb": result["peak_mb"],
        "command": " ".join(command),
        "review_tickets": tickets.groups() if tickets else None,
    }
