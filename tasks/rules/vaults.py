"""AWS Backup vaults against the policy's `aws_backup:` section: pure checks of what DescribeBackupVault said.

A vault serves the whole programme, not one service: its findings belong to the programme's own service id
(`dr-program`, as the simulation's action items do), one per (account, region, vault).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tasks.catalog.policy import AwsBackupPolicy
from tasks.catalog.runbook import Runbook
from tasks.evidence.findings import PROGRAM, Check, CheckSet, Finding
from tasks.rules.restore_plan import copy_regions_for

VAULT_CHECK_PREFIX = "backup.vault_"


CHECKS = CheckSet(
    Check(
        "backup.vault_missing",
        "high",
        "AWS Backup vault not found",
        "Create the vault the policy's aws_backup.vault names in this region (or correct the name), and point "
        "the backup plan's rules and copy rules at it.",
    ),
    Check(
        "backup.vault_unlocked",
        "high",
        "AWS Backup vault has no Vault Lock",
        "Put a Vault Lock on the vault (PutBackupVaultLockConfiguration; compliance mode with ChangeableForDays "
        "makes it immutable), so recovery points cannot be deleted early, by ransomware or by mistake.",
    ),
    Check(
        "backup.vault_retention_below_policy",
        "medium",
        "Vault Lock minimum retention below policy",
        "Raise the Vault Lock's MinRetentionDays to the policy's aws_backup.min_retention_days (possible only "
        "while the lock is still changeable).",
    ),
)
make_finding = CHECKS.make


def vault_resource(account: str | None, region: str, vault: str) -> str:
    return f"backup_vault:{account + ':' if account else ''}{region}:{vault}"


def lock_mode(vault: dict[str, Any], now: datetime) -> str:
    """Pure. API_DescribeBackupVault: Locked; a LockDate means compliance mode, immutable once it passes."""
    if not vault.get("Locked"):
        return "none"
    lock_date = vault.get("LockDate")
    if lock_date is None:
        return "governance"
    return "compliance" if lock_date <= now else "compliance (changeable until its LockDate)"


def audit_vault(
    section: AwsBackupPolicy, account: str | None, region: str, vault: dict[str, Any] | None, now: datetime
) -> list[Finding]:
    """Pure. `vault`: DescribeBackupVault's answer, or None when AWS says there is no such vault."""
    resource = vault_resource(account, region, section.vault)
    where = f"AWS Backup vault {section.vault} ({region}{', account ' + account if account else ''})"

    def finding(check: str, detail: str, **evidence: object) -> Finding:
        return make_finding(
            check,
            service=PROGRAM,
            tier=None,
            resource=resource,
            detail=f"{where}: {detail}",
            evidence={"vault": section.vault, "region": region, "account": account, **evidence},
        )

    if vault is None:
        return [finding("backup.vault_missing", "no such vault.")]
    found: list[Finding] = []
    mode = lock_mode(vault, now)
    if section.require_lock and mode == "none":
        found.append(finding("backup.vault_unlocked", "no Vault Lock; the policy requires one.", lock_mode=mode))
    minimum = vault.get("MinRetentionDays")
    # Without a lock nothing enforces a minimum: that is the retention gap too, unless the lock gap says it.
    required = section.min_retention_days
    applies = required is not None and (mode != "none" or not section.require_lock)
    if applies and (minimum is None or minimum < required):
        found.append(
            finding(
                "backup.vault_retention_below_policy",
                f"the Vault Lock keeps recovery points at least {minimum or 'no'} day(s); the policy requires "
                f"{required}.",
                min_retention_days=minimum,
                required=required,
                lock_mode=mode,
            )
        )
    return found


def checks_run(section: AwsBackupPolicy) -> list[str]:
    """Pure. The vault checks a policy section asks for (for "n of m checks pass")."""
    return (
        ["backup.vault_missing"]
        + ["backup.vault_unlocked"] * section.require_lock
        + ["backup.vault_retention_below_policy"] * (section.min_retention_days is not None)
    )


def vault_places(section: AwsBackupPolicy, runbooks: list[Runbook]) -> list[tuple[str | None, str]]:
    """Pure. The (account, region) pairs whose vault is read: the section's regions, else every region the
    runbooks' resources and DR copies are in; in each account those resources are in."""
    accounts: set[str | None] = set()
    regions: set[str] = set(section.regions)
    for runbook in runbooks:
        for spec in runbook.resources:
            accounts.update(spec.all_accounts())
            if not section.regions:
                regions.update(spec.all_regions() + copy_regions_for(runbook, spec.expect.copy_regions))
    return sorted(((a, r) for a in (accounts or {None}) for r in regions), key=lambda p: (p[0] or "", p[1]))
