"""Restore concurrency: 40 restores that each take one second, eight at a time.

A Tier 2 service with 20 RDS instances (us-east-2, selected by tag, `--sample` unset): each is restored from
its snapshot and to the latest point in time, 40 restores. On the strict layer (bench.motoserver) each copy is
`creating` for RESTORE_SECONDS after its restore call, as a real restore takes time. `dr
restore-test --concurrency 8 --poll-seconds 0.05` runs as its own process against the running Prefect server.

Ideal wall: 40 / 8 x 1 s = 5 s. restore_efficiency = ideal / the wall of the restores (the first restore's
start to the last one's confirmed teardown, from the run's measurement files). The whole process, with its
start-up, planning, sweep, tickets and reports, is reported beside it.

The wall includes the last copy's deletion, which the strict layer holds `deleting` for RESTORE_SECONDS / 2:
with no overhead at all the figure is 5 / 5.5 = 0.91 (a restore gives its slot back once its delete is
accepted), and it was at most 5 / 7.5 = 0.67 while a restore held its slot until the copy was gone.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.common import DR, aws_client, build_parallel, measure

REGION = "us-east-2"
INSTANCES, CONCURRENCY, RESTORE_SECONDS, POLL_SECONDS = 20, 8, 1.0, 0.05
RESTORES = INSTANCES * 2  # snapshot + pitr-latest (Tier 2 needs no cross-region copy)
IDEAL_SECONDS = RESTORES / CONCURRENCY * RESTORE_SECONDS

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


def recent_backup_window(now: datetime | None = None) -> tuple[str, str]:
    """A 30-minute backup window that opened two hours ago, and a maintenance window twelve hours from it.

    The strict layer dates the newest automated snapshot at the last window's start (as AWS takes them), and
    these restores measure restore time, not a day-old snapshot against the Tier 2 RPO of 8 h. The
    maintenance window is explicit because the two must not overlap (CreateDBInstance,
    PreferredMaintenanceWindow), and the default one would at some hours of the day."""
    start = (now or datetime.now(timezone.utc)) - timedelta(hours=2)
    end = start + timedelta(minutes=30)
    far, far_end = start + timedelta(hours=12), end + timedelta(hours=12)
    return f"{start:%H:%M}-{end:%H:%M}", f"{far:%a:%H:%M}-{far_end:%a:%H:%M}".lower()


def build(endpoint: str) -> None:
    client = aws_client("rds", REGION, endpoint)
    window, maintenance = recent_backup_window()
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


def run(moto, env: dict, work: Path, say=print) -> dict:
    build(moto.url)
    runbooks = write_catalog(work)
    evidence = Path(tempfile.mkdtemp(prefix="evidence-restore-", dir=work))
    moto.set_latency(RESTORE_SECONDS)
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
        "restores": RESTORES,
        "concurrency": CONCURRENCY,
        "restore_seconds": RESTORE_SECONDS,
        "ideal_seconds": IDEAL_SECONDS,
        "restores_wall_seconds": round(span, 2),
        "process_seconds": result["seconds"],
        "efficiency": round(IDEAL_SECONDS / span, 3),
        "process_efficiency": round(IDEAL_SECONDS / result["seconds"], 3),
        "mean_rto_seconds": round(sum(rtos) / len(rtos), 2),
        "creating_responses": slowed,
    }
    if min(rtos) < RESTORE_SECONDS:
        raise RuntimeError(f"a restore finished before the injected latency: {report}")
    say(
        f"  restore: {RESTORES} restores, restores wall {span:.2f} s (ideal {IDEAL_SECONDS:.1f} s), "
        f"process {result['seconds']:.2f} s, mean RTO {report['mean_rto_seconds']} s"
    )
    return report
