"""The backup posture audit's rules: pure checks of live configuration against the tier policy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tasks.catalog.durations import format_duration
from tasks.catalog.policy import Policy
from tasks.catalog.runbook import Runbook
from tasks.evidence.findings import Check, CheckSet, Finding
from tasks.evidence.inventory import LiveResource, Observation

CHECKS = CheckSet(
    Check(
        "backup.disabled",
        "critical",
        "Automated backups are off",
        "Enable automated backups (a retention period of at least the policy's days).",
    ),
    Check(
        "backup.retention_below_policy",
        "high",
        "Backup retention below policy",
        "Raise the backup retention period to the policy's minimum.",
    ),
    Check(
        "backup.unencrypted",
        "high",
        "Storage not encrypted at rest",
        "Restore into an encrypted copy (snapshot copy with a KMS key) and cut over; RDS cannot encrypt in place.",
    ),
    Check(
        "backup.single_az",
        "high",
        "Not Multi-AZ",
        "Convert to a Multi-AZ deployment (or add a reader in another zone for Aurora).",
    ),
    Check(
        "backup.stale_recovery_point",
        "high",
        "Newest recovery point older than the RPO",
        "Check that automated backups and point-in-time recovery are running.",
    ),
    Check(
        "backup.no_cross_region_copy",
        "high",
        "No copy in another region",
        "Copy snapshots to the DR region (or enable cross-region automated backup replication / a replica).",
    ),
    Check(
        "backup.stale_cross_region_copy",
        "high",
        "Newest cross-region copy older than policy",
        "Check the copy schedule (snapshot copy job, AWS Backup copy rule) to the DR region; the copy there is "
        "what a region loss restores from.",
    ),
    Check(
        "backup.not_assessed",
        "high",
        "Resource could not be assessed",
        "Grant the tool read access in that account and region (see docs/safety.md).",
    ),
    Check(
        "s3.versioning_disabled",
        "high",
        "S3 versioning is off",
        "Enable versioning so overwritten or deleted objects can be recovered.",
    ),
    Check(
        "s3.replication_missing",
        "high",
        "S3 replication is not configured",
        "Configure replication to a bucket in the DR region.",
    ),
    Check(
        "dynamodb.pitr_disabled",
        "high",
        "DynamoDB point-in-time recovery is off",
        "Enable point-in-time recovery on the table.",
    ),
    Check(
        "ebs.snapshot_stale",
        "medium",
        "No recent EBS snapshot",
        "Schedule snapshots (e.g. Data Lifecycle Manager) at least as often as the policy requires.",
    ),
    Check(
        "ebs.no_cross_region_copy",
        "high",
        "EBS snapshots not copied to another region",
        "Copy snapshots to the DR region on a schedule.",
    ),
)
make_finding = CHECKS.make

POSTURE_ATTRIBUTES = {
    "multi_az",
    "encrypted",
    "backup_retention_days",
    "copy_regions",
    "versioning",
    "replication_to",
    "pitr",
    "snapshot_max_age",
}
AUDIT_CHECK_PREFIXES = ("backup.", "s3.", "dynamodb.", "ebs.")


def audit_member(
    runbook: Runbook,
    policy: Policy,
    live: LiveResource,
    now: datetime,
    copy_regions: list[str],
    ran: list[str] | None = None,
) -> list[Finding]:
    """The member's gaps; `ran`, if given, collects every check evaluated (passing or not), so pages can
    say "5 of 7 checks pass" and not only count the failures."""
    found: list[Finding] = []
    tier = runbook.tier
    attrs = live.attrs
    ran = ran if ran is not None else []

    def gap(check: str, detail: str, subject: str = "", **evidence: object) -> None:
        found.append(
            make_finding(
                check,
                service=runbook.service,
                tier=tier,
                resource=live.key,
                subject=subject,
                detail=f"{live.kind} {live.id} ({live.region}): {detail}",
                evidence=evidence,
            )
        )

    _, rpo = policy.targets_for(runbook)
    if live.kind in ("rds_instance", "rds_cluster"):
        retention = attrs.get("backup_retention_days", 0)
        ran.append("backup.disabled")
        if not retention:
            gap("backup.disabled", "automated backups are off (retention 0 days).", retention_days=0)
        else:
            ran += ["backup.retention_below_policy", "backup.stale_recovery_point"]
            if retention < policy.backups.retention_days:
                gap(
                    "backup.retention_below_policy",
                    f"backups kept {retention} days; the policy requires {policy.backups.retention_days}.",
                    retention_days=retention,
                    required=policy.backups.retention_days,
                )
            latest = attrs.get("latest_restorable_time")
            age = (now - latest).total_seconds() if latest else None
            if age is None or age > rpo.total_seconds():
                gap(
                    "backup.stale_recovery_point",
                    (
                        "no latest restorable time is reported"
                        if age is None
                        else f"the latest restorable time is {format_duration(age)} old"
                    )
                    + f"; the RPO target is {format_duration(rpo)}.",
                    age_seconds=age,
                    rpo_seconds=rpo.total_seconds(),
                )
        ran += ["backup.unencrypted"] * policy.backups.encryption + ["backup.single_az"] * policy.needs_multi_az(tier)
        ran += ["backup.no_cross_region_copy"] * policy.needs_cross_region_copy(tier)
        if policy.backups.encryption and not attrs.get("encrypted"):
            gap("backup.unencrypted", "storage is not encrypted at rest.")
        if policy.needs_multi_az(tier) and not attrs.get("multi_az"):
            gap("backup.single_az", f"Tier {tier} requires Multi-AZ; this is single-AZ.")
        if policy.needs_cross_region_copy(tier) and not attrs.get("copy_regions"):
            looked = ", ".join(copy_regions) if copy_regions else "no DR region documented (set dr_region)"
            gap(
                "backup.no_cross_region_copy",
                f"no snapshot copy or replica in another region (looked in: {looked}).",
                regions_checked=copy_regions,
            )
        stale_copies(policy, tier, attrs, copy_regions, ran, gap)
    elif live.kind == "s3_bucket":
        ran += ["s3.versioning_disabled"] + ["s3.replication_missing"] * policy.needs_cross_region_copy(tier)
        if not attrs.get("versioning"):
            gap("s3.versioning_disabled", f"versioning is {attrs.get('versioning_status') or 'never enabled'}.")
        if policy.needs_cross_region_copy(tier) and not attrs.get("replication_to"):
            gap("s3.replication_missing", "no enabled replication rule.")
    elif live.kind == "dynamodb_table":
        ran += ["dynamodb.pitr_disabled"] * policy.backups.pitr
        table_copies(policy, tier, attrs, copy_regions, ran, gap)
        if policy.backups.pitr and not attrs.get("pitr"):
            backups = attrs.get("backups") or []
            newest = (
                f" The newest backup ({backups[0]['mechanism']}) is {format_duration(backups[0]['age_seconds'])} "
                "old: it can be restored, but only to when it was taken."
                if backups
                else " No on-demand or AWS Backup backup exists either."
            )
            gap("dynamodb.pitr_disabled", "point-in-time recovery is off." + newest, backups=backups)
    elif live.kind == "ebs_volume":
        age = attrs.get("snapshot_age_seconds")
        limit = policy.backups.snapshot_max_age.total_seconds()
        ran += ["ebs.snapshot_stale"] + ["ebs.no_cross_region_copy"] * policy.needs_cross_region_copy(tier)
        ran += ["backup.unencrypted"] * policy.backups.encryption
        if age is None or age > limit:
            gap(
                "ebs.snapshot_stale",
                ("no snapshot exists" if age is None else f"the newest snapshot is {format_duration(age)} old")
                + f"; the policy requires one every {format_duration(limit)}.",
                age_seconds=age,
            )
        if policy.needs_cross_region_copy(tier) and not attrs.get("copy_regions"):
            gap("ebs.no_cross_region_copy", "no snapshot copy in another region.", regions_checked=copy_regions)
        stale_copies(policy, tier, attrs, copy_regions, ran, gap)
        if policy.backups.encryption and not attrs.get("encrypted"):
            gap("backup.unencrypted", "the volume is not encrypted.")
    return found


def table_copies(
    policy: Policy, tier: int, attrs: dict[str, Any], copy_regions: list[str], ran: list[str], gap: Callable[..., None]
) -> None:
    """A DynamoDB table's copies in other regions: global table replicas and AWS Backup copies. Checked only
    where the policy's `aws_backup:` section names the vault such copies are in: without it the tool cannot
    see them and would call a protected table unprotected. A DR vault that could not be read leaves the
    table's copy checks not assessed, with the reason."""
    section = policy.aws_backup
    if section is None or not policy.needs_cross_region_copy(tier):
        return
    unreadable = attrs.get("copy_unreadable") or {}
    if unreadable:
        ran.append("backup.not_assessed")
        reasons = "; ".join(f"{region}: {reason}" for region, reason in sorted(unreadable.items()))
        gap(
            "backup.not_assessed",
            f"its copies in other regions could not be read (AWS Backup vault {section.vault}): {reasons}",
            errors=[f"{region}: {reason}" for region, reason in sorted(unreadable.items())],
        )
        return
    ran.append("backup.no_cross_region_copy")
    if not attrs.get("copy_regions"):
        looked = ", ".join(copy_regions) if copy_regions else "no DR region documented (set dr_region)"
        gap(
            "backup.no_cross_region_copy",
            f"no global table replica and no AWS Backup copy in vault {section.vault} in another region "
            f"(looked in: {looked}).",
            regions_checked=copy_regions,
            vault=section.vault,
        )
    stale_copies(policy, tier, attrs, copy_regions, ran, gap)


