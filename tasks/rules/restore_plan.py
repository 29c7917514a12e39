"""Restore-test decisions, all pure: what to restore, how to name it, how a measurement is judged."""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tasks.catalog.durations import format_duration
from tasks.catalog.policy import IN_REGION, REGION, Policy
from tasks.catalog.runbook import Runbook
from tasks.evidence.findings import Check, CheckSet, Finding
from tasks.evidence.inventory import LiveResource
from tasks.evidence.records import Measurement

CHECKS = CheckSet(
    Check(
        "restore.failed",
        "high",
        "Restore test failed",
        "Fix the cause in the detail (missing backups, permissions, quotas) and re-run the restore test.",
    ),
    Check(
        "restore.rto_exceeded",
        "high",
        "Restore slower than the RTO target",
        "Shorten the restore path (bigger class, snapshot copy closer, automation) or renegotiate the tier.",
    ),
    Check(
        "restore.rpo_exceeded",
        "high",
        "Recovery point older than the RPO target",
        "Check automated backups / PITR and snapshot schedules so the newest recovery point is within RPO.",
    ),
    Check(
        "restore.validation_failed",
        "high",
        "Restored copy failed validation",
        "Investigate the failing validation step against a restored copy; the backup may be unusable.",
    ),
    Check(
        "restore.cleanup_failed",
        "critical",
        "Restore copy was not deleted",
        "Delete the copy named in the detail (or run `dr sweep`) and check the tool's delete permissions.",
    ),
    Check(
        "restore.preflight_failed",
        "medium",
        "Restore test could not start",
        "Configure what the detail names (e.g. restore isolation for the region) and re-run.",
    ),
)
make_finding = CHECKS.make

MODES = {
    "rds_instance": ("snapshot", "pitr-latest"),
    # Aurora: the cluster snapshot and point-in-time recovery (RestoreDBClusterToPointInTime), which answers
    # for the in-region RPO as it does for instances.
    "rds_cluster": ("snapshot", "pitr-latest"),
    "dynamodb_table": ("pitr-latest",),
    "s3_bucket": ("object-version",),
    "ebs_volume": ("snapshot",),
}
DR_REGION_KINDS = {"rds_instance", "rds_cluster", "ebs_volume"}  # restorable from a cross-region copy
PITR_TIME_KINDS = {"rds_instance", "rds_cluster", "dynamodb_table"}
NEEDS_ISOLATION = {"rds_instance", "rds_cluster"}


@dataclass(frozen=True)
class RestoreTarget:
    service: str
    tier: int
    kind: str
    mode: str
    resource: str  # the source's resource key
    source_id: str
    source_region: str
    region: str  # where the copy is made
    account: str | None
    rto_target_seconds: float
    rpo_target_seconds: float
    instance_class: str | None = None
    engine: str | None = None
    availability_zone: str | None = None
    disruption: str = IN_REGION  # what this path recovers from: the targets above are that disruption's
    judge_rpo: bool = True  # False: the RPO is measured and shown, but another path answers for it
    judged_against: str = ""  # the report's words for the above

    @property
    def key(self) -> str:
        return f"{self.resource}#{self.mode}@{self.region}"


def parse_sample(sample: str | int | None) -> tuple[str, float] | None:
    """'5' -> ('count', 5); '10%' -> ('percent', 10); None -> every member."""
    if sample is None or sample == "":
        return None
    text = str(sample).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"sample must be a count like 5 or a percentage like 10%, got {sample!r}")
    if match.group(2) and float(match.group(1)) > 100:
        raise ValueError(f"sample percentage must be at most 100%, got {sample!r}")
    return ("percent", float(match.group(1))) if match.group(2) else ("count", float(match.group(1)))


def sample_size(total: int, sample: tuple[str, float] | None, rotation_quarters: int, tier: int, policy: Policy) -> int:
    if sample is None or total == 0:
        return total
    kind, value = sample
    wanted = math.ceil(total * value / 100) if kind == "percent" else int(value)
    if tier in policy.review_tiers:
        # Enough per quarter that every member is tested within the rotation window.
        wanted = max(wanted, math.ceil(total / rotation_quarters))
    return max(1, min(total, wanted))


def choose_members(members: list[LiveResource], count: int, last_tested: dict[str, datetime]) -> list[LiveResource]:
    """Never-tested first, then least recently tested; spread across regions by taking turns."""

    def priority(member: LiveResource) -> tuple[bool, datetime, str]:
        tested = last_tested.get(member.key)
        stable = hashlib.sha256(member.key.encode()).hexdigest()
        return (tested is not None, tested or datetime.min, stable)

    by_region: dict[str, list[LiveResource]] = defaultdict(list)
    for member in sorted(members, key=priority):
        by_region[member.region].append(member)
    chosen: list[LiveResource] = []
    queues = sorted(by_region.values(), key=lambda q: priority(q[0]))
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


