"""Posture audit at fleet scale: `dr audit` side by side with bench/audit_baseline.py, and its scaling.

The fleet is one Tier 1 service's tenant databases, half in us-east-1 and half in eu-west-1, selected by tag,
each with a snapshot copy in us-west-2 (the service's dr_region), with about 4% planted gaps. It is grown in
place (2,000 -> 5,000 -> 8,000) so no instance is built twice; every run audits the whole estate.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import DR, aws_client, build_parallel, measure, ratio, summed

REGIONS = {"us-east-1": "use1", "eu-west-1": "euw1"}
COPY_REGION = "us-west-2"
TAG_KEY, TAG_VALUE = "service", "bench-tenants"

RUNBOOK = f"""\
service: bench-tenants
name: Benchmark tenant databases
tier: 1
owner: tenants-owner@example.org
dr_champion: tenants-champion@example.org
documentation: {{last_reviewed: 2026-11-01}}
procedure: [Restore the tenant's database from its newest snapshot.]
validation: [{{name: engine available, kind: status}}]
dr_region: {COPY_REGION}
resources:
  - kind: rds_instance
    select: {{tags: {{{TAG_KEY}: {TAG_VALUE}}}}}
    regions: [{", ".join(REGIONS)}]
    expect: {{encrypted: true, backup_retention_days: 30, multi_az: true}}
"""


def planted(index: int) -> dict:
    """Deterministic gaps (~4% of the fleet): short or no retention, unencrypted, single-AZ, no copy."""
    return {
        "retention": 0 if index % 503 == 1 else (7 if index % 97 == 13 else 30),
        "encrypted": index % 211 != 5,
        "multi_az": index % 101 != 50,
        "copied": index % 89 != 17,
    }


class Fleet:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.per_region = 0
        self.clients = {region: aws_client("rds", region, endpoint) for region in (*REGIONS, COPY_REGION)}

    @property
    def size(self) -> int:
        return self.per_region * len(REGIONS)

    def grow_to(self, total: int) -> float:
        started = time.perf_counter()
        per_region = total // len(REGIONS)
        new = range(self.per_region, per_region)
        calls = []
        for region, short in REGIONS.items():
            client = self.clients[region]
            for index in new:
                gaps = planted(index)
                calls.append(
                    lambda c=client, n=f"tenant-{short}-{index:05d}", g=gaps: c.create_db_instance(
                        DBInstanceIdentifier=n,
                        Engine="postgres",
                        DBInstanceClass="db.t4g.medium",
                        AllocatedStorage=20,
                        MasterUsername="dbadmin",
                        MasterUserPassword="not-a-secret-0",
                        MultiAZ=g["multi_az"],
                        StorageEncrypted=g["encrypted"],
                        BackupRetentionPeriod=g["retention"],
                        CopyTagsToSnapshot=True,
                        Tags=[{"Key": TAG_KEY, "Value": TAG_VALUE}, {"Key": "tenant", "Value": n}],
                    )
                )
        build_parallel(calls)
        copies = []
        target = self.clients[COPY_REGION]
        wanted = {
            f"tenant-{short}-{index:05d}" for short in REGIONS.values() for index in new if planted(index)["copied"]
        }
        for region in REGIONS:
            for page in self.clients[region].get_paginator("describe_db_snapshots").paginate(SnapshotType="automated"):
                for snap in page["DBSnapshots"]:
                    if snap["DBInstanceIdentifier"] in wanted:
                        copies.append(
                            lambda s=snap, r=region: target.copy_db_snapshot(
                                SourceDBSnapshotIdentifier=s["DBSnapshotArn"],
                                SourceRegion=r,
                                KmsKeyId="alias/aws/rds",
                                TargetDBSnapshotIdentifier=f"{s['DBInstanceIdentifier']}-dr",
                                CopyTags=True,
                            )
                        )
        build_parallel(copies)
        self.per_region = per_region
        return time.perf_counter() - started

    def expected_gaps(self) -> int:
        gaps = 0
        for index in range(self.per_region):
            g = planted(index)
            gaps += (
                (1 if g["retention"] == 0 else int(g["retention"] < 30))
                + (not g["encrypted"])
                + (not g["multi_az"])
                + (not g["copied"])
            )
        return gaps * len(REGIONS)


def write_catalog(directory: Path) -> Path:
    runbooks = directory / "runbooks"
    runbooks.mkdir(parents=True, exist_ok=True)
    (runbooks / "bench-tenants.yaml").write_text(RUNBOOK)
    return runbooks


_AUDIT_LINE = re.compile(r"audit: (\d+) resource\(s\) in \d+ service\(s\), (\d+) finding\(s\)")
_BASELINE_LINE = re.compile(r"baseline: (\d+) instance\(s\), (\d+) gap\(s\)")


def _measured(moto, cmd: list[str], env: dict, log: Path, summary: re.Pattern) -> dict:
    """One whole-process run with the AWS calls it made and the emulator CPU it cost."""
    moto.reset_counts()
    server_cpu = moto.cpu_seconds()
    result = measure(cmd, env, log=log)
    counts = moto.counts()
    match = summary.search(result["stdout"])
    if not match:
        raise RuntimeError(f"{cmd[0]} printed no summary:\n{result['stdout']}\n{result['stderr'][-2000:]}")
    return {
        "seconds": result["seconds"],
        "peak_mb": result["peak_mb"],
        "cpu_seconds": result["cpu_seconds"],
        "server_cpu_seconds": round(moto.cpu_seconds() - server_cpu, 2),
        "calls": summed(counts),
        "counts": counts,
        "resources": int(match.group(1)),
        "findings": int(match.group(2)),
    }


def run_tool(moto, env: dict, runbooks: Path, work: Path, label: str) -> dict:
    evidence = Path(tempfile.mkdtemp(prefix="evidence-", dir=work))
    return _measured(
        moto,
        [DR, "audit", "--runbooks", str(runbooks), "--evidence", str(evidence), "--service", "bench-tenants"],
        env,
        work / f"{label}.log",
        _AUDIT_LINE,
    )


def run_baseline(moto, env: dict, work: Path, label: str) -> dict:
    return _measured(
        moto,
        [
            sys.executable,
            "-m",
            "bench.audit_baseline",
            "--tag",
            f"{TAG_KEY}={TAG_VALUE}",
            "--regions",
            ",".join(REGIONS),
            "--copy-region",
            COPY_REGION,
        ],
        env,
        work / f"{label}.log",
        _BASELINE_LINE,
    )


def side_by_side(
    moto, fleet: Fleet, tool_env: dict, base_env: dict, runbooks: Path, work: Path, repeats: int, say=print
) -> dict:
    """`repeats` pairs, tool then baseline back to back; the wall ratio is the median of the pairs' ratios,
    so a burst of load elsewhere on the machine skews one pair, not the figure."""
    tool, base = [], []
    for i in range(repeats):
        tool.append(run_tool(moto, tool_env, runbooks, work, f"audit-{fleet.size}-tool-{i}"))
        base.append(run_baseline(moto, base_env, work, f"audit-{fleet.size}-baseline-{i}"))
        t, b = tool[-1], base[-1]
        say(
            f"  audit {fleet.size}: dr audit {t['seconds']:.2f} s ({t['cpu_seconds']:.1f} s CPU, emulator "
            f"{t['server_cpu_seconds']:.1f} s), {t['calls']} calls, {t['peak_mb']:.0f} MB | baseline "
            f"{b['seconds']:.2f} s ({b['cpu_seconds']:.1f} s CPU, emulator {b['server_cpu_seconds']:.1f} s), "
            f"{b['calls']} calls"
        )
    for t, b in zip(tool, base):
        if (t["resources"], t["findings"]) != (b["resources"], b["findings"]) or t["resources"] != fleet.size:
            raise RuntimeError(
                f"tool and baseline disagree: tool {t['resources']} resources {t['findings']} "
                f"findings, baseline {b['resources']} / {b['findings']}, fleet {fleet.size}"
            )
    tool_s = statistics.median(r["seconds"] for r in tool)
    base_s = statistics.median(r["seconds"] for r in base)
    pairs = [t["seconds"] / b["seconds"] for t, b in zip(tool, base)]
    return {
        "tool_seconds": tool_s,
        "baseline_seconds": base_s,
        "wall_ratio": round(statistics.median(pairs), 3),
        "pair_ratios": [round(p, 3) for p in pairs],
        "ratio_of_medians": ratio(tool_s, base_s),
        "tool_calls": tool[0]["calls"],
        "baseline_calls": base[0]["calls"],
        "calls_ratio": ratio(tool[0]["calls"], base[0]["calls"]),
        "peak_mb": max(r["peak_mb"] for r in tool),
        "baseline_peak_mb": max(r["peak_mb"] for r in base),
        "findings": tool[0]["findings"],
        "tool_cpu_seconds": statistics.median(r["cpu_seconds"] for r in tool),
        "baseline_cpu_seconds": statistics.median(r["cpu_seconds"] for r in base),
        "tool_emulator_cpu_seconds": statistics.median(r["server_cpu_seconds"] for r in tool),
        "baseline_emulator_cpu_seconds": statistics.median(r["server_cpu_seconds"] for r in base),
        "tool_counts": tool[0]["counts"],
        "baseline_counts": base[0]["counts"],
    }
