"""AWS Backup vaults and Vault Lock, read where the policy's `aws_backup:` section asks (DescribeBackupVault)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from tasks.catalog.load import load_policy
from tasks.catalog.policy import AwsBackupPolicy
from tasks.errors import CatalogError
from tasks.rules.vaults import audit_vault, lock_mode, vault_places
from tests.conftest import write_runbook

REGION, DR = "us-east-1", "us-west-2"
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def checks(section: dict, vault: dict | None) -> list[str]:
    return [f.check for f in audit_vault(AwsBackupPolicy.model_validate(section), None, REGION, vault, NOW)]


def test_vault_rules():
    locked = {"Locked": True, "MinRetentionDays": 30}
    assert checks({"vault": "dr"}, None) == ["backup.vault_missing"]
    assert checks({"vault": "dr"}, {"Locked": False}) == ["backup.vault_unlocked"]
    assert checks({"vault": "dr", "require_lock": False}, {"Locked": False}) == []
    assert checks({"vault": "dr", "min_retention_days": 30}, locked) == []
    assert checks({"vault": "dr", "min_retention_days": 35}, locked) == ["backup.vault_retention_below_policy"]
    # Unlocked: the lock finding says it all when a lock is required; else nothing enforces the minimum.
    assert checks({"vault": "dr", "min_retention_days": 7}, {"Locked": False}) == ["backup.vault_unlocked"]
    assert checks({"vault": "dr", "min_retention_days": 7, "require_lock": False}, {"Locked": False}) == [
        "backup.vault_retention_below_policy"
    ]
    [finding] = audit_vault(AwsBackupPolicy(vault="dr"), "111111111111", REGION, {"Locked": False}, NOW)
    assert finding.service == "dr-program" and finding.resource == f"backup_vault:111111111111:{REGION}:dr"
    assert lock_mode({"Locked": True}, NOW) == "governance"
    assert lock_mode({"Locked": True, "LockDate": NOW - timedelta(days=1)}, NOW) == "compliance"


def test_invalid_aws_backup_section_is_fatal_with_its_line(tmp_path):
    path = write_runbook(
        tmp_path,
        "policy.yaml",
        "aws_backup:\n  vault: 'no spaces allowed'\n  require_lock: maybe\n  min_retention_days: 0\n",
    )
    with pytest.raises(CatalogError) as caught:
        load_policy(path)
    located = {(p.line, p.field) for p in caught.value.problems}
    assert {(2, "aws_backup.vault"), (3, "aws_backup.require_lock"), (4, "aws_backup.min_retention_days")} <= located
    with pytest.raises(CatalogError) as caught:
        load_policy(write_runbook(tmp_path, "policy.yaml", "aws_backup:\n  require_lock: true\n"))
    assert any(p.field == "aws_backup.vault" for p in caught.value.problems)


RUNBOOK = f"""\
service: orders
name: Orders
tier: 1
owner: o@example.org
dr_champion: c@example.org
dr_region: {DR}
documentation: {{last_reviewed: {(date.today() - timedelta(days=10)).isoformat()}}}
procedure: [Restore orders-events.]
validation: [{{name: up, kind: status}}]
resources:
  - {{kind: dynamodb_table, id: orders-events, region: {REGION}, expect: {{pitr: true}}}}
"""


def test_places_are_the_services_regions_and_dr_regions_unless_named(tmp_path):
    from tasks.catalog.load import load_catalog

    catalog = tmp_path / "runbooks"
    write_runbook(catalog, "orders.yaml", RUNBOOK)
    loaded = load_catalog(str(catalog))
    runbooks = list(loaded.runbooks.values())
    assert vault_places(AwsBackupPolicy(vault="dr"), runbooks) == [(None, REGION), (None, DR)]
    assert vault_places(AwsBackupPolicy(vault="dr", regions=["eu-west-1"]), runbooks) == [(None, "eu-west-1")]


def test_the_audit_reads_the_vault_and_files_its_lock_gaps(prefect_harness, aws, strict_aws, tmp_path):
    from flows.backup_posture_audit import backup_posture_audit
    from tasks.demo.builder import EstateBuilder

    EstateBuilder(in_process_mock=True).table(REGION, "orders-events", pitr=True)
    strict_aws.settle()
    # Source region: locked (compliance mode, 7 days minimum); DR region: a vault with no lock at all.
    source = boto3.client("backup", region_name=REGION)
    source.create_backup_vault(BackupVaultName="dr-vault")
    source.put_backup_vault_lock_configuration(BackupVaultName="dr-vault", MinRetentionDays=7, ChangeableForDays=3)
    dr_vault = boto3.client("backup", region_name=DR).create_backup_vault(BackupVaultName="dr-vault")["BackupVaultArn"]
    # The table's DR copy is AWS Backup's, in the DR vault (the policy's aws_backup section says where to look).
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName="orders-events")["Table"]["TableArn"]
    role = "arn:aws:iam::123456789012:role/backup"
    point = source.start_backup_job(BackupVaultName="dr-vault", ResourceArn=table, IamRoleArn=role)
    strict_aws.settle()
    source.start_copy_job(
        RecoveryPointArn=point["RecoveryPointArn"],
        SourceBackupVaultName="dr-vault",
        DestinationBackupVaultArn=dr_vault,
        IamRoleArn=role,
    )
    strict_aws.settle()
    catalog = tmp_path / "runbooks"
    write_runbook(catalog, "orders.yaml", RUNBOOK)
    (catalog / "policy.yaml").write_text("aws_backup: {vault: dr-vault, require_lock: true, min_retention_days: 30}\n")
    common = {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence")}

    summary = backup_posture_audit(**common)
    record = json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())
    found = sorted((f["check"], f["resource"]) for f in record["findings"])
    assert found == [
        ("backup.vault_retention_below_policy", f"backup_vault:{REGION}:dr-vault"),
        ("backup.vault_unlocked", f"backup_vault:{DR}:dr-vault"),
    ]
    retention = next(f for f in record["findings"] if f["check"] == "backup.vault_retention_below_policy")
    assert retention["service"] == "dr-program" and retention["evidence"]["min_retention_days"] == 7
    assert retention["evidence"]["lock_mode"].startswith("compliance")  # LockDate still three days ahead
    assert record["tracker"]["created"] == 2

    # The DR vault gets its lock: that ticket is resolved, the other kept.
    boto3.client("backup", region_name=DR).put_backup_vault_lock_configuration(
        BackupVaultName="dr-vault", MinRetentionDays=30
    )
    again = json.loads((Path(backup_posture_audit(**common)["evidence_dir"]) / "results.json").read_text())
    assert [f["check"] for f in again["findings"]] == ["backup.vault_retention_below_policy"]
    assert again["tracker"]["resolved"] == 1
