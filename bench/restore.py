"""Restore concurrency: 40 restores that each take one second, eight at a time.

A Tier 2 service with 20 RDS instances (us-east-2, selected by tag, `--sample` unset): each is restored from
its snapshot and to the latest point in time, 40 restores. On the strict layer (bench.motoserver) each copy is
`creating` for RESTORE_SECONDS after its restore call, as a real restore takes time, and `deleting` for
DELETE_SECONDS after its delete is accepted. `dr restore-test --concurrency 8 --poll-seconds 0.05` runs as its
own process against the running Prefect server; the tool polls at that interval, as an operator would set it.

The restores' wall: from the first restore's start to the last one's confirmed teardown (the run's measurement
files: the earliest `started_at`, the newest file's write, which follows the copy's confirmed deletion).

Ideal wall: what a tool with no overhead at all must still wait for. The restores run in waves of CONCURRENCY
(ceil(40 / 8) = 5 waves of RESTORE_SECONDS, a restore giving its slot back once its delete is accepted), and
the last wave's copies are confirmed gone only DELETE_SECONDS later: 5 x 1 s + 0.5 s = 5.5 s.

    restore_efficiency = ideal wall / restores' wall      (1.0: no overhead; the target is 0.9)

Reported beside it for continuity with earlier figures: `efficiency_restores_only`, the old definition
(5 s of restores alone / the same wall), whose ceiling is 5 / 5.5 = 0.91. Also reported, since other jobs load
this machine and walls move with them: the AWS calls of the run by kind and per restore, and the CPU seconds
of the `dr` process and of the emulator, which do not depend on the load; and the load average around the run.
The whole process, with its start-up, planning, sweep, tickets and reports, is reported beside it.

The restore test runs RUNS times on the same estate (one after the other, each making and removing its own
copies); the figure is the median run's, every run's efficiency reported beside it.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import DR, aws_client, build_parallel, measure
from bench.motoserver import DELETE_SHARE
from tasks.emulator.timeline import windows_opened

REGION = "us-east-2"
INSTANCES, CONCURRENCY, RESTORE_SECONDS, POLL_SECONDS = 20, 8, 1.0, 0.05
DELETE_SECONDS = RESTORE_SECONDS * DELETE_SHARE
RESTORES = INSTANCES * 2  # snapshot + pitr-latest (Tier 2 needs no cross-region copy)
WAVES = math.ceil(RESTORES / CONCURRENCY)
IDEAL_SECONDS = WAVES * RESTORE_SECONDS + DELETE_SECONDS  # see the docstring: 5.5 s
RESTORES_ONLY_SECONDS = RESTORES / CONCURRENCY * RESTORE_SECONDS  # the earlier ideal, 5 s
DEFINITION = (
    f"ideal {IDEAL_SECONDS:g} s = {WAVES} waves x {RESTORE_SECONDS:g} s restore + {DELETE_SECONDS:g} s final "
    f"deletion; efficiency = ideal / restores' wall (first start to last confirmed teardown)"
)

RUNBOOK = f"""\
service: restore-bench
name: Restore benchmark databases
tier: 2
owner: restore-owner@example.org
dr_champion: restore-champion@example.org
documentation: {{last_reviewed: 2026-11-01}}
procedure: [Restore the database from its newest snapshot.]
validation: [{{name: engine available, kind: status}}, {{name: endpoint published, kind: endpoint}}]
resources:
  - kind: rds_instance
    select: {{tags: {{service: restore-bench}}}}
    region: {REGION}
    expect: {{encrypted: true, backup_retention_days: 30}}
"""
POLICY = """\
restore:
  require_isolation: false
  isolation: {}