def copy_regions_for(runbook: Runbook, spec_expect_regions: list[str] | None) -> list[str]:
    regions = list(spec_expect_regions or [])
    if runbook.dr_region and runbook.dr_region not in regions:
        regions.append(runbook.dr_region)
    return regions


DISRUPTION_LABELS = {IN_REGION: "in-region (instance, AZ, data corruption)", REGION: "Region loss"}


def has_pitr(kind: str, attrs: dict[str, Any]) -> bool:
    """Whether the source can be recovered to a point in time within the Region: RDS and Aurora with
    automated backups (retention > 0), DynamoDB with PITR on, S3 with versioning (every write kept)."""
    if kind in ("rds_instance", "rds_cluster"):
        return bool(attrs.get("backup_retention_days"))
    if kind == "dynamodb_table":
        return bool(attrs.get("pitr"))
    if kind == "s3_bucket":
        return bool(attrs.get("versioning"))
    return False


def recovery_path(kind: str, mode: str, pitr: bool) -> tuple[str, bool, str]:
    """(disruption, judge the RPO?, what the figure is judged against) for one restore path.

    As AWS Resilience Hub assesses them: point-in-time recovery and in-region snapshots answer for
    in-region disruptions, the DR-region copy for the loss of the Region. Where the source has
    point-in-time recovery, that path answers for the in-region RPO: a daily snapshot's age is then
    shown but not judged (it would flag every Tier 0/1 service with daily snapshots).
    """
    if mode == "snapshot-dr":
        return REGION, True, f"{DISRUPTION_LABELS[REGION]}: RPO = age of the DR copy's data"
    label = DISRUPTION_LABELS[IN_REGION]
    if mode in ("pitr-latest", "pitr-time"):
        return IN_REGION, True, f"{label}: RPO = start - latest restorable time"
    if kind == "s3_bucket":
        return (
            IN_REGION,
            False,
            (f"{label}: RPO = age of the newest object version, not judged (versioning keeps every write)"),
        )
    if pitr:
        return IN_REGION, False, f"{label}: RPO = snapshot age, not judged (point-in-time recovery covers it)"
    if kind == "ebs_volume":
        return IN_REGION, True, f"{label}: RPO = snapshot age, at most the policy's snapshot_max_age"
    return IN_REGION, True, f"{label}: RPO = snapshot age (no point-in-time recovery)"


def targets_for_member(
    runbook: Runbook, policy: Policy, member: LiveResource, copy_regions: list[str], restore_time: datetime | None
) -> list[RestoreTarget]:
    instance_class = policy.restore.instance_class.get(runbook.tier) or member.attrs.get("instance_class")
    base: dict[str, Any] = dict(
        service=runbook.service,
        tier=runbook.tier,
        kind=member.kind,
        resource=member.key,
        source_id=member.id,
        source_region=member.region,
        account=member.account,
        instance_class=instance_class,
        engine=member.attrs.get("engine"),
        availability_zone=member.attrs.get("availability_zone"),
    )
    pitr = has_pitr(member.kind, member.attrs)

    def target(mode: str, region: str) -> RestoreTarget:
        disruption, judge_rpo, label = recovery_path(member.kind, mode, pitr)
        rto, rpo = (t.total_seconds() for t in policy.targets_for(runbook, disruption))
        if member.kind == "ebs_volume" and disruption == IN_REGION:
            # EBS has only snapshots, and the policy sets how often (snapshot_max_age, daily by default): the
            # audit holds a volume to that, and so does its restore.
            rpo = max(rpo, policy.backups.snapshot_max_age.total_seconds())
        return RestoreTarget(
            mode=mode,
            region=region,
            rto_target_seconds=rto,
            rpo_target_seconds=rpo,
            disruption=disruption,
            judge_rpo=judge_rpo,
            judged_against=label,
            **base,
        )

    targets = [target(mode, member.region) for mode in MODES[member.kind]]
    if member.kind == "dynamodb_table" and member.attrs.get("backups"):
        # An on-demand backup (AWS Backup's or the owner's) is a second recovery path: restored too.
        targets.append(target("snapshot", member.region))
    if restore_time is not None and member.kind in PITR_TIME_KINDS:
        targets.append(target("pitr-time", member.region))
    if member.kind in DR_REGION_KINDS and policy.needs_cross_region_copy(runbook.tier):
        for region in copy_regions:
            if region != member.region:
                targets.append(target("snapshot-dr", region))
    return targets


def run_prefix(run_id: str) -> str:
    """The part of a run id a copy's name carries: its first 8 letters and digits, lower-cased."""
    return re.sub(r"[^a-z0-9]", "", run_id.lower())[:8]


