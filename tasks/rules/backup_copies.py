"""AWS Backup copies of DynamoDB tables in the DR regions: which vault listings the audit needs, and what
they say about each table. Pure: the listings are read in tasks/aws/backup_points.py.

With AWS Backup's advanced DynamoDB features a table's cross-Region copy is a recovery point in the
destination Region's vault (ListRecoveryPointsByBackupVault), whose ResourceArn is the original table's
(arn:aws:dynamodb:REGION:ACCOUNT:table/NAME). Only COMPLETED points can be restored
(API_RecoveryPointByBackupVault: Status).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from tasks.catalog.policy import Policy
from tasks.catalog.runbook import Resource, ResourceKind, Runbook
from tasks.evidence.inventory import LiveResource
from tasks.rules.restore_plan import copy_regions_for

RESOURCE_TYPE = "DynamoDB"  # ListRecoveryPointsByBackupVault ByResourceType
USABLE = ("COMPLETED", "AVAILABLE")

Place = tuple[str | None, str]  # (account, region) of one vault listing


def mechanism(vault: str) -> str:
    return f"AWS Backup copy in vault {vault}"


def copy_regions(policy: Policy, runbook: Runbook, spec: Resource) -> list[str]:
    """Pure. The DR regions whose vault is read for this entry's tables: none unless the policy has an
    `aws_backup:` section and the tier needs a cross-region copy; the section's regions, if any, narrow them."""
    section = policy.aws_backup
    if section is None or spec.kind != ResourceKind.dynamodb_table or not policy.needs_cross_region_copy(runbook.tier):
        return []
    regions = copy_regions_for(runbook, spec.expect.copy_regions)
    return [r for r in regions if not section.regions or r in section.regions]


def places(policy: Policy, entries: list[tuple[Runbook, Resource]]) -> list[Place]:
    """Pure. Each (account, DR region) vault listing the audit needs: one per vault and region, whatever the
    number of tables."""
    found: set[Place] = set()
    for runbook, spec in entries:
        for region in copy_regions(policy, runbook, spec):
            found.update((account, region) for account in spec.all_accounts())
    return sorted(found, key=lambda p: (p[0] or "", p[1]))


def newest_copies(points: list[dict[str, Any]], copy_region: str) -> dict[tuple[str, str, str], datetime]:
    """Pure. (source region, account, table name) -> CreationDate of the newest usable DynamoDB point in
    this vault whose table lives in another region (a point of a table in `copy_region` is no DR copy)."""
    newest: dict[tuple[str, str, str], datetime] = {}
    for point in points:
        arn = point.get("ResourceArn") or ""
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
            continue
        if point.get("Status") not in USABLE or point.get("CreationDate") is None:
            continue
        key = (parts[3], parts[4], parts[5].split("/")[1])
        if key[0] == copy_region:
            continue
        if key not in newest or point["CreationDate"] > newest[key]:
            newest[key] = point["CreationDate"]
    return newest


def with_backup_copies(
    member: LiveResource,
    regions: list[str],
    listings: dict[Place, list[dict[str, Any]]],
    unread: dict[Place, str],
    vault: str,
    now: datetime,
) -> LiveResource:
    """Pure. `member` (a DynamoDB table) with the AWS Backup copies found in `regions` added to its
    copy_regions / copy_ages (and copy_mechanisms naming the vault), and `copy_unreadable` for each region
    whose vault could not be read. A member without an account (the default credentials') is matched by
    region and table name only."""
    if member.kind != ResourceKind.dynamodb_table.value or not regions:
        return member
    attrs = dict(member.attrs)
    copies = set(attrs.get("copy_regions") or [])
    ages = dict(attrs.get("copy_ages") or {})
    for region in copies:
        ages.setdefault(region, 0.0)  # a global table replica is current
    mechanisms = dict(attrs.get("copy_mechanisms") or dict.fromkeys(copies, "DynamoDB global table replica"))
    problems = dict(attrs.get("copy_unreadable") or {})
    account = member.account
    for region in regions:
        place = (account, region)
        if place in unread:
            problems[region] = unread[place]
            continue
        for (source, owner, name), when in newest_copies(listings.get(place, []), region).items():
            if source != member.region or name != member.id or (account is not None and owner != account):
                continue
            age = max(0.0, (now - when).total_seconds())
            if region not in copies or (ages.get(region) is not None and age < ages[region]):
                ages[region] = age
                mechanisms[region] = mechanism(vault)
            copies.add(region)
    attrs.update(
        copy_regions=sorted(copies),
        copy_ages=dict(sorted(ages.items())),
        copy_mechanisms=mechanisms,
        copy_unreadable=problems,
    )
    return replace(member, attrs=attrs)