"""


def build(endpoint: str) -> None:
    client = aws_client("rds", REGION, endpoint)
    # A window that opened two hours ago: these restores measure restore time, not a day-old automated
    # snapshot against the Tier 2 RPO of 8 h.
    window, maintenance = windows_opened(timedelta(hours=2))
    build_parallel(
        [
            lambda n=f"restore-bench-{i:02d}": client.create_db_instance(
                DBInstanceIdentifier=n,
                Engine="postgres",
                DBInstanceClass="db.t4g.medium",
                AllocatedStorage=20,
                MasterUsername="dbadmin",
                MasterUserPassword="not-a-secret-0",
                StorageEncrypted=True,
                BackupRetentionPeriod=30,
                PreferredBackupWindow=window,
                PreferredMaintenanceWindow=maintenance,
                CopyTagsToSnapshot=True,
                Tags=[{"Key": "service", "Value": "restore-bench"}],
            )
            for i in range(INSTANCES)
        ]
    )


def write_catalog(directory: Path) -> Path:
    runbooks = directory / "restore-runbooks"
    runbooks.mkdir(parents=True, exist_ok=True)
    (runbooks / "restore-bench.yaml").write_text(RUNBOOK)
    (runbooks / "policy.yaml").write_text(POLICY)
    return runbooks


_LINE = re.compile(r"restore test: (\d+) restore\(s\), (\d+) met their targets")


RUNS = 3  # the figure is the median run's: one run on a busy shared machine can lose a whole poll per wave


def run(moto, env: dict, work: Path, say=print, runs: int = RUNS) -> dict:
    """`runs` restore tests of the same estate, one after the other (each makes and removes its own copies);
    the report is the median run's (by efficiency), with every run's efficiency beside it."""
    build(moto.url)
    runbooks = write_catalog(work)
    reports = [_one_run(moto, env, work, runbooks, say) for _ in range(runs)]
    median = sorted(reports, key=lambda r: r["efficiency"])[len(reports) // 2]
    return {**median, "runs": len(reports), "efficiencies": [r["efficiency"] for r in reports]}


def _one_run(moto, env: dict, work: Path, runbooks: Path, say) -> dict:
    evidence = Path(tempfile.mkdtemp(prefix="evidence-restore-", dir=work))
    moto.set_latency(RESTORE_SECONDS)
    moto.reset_counts()
    emulator_cpu = moto.cpu_seconds()
    load_before = os.getloadavg()
    try:
        result = measure(
            [
                DR,
                "restore-test",
                "--runbooks",
                str(runbooks),
                "--evidence",
                str(evidence),
                "--tier",
                "2",
                "--concurrency",
                str(CONCURRENCY),
                "--poll-seconds",
                str(POLL_SECONDS),
            ],
            env,
            log=work / "restore.log",
        )
        slowed = moto.latency_stats()["rewritten"]
        calls = moto.counts()
        emulator_cpu = moto.cpu_seconds() - emulator_cpu
    finally:
        moto.set_latency(0)
    match = _LINE.search(result["stdout"])
    if not match or int(match.group(1)) != RESTORES or int(match.group(2)) != RESTORES:
        raise RuntimeError(f"expected {RESTORES} passing restores:\n{result['stdout']}\n{result['stderr'][-3000:]}")
    files = list(evidence.glob("backup-restore-test/*/measurements/*.json"))
    starts = [datetime.fromisoformat(json.loads(f.read_text())["measurement"]["started_at"]).timestamp() for f in files]
    rtos = [json.loads(f.read_text())["measurement"]["rto_seconds"] for f in files]
    span = max(f.stat().st_mtime for f in files) - min(starts)
    report = {
        "definition": DEFINITION,
        "restores": RESTORES,
        "concurrency": CONCURRENCY,
        "restore_seconds": RESTORE_SECONDS,
        "delete_seconds": DELETE_SECONDS,
        "ideal_seconds": IDEAL_SECONDS,
        "restores_wall_seconds": round(span, 2),
        "process_seconds": result["seconds"],
        "efficiency": round(IDEAL_SECONDS / span, 3),
        "efficiency_restores_only": round(RESTORES_ONLY_SECONDS / span, 3),
        "process_efficiency": round(IDEAL_SECONDS / result["seconds"], 3),
        "mean_rto_seconds": round(sum(rtos) / len(rtos), 2),
        "creating_responses": slowed,
        "calls": dict(sorted(calls.items())),
        "calls_per_restore": round(sum(calls.values()) / RESTORES, 1),
        "process_cpu_seconds": result["cpu_seconds"],
        "emulator_cpu_seconds": round(emulator_cpu, 2),
        "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    if min(rtos) < RESTORE_SECONDS:
        raise RuntimeError(f"a restore finished before the injected latency: {report}")
    say(
        f"  restore: {RESTORES} restores, restores wall {span:.2f} s (ideal {IDEAL_SECONDS:.1f} s: efficiency "
        f"{report['efficiency']}, restores-only ideal {RESTORES_ONLY_SECONDS:.1f} s: "
        f"{report['efficiency_restores_only']}), process {result['seconds']:.2f} s, mean RTO "
        f"{report['mean_rto_seconds']} s, {report['calls_per_restore']} AWS calls per restore, CPU "
        f"{result['cpu_seconds']} s (dr) + {report['emulator_cpu_seconds']} s (emulator), load average "
        f"{report['load_average'][0]} to {report['load_average'][1]}"
    )
    return report
