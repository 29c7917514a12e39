"""The command line's fixed costs, each beside its baseline in the same run.

- `dr validate` (the shipped catalog) against `python -c "import prefect"`, alternating, median of the pairs'
  ratios: validate must not import Prefect, let alone start a server.
- A flow run's fixed cost against a running Prefect server: `dr audit` of a small Tier 2 service (20 databases),
  from spawn to the emulator's first AWS request (imports, credentials, flow run creation) and from its last AWS
  request to the process's exit (evidence, tickets, report, Prefect's shutdown), medians.
- The same command with Prefect's temporary server instead (what a first-time user without `dr server` pays).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from bench.common import DR, REPO, measure


def validate_vs_import(env: dict, work: Path, repeats: int, say=print) -> dict:
    pairs = []
    for i in range(repeats):
        base = measure([sys.executable, "-c", "import prefect"], env, log=work / f"import-prefect-{i}.log")
        tool = measure([DR, "validate"], env, cwd=REPO, log=work / f"validate-{i}.log")
        pairs.append((tool["seconds"], base["seconds"]))
    ratio = statistics.median(t / b for t, b in pairs)
    tool_s = statistics.median(t for t, _ in pairs)
    base_s = statistics.median(b for _, b in pairs)
    say(
        f"  dr validate {tool_s:.2f} s, python -c 'import prefect' {base_s:.2f} s: ratio {ratio:.2f} "
        f"(median of {repeats} pairs)"
    )
    return {
        "ratio": round(ratio, 3),
        "validate_seconds": round(tool_s, 3),
        "import_prefect_seconds": round(base_s, 3),
        "pairs": pairs,
    }


def flow_fixed_cost(
    moto, server_env: dict, ephemeral_env: dict, runbooks: Path, work: Path, repeats: int, say=print
) -> dict:
    starts, ends, walls = [], [], []
    for i in range(repeats):
        home = tempfile.mkdtemp(prefix="prefect-home-fixed-", dir=work)
        evidence = tempfile.mkdtemp(prefix="evidence-fixed-", dir=work)
        moto.reset_counts()
        result = measure(
            [DR, "audit", "--runbooks", str(runbooks), "--evidence", evidence, "--tier", "2"],
            {**server_env, "PREFECT_HOME": home},
            log=work / f"fixed-cost-{i}.log",
        )
        times = moto.request_times()
        if times["first"] is None:
            raise RuntimeError("the audit made no AWS request")
        starts.append(times["first"] - result["spawned_at"])
        ends.append(result["exited_at"] - times["last"])
        walls.append(result["seconds"])
    home = tempfile.mkdtemp(prefix="prefect-home-ephemeral-", dir=work)
    evidence = tempfile.mkdtemp(prefix="evidence-ephemeral-", dir=work)
    ephemeral = measure(
        [DR, "audit", "--runbooks", str(runbooks), "--evidence", evidence, "--tier", "2"],
        {**ephemeral_env, "PREFECT_HOME": home},
        log=work / "fixed-cost-ephemeral.log",
    )
    out = {
        "start_to_first_call": round(statistics.median(starts), 2),
        "last_call_to_exit": round(statistics.median(ends), 2),
        "server_wall": round(statistics.median(walls), 2),
        "ephemeral_wall": round(ephemeral["seconds"], 2),
        "starts": starts,
        "ends": ends,
    }
    say(
        f"  flow run fixed cost (running server, median of {repeats}): spawn to first AWS call "
        f"{out['start_to_first_call']:.2f} s, last AWS call to exit {out['last_call_to_exit']:.2f} s "
        f"(whole command {out['server_wall']:.1f} s; {out['ephemeral_wall']:.1f} s with a temporary server)"
    )
    return out
