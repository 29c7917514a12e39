"""`make bench`: every benchmark figure, each measured side by side with its baseline, into out/bench.json.

    python -m bench.run [--quick] [--only PHASE[,PHASE]]     phases: restore, cli, audit, jira, dashboard, demo

moto's server (bench.motoserver) and a Prefect server run as separate processes on loopback; each `dr`
command runs as its own process with PREFECT_API_URL set, as a deployment's worker would run it, and is
timed from spawn to exit. Prints one line per figure; exits 1 if a benchmark could not run (its figure is
null), not when a target is missed (the line says so).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import audit, demo, restore, startup
from bench.common import REPO, MotoServer, PrefectServer, clean_env, ratio

KEYS = (
    "validate_ratio",
    "flow_start_seconds",
    "flow_exit_seconds",
    "audit_wall_ratio",
    "audit_calls_ratio",
    "audit_peak_mb",
    "audit_scaling_ratio",
    "restore_efficiency",
    "jira_requests_ratio",
    "dashboard_seconds",
    "dashboard_peak_mb",
    "demo_seconds",
)
# A target of None: reported, not judged (the flow run's fixed costs are Prefect's as much as ours).
TARGETS = {
    "validate_ratio": ("<=", 1.5),
    "flow_start_seconds": ("", None),
    "flow_exit_seconds": ("", None),
    "audit_wall_ratio": ("<=", 1.1),
    "audit_calls_ratio": ("<=", 1.1),
    "audit_peak_mb": ("<", 400),
    "audit_scaling_ratio": ("<=", 4.5),
    "restore_efficiency": (">=", 0.9),  # issue 13 item 6
    "jira_requests_ratio": ("<=", 1.1),
    "dashboard_seconds": ("<=", 2),
    "dashboard_peak_mb": ("<=", 300),
    "demo_seconds": ("<=", 30),
}
SIZES = {"small": 2000, "main": 5000, "large": 8000}
PHASES = ("restore", "cli", "audit", "jira", "dashboard", "demo")
SERVER_PHASES = ("restore", "cli", "audit")  # the ones that share one moto and one Prefect server


def phases_arg(text: str) -> list[str]:
    wanted = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in PHASES]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(
            f"unknown phase(s): {', '.join(unknown) or '(none)'}; choose from {', '.join(PHASES)}"
        )
    return wanted


def met(key: str, value) -> bool | None:
    if value is None:
        return None
    op, target = TARGETS[key]
    if target is None:
        return None
    return {"<=": value <= target, "<": value < target, ">=": value >= target}[op]


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="smaller fleets, one repeat (a smoke test)")
    parser.add_argument("--out", default=str(REPO / "out" / "bench.json"))
    parser.add_argument(
        "--only",
        type=phases_arg,
        default=list(PHASES),
        metavar="PHASE[,PHASE]",
        help=f"run only these benchmarks ({', '.join(PHASES)}); default: all",
    )
    args = parser.parse_args(argv)
    sizes = {"small": 200, "main": 500, "large": 800} if args.quick else SIZES
    repeats = 1 if args.quick else 5
    started = time.perf_counter()
    out = Path(args.out)
    work = out.parent / "bench-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    figures: dict[str, float | None] = dict.fromkeys(KEYS)
    details: dict[str, object] = {"sizes": sizes, "repeats": repeats}
    failed: list[str] = []

    def phase(name: str, fn) -> None:
        if name not in args.only:
            return
        say(f"== {name}")
        try:
            fn()
        except Exception as exc:
            failed.append(name)
            say(f"  {name} FAILED: {type(exc).__name__}: {exc}")
            (work / f"{name}-error.txt").write_text(traceback.format_exc())

    say(f"bench: logs in {work}")
    servers = any(name in args.only for name in SERVER_PHASES)
    if servers:
        moto = MotoServer(work)
        prefect = PrefectServer(work)
        client_home = tempfile.mkdtemp(prefix="prefect-client-", dir=work)
        server_env = clean_env(AWS_ENDPOINT_URL=moto.url, PREFECT_API_URL=prefect.url, PREFECT_HOME=client_home)
        ephemeral_env = clean_env(AWS_ENDPOINT_URL=moto.url)
        baseline_env = clean_env(AWS_ENDPOINT_URL=moto.url)
        say(f"  moto {moto.url}, prefect {prefect.url}")
    try:

        def run_restore():
            report = restore.run(moto, server_env, work, say=say, runs=1 if args.quick else restore.RUNS)
            figures["restore_efficiency"] = report["efficiency"]
            details["restore"] = report

        def run_cli():
            report = startup.validate_vs_import(baseline_env, work, repeats, say=say)
            figures["validate_ratio"] = report["ratio"]
            details["validate"] = report
            fixed = startup.flow_fixed_cost(
                moto, server_env, ephemeral_env, restore.write_catalog(work), work, repeats, say=say
            )
            figures["flow_start_seconds"] = fixed["start_to_first_call"]
            figures["flow_exit_seconds"] = fixed["last_call_to_exit"]
            details["flow_fixed_cost"] = fixed

        def run_audit():
            fleet = audit.Fleet(moto.url)
            runbooks = audit.write_catalog(work)
            walls = {}
            for name in ("small", "main", "large"):
                size = sizes[name]
                seconds = fleet.grow_to(size)
                say(f"  fleet: {fleet.size} databases in 2 regions (+{seconds:.0f} s to build)")
                if name == "main":
                    result = audit.side_by_side(moto, fleet, server_env, baseline_env, runbooks, work, repeats, say=say)
                    figures["audit_wall_ratio"] = result["wall_ratio"]
                    figures["audit_calls_ratio"] = result["calls_ratio"]
                    figures["audit_peak_mb"] = result["peak_mb"]
                    details["audit"] = result
                    walls[name] = result["tool_seconds"]
                else:
                    runs = [
                        audit.run_tool(moto, server_env, runbooks, work, f"audit-{size}-tool-{i}")
                        for i in range(2 if not args.quick else 1)
                    ]
                    base = audit.run_baseline(moto, baseline_env, work, f"audit-{size}-baseline")
                    walls[name] = statistics.median(r["seconds"] for r in runs)
                    details[f"audit_{size}"] = {
                        "tool_seconds": [r["seconds"] for r in runs],
                        "baseline_seconds": base["seconds"],
                        "calls": runs[0]["calls"],
                        "peak_mb": max(r["peak_mb"] for r in runs),
                    }
                    say(
                        f"  audit {size}: dr audit {walls[name]:.2f} s (median of {len(runs)}), "
                        f"baseline {base['seconds']:.2f} s"
                    )
            figures["audit_scaling_ratio"] = ratio(walls["large"], walls["small"])
            details["audit_scaling"] = {
                "small": sizes["small"],
                "large": sizes["large"],
                "small_seconds": walls["small"],
                "large_seconds": walls["large"],
                "baseline_ratio": ratio(
                    details[f"audit_{sizes['large']}"]["baseline_seconds"],
                    details[f"audit_{sizes['small']}"]["baseline_seconds"],
                ),
            }

        phase("restore", run_restore)
        phase("cli", run_cli)
        phase("audit", run_audit)
    finally:
        if servers:
            prefect.stop()
            moto.stop()

    def run_jira():
        from bench import jira_sync

        report = jira_sync.run()
        figures["jira_requests_ratio"] = report["jira_requests_ratio"]
        details["jira"] = report
        say(
            f"  jira: {report['requests']} requests for {report['search_pages']} search page(s) and "
            f"{report['creates']} create(s), {report['seconds']} s"
        )

    def run_dashboard():
        if importlib.util.find_spec("bench.dashboard") is None:
            say("dashboard: not available")
            return
        from bench import dashboard

        report = dashboard.run()
        figures["dashboard_seconds"] = report["dashboard_seconds"]
        figures["dashboard_peak_mb"] = report["dashboard_peak_mb"]
        details["dashboard"] = report

    def run_demo():
        report = demo.run_demo(clean_env(), work, say=say)
        figures["demo_seconds"] = report["seconds"]
        details["demo"] = report

    phase("jira", run_jira)
    phase("dashboard", run_dashboard)
    phase("demo", run_demo)

    total = time.perf_counter() - started
    say("")
    say(f"== figures ({total / 60:.1f} min)")
    for key in KEYS:
        value = figures[key]
        op, target = TARGETS[key]
        if target is None:
            say(f"{key}: {'null' if value is None else value} (reported)")
            continue
        verdict = {True: "met", False: "MISSED", None: "not measured"}[met(key, value)]
        say(f"{key}: {'null' if value is None else value} (target {op} {target}) {verdict}")
    fixed = details.get("flow_fixed_cost")
    if fixed:
        say(
            f"dr audit of 20 databases, whole command: {fixed['server_wall']:.1f} s against a running server, "
            f"{fixed['ephemeral_wall']:.1f} s with Prefect's temporary server"
        )
    restore_details = details.get("restore")
    if restore_details:
        say(
            f"restore efficiency: median of {restore_details['runs']} runs "
            f"({', '.join(map(str, restore_details['efficiencies']))}); the median run's whole process: "
            f"{restore_details['process_seconds']:.1f} s "
            f"(ideal {restore_details['ideal_seconds']:.1f} s of restores: {restore_details['process_efficiency']})"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                **figures,
                "targets": {k: f"{op} {v}" if v is not None else None for k, (op, v) in TARGETS.items()},
                "met": {k: met(k, figures[k]) for k in KEYS},
                "details": details,
                "failed": failed,
                "total_seconds": round(total, 1),
                "phases": args.only,
                "command": "make bench"
                + (" (--quick)" if args.quick else "")
                + ("" if args.only == list(PHASES) else f" (--only {','.join(args.only)})"),
            },
            indent=1,
            default=str,
        )
        + "\n"
    )
    say(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