# Every name copy_name makes (a retried restore adds "-<attempt>"): how a copy that carries no tags is known.
COPY_NAME = re.compile(r"drt-([a-z0-9]{1,8})-[0-9a-f]{14}(?:-[0-9]+)?")


def run_of_copy_name(name: str) -> str | None:
    """The run prefix in a copy's name, or None when the name is not one copy_name makes."""
    match = COPY_NAME.fullmatch(name)
    return match.group(1) if match else None


def copy_name(run_id: str, target: RestoreTarget) -> str:
    """drt-<run>-<hash>: valid for RDS, DynamoDB and S3 names. The hash covers the whole run id, the service,
    and the target (resource key with account, mode and region), so two runbooks documenting one shared
    database each get their own copy and never tear down the other's."""
    run = run_prefix(run_id)
    unique = "\0".join((run_id, target.service, target.account or "", target.key))
    return f"drt-{run}-{hashlib.sha256(unique.encode()).hexdigest()[:14]}"


def expires_at(started: datetime, target: RestoreTarget, policy: Policy) -> datetime:
    return started + timedelta(seconds=target.rto_target_seconds) + policy.restore.expiry_margin


def rpo_exceeded(m: Measurement) -> bool:
    """Over the RPO target of the disruption the path recovers from; never for a path not judged on RPO."""
    return m.rpo_judged and m.rpo_seconds is not None and m.rpo_seconds > m.rpo_target_seconds


def judge(m: Measurement) -> bool:
    rto_ok = m.rto_seconds is not None and m.rto_seconds <= m.rto_target_seconds
    return m.status == "passed" and rto_ok and not rpo_exceeded(m) and m.cleanup != "left"


def findings_for(m: Measurement) -> list[Finding]:
    subject = f"{m.mode}@{m.region}"
    common: dict[str, Any] = dict(service=m.service, tier=m.tier, resource=m.resource, subject=subject)
    where = f"{m.kind} {m.resource.split(':')[-1]} ({m.mode} restore in {m.region})"
    evidence: dict[str, object] = {
        "rto_seconds": m.rto_seconds,
        "rto_target_seconds": m.rto_target_seconds,
        "rpo_seconds": m.rpo_seconds,
        "rpo_target_seconds": m.rpo_target_seconds,
        "disruption": m.disruption,
        "rpo_judged": m.rpo_judged,
        "judged_against": m.judged_against,
        "recovery_point": m.recovery_point,
        "recovery_mechanism": m.recovery_mechanism,
        "copy_id": m.copy_id,
        "status": m.status,
    }
    scope = "region-loss " if m.disruption == REGION else "in-region "
    found: list[Finding] = []
    if m.status in ("failed", "no_recovery_point"):
        found.append(make_finding("restore.failed", detail=f"{where}: {m.error}", evidence=evidence, **common))
    elif m.status == "preflight_failed":
        found.append(
            make_finding("restore.preflight_failed", detail=f"{where}: {m.error}", evidence=evidence, **common)
        )
    elif m.status == "timeout":
        found.append(
            make_finding(
                "restore.rto_exceeded",
                evidence=evidence,
                **common,
                detail=(
                    f"{where}: not available within the {scope}RTO target of {format_duration(m.rto_target_seconds)}; "
                    "stopped at the deadline and torn down."
                ),
            )
        )
    elif m.rto_seconds is not None and m.rto_seconds > m.rto_target_seconds:
        found.append(
            make_finding(
                "restore.rto_exceeded",
                evidence=evidence,
                **common,
                detail=(
                    f"{where}: restored and validated in {format_duration(m.rto_seconds)}, over the {scope}RTO target of "
                    f"{format_duration(m.rto_target_seconds)}."
                ),
            )
        )
    if m.status == "validation_failed":
        failed = [step for step in m.validation if not step.get("passed")]
        names = ", ".join(f"{s['name']} ({s.get('detail', '')})" for s in failed)
        found.append(
            make_finding("restore.validation_failed", detail=f"{where}: failed {names}", evidence=evidence, **common)
        )
    if rpo_exceeded(m):
        made = f", made by {m.recovery_mechanism}" if m.recovery_mechanism else ""
        found.append(
            make_finding(
                "restore.rpo_exceeded",
                evidence=evidence,
                **common,
                detail=(
                    f"{where}: the newest recovery point ({m.recovery_point}{made}) is {format_duration(m.rpo_seconds)} "
                    f"old, over the {scope}RPO target of {format_duration(m.rpo_target_seconds)}."
                ),
            )
        )
    if m.cleanup == "left":
        found.append(
            make_finding(
                "restore.cleanup_failed",
                evidence=evidence,
                **common,
                detail=(f"{where}: the copy {m.copy_id} in {m.region} still exists after teardown."),
            )
        )
    return found