def stale_copies(
    policy: Policy, tier: int, attrs: dict[str, Any], copy_regions: list[str], ran: list[str], gap: Callable[..., None]
) -> None:
    """backup.stale_cross_region_copy for each required region whose newest copy is older than the policy's
    copy_max_age. A region with no copy at all is the no-copy checks' business; an age AWS did not report
    is not guessed at."""
    ages = attrs.get("copy_ages") or {}
    if not policy.needs_cross_region_copy(tier) or not ages:
        return
    limit = policy.backups.copy_max_age.total_seconds()
    ran.append("backup.stale_cross_region_copy")
    required = [region for region in copy_regions if region in ages] or sorted(ages)
    mechanisms = attrs.get("copy_mechanisms") or {}
    for region in required:
        age = ages.get(region)
        if age is not None and age > limit:
            how = mechanisms.get(region)
            gap(
                "backup.stale_cross_region_copy",
                f"the newest copy in {region}{' (' + how + ')' if how else ''} is {format_duration(age)} old; "
                f"the policy allows {format_duration(limit)} (copy_max_age).",
                subject=region,
                region=region,
                age_seconds=age,
                copy_max_age_seconds=limit,
                **({"mechanism": how} if how else {}),
            )


def audit_observation(
    runbook: Runbook,
    policy: Policy,
    observation: Observation,
    now: datetime,
    copy_regions: list[str],
    ran: list[str] | None = None,
) -> list[Finding]:
    found = []
    ran = ran if ran is not None else []
    if observation.errors:
        ran.append("backup.not_assessed")
        found.append(
            make_finding(
                "backup.not_assessed",
                service=runbook.service,
                tier=runbook.tier,
                resource=observation.spec.label(),
                detail="could not be read: " + "; ".join(observation.errors),
                evidence={"errors": observation.errors},
            )
        )
    for member in observation.members:
        found += audit_member(runbook, policy, member, now, copy_regions, ran)
    return found
