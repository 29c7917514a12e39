"""AWS Backup's recovery points and the age of DR copies, end to end on the strict AWS layer: an estate with
daily snapshots hours old, PITR on, AWS Backup recovery points and one DR copy ten days old."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest
import yaml

from flows.backup_posture_audit import backup_posture_audit
from flows.backup_restore_test import backup_restore_test
from tasks.demo.builder import EstateBuilder
from tasks.emulator.timeline import windows_opened
from tests.conftest import write_runbook
from tests.estate import restore_section

SOURCE, DR = "us-east-1", "us-west-2"


def runbook_text() -> str:
    fresh = (date.today() - timedelta(days=10)).isoformat()
    return f"""\
service: orders
name: Orders
tier: 1
owner: o@example.org
dr_champion: c@example.org
dr_region: {DR}
documentation: {{last_reviewed: {fresh}}}
procedure: [Restore orders-db.]
validation: [{{name: up, kind: status}}]
resources:
  - {{kind: rds_instance, id: orders-db, region: {SOURCE}, expect: {{copy_regions: [{DR}]}}}}
  - {{kind: ebs_volume, select: {{tags: {{Name: orders-spool}}}}, region: {SOURCE}, expect: {{copy_regions: [{DR}]}}}}
  - {{kind: dynamodb_table, id: orders-events, region: {SOURCE}, expect: {{pitr: true}}}}
"""


@pytest.fixture
def estate(prefect_harness, aws, strict_aws, tmp_path):
    builder = EstateBuilder(in_process_mock=True)
    # The daily automated snapshot is six hours old, older than AWS Backup's three-hour point, whatever the
    # hour (moto's default window 13:14 UTC made it the newer one for three hours a day).
    builder.rds_instance(SOURCE, "orders-db", retention=30, windows=windows_opened(timedelta(hours=6)))
    volume = builder.volume(SOURCE, "orders-spool", snapshot=False)
    builder.table(SOURCE, "orders-events", pitr=True)
    strict_aws.settle()
    # AWS Backup: a fresh point of each; the database's only DR copy is ten days old, the volume's a day.
    strict_aws.aws_backup("rds_instance", SOURCE, "orders-db", age=timedelta(hours=3))
    old = strict_aws.aws_backup("rds_instance", SOURCE, "orders-db", age=timedelta(days=10), copy_to=DR)
    spool = strict_aws.aws_backup(
        "ebs_volume", SOURCE, volume, age=timedelta(hours=5), copy_to=DR, copy_age=timedelta(hours=4)
    )
    strict_aws.aws_backup("dynamodb_table", SOURCE, "orders-events", age=timedelta(hours=2))
    strict_aws.settle()
    catalog = tmp_path / "runbooks"
    write_runbook(catalog, "orders.yaml", runbook_text())
    isolation = {region: builder.isolation(region) for region in (SOURCE, DR)}
    (catalog / "policy.yaml").write_text(yaml.safe_dump({"restore": restore_section(builder, isolation)}))
    return {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence"), "old_copy": old["copy"], "spool": spool}


def results(summary) -> dict:
    return json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())


def test_aws_backup_points_are_visible_only_as_aws_documents(aws, strict_aws):
    builder = EstateBuilder(in_process_mock=True)
    builder.rds_instance(SOURCE, "db1", retention=30)
    builder.table(SOURCE, "t1", pitr=False)
    strict_aws.settle()
    made = strict_aws.aws_backup("rds_instance", SOURCE, "db1", copy_to=DR)
    table = strict_aws.aws_backup("dynamodb_table", SOURCE, "t1")
    rds = boto3.client("rds", region_name=SOURCE)
    default = {s["DBSnapshotIdentifier"] for s in rds.describe_db_snapshots()["DBSnapshots"]}
    backup = rds.describe_db_snapshots(SnapshotType="awsbackup")["DBSnapshots"]
    assert made["point"] not in default and [s["DBSnapshotIdentifier"] for s in backup] == [made["point"]]
    assert backup[0]["SnapshotType"] == "awsbackup" and made["point"].startswith("awsbackup:job-")
    ddb = boto3.client("dynamodb", region_name=SOURCE)
    assert ddb.list_backups(TableName="t1")["BackupSummaries"] == []  # USER by default
    [summary] = ddb.list_backups(TableName="t1", BackupType="AWS_BACKUP")["BackupSummaries"]
    assert summary["BackupArn"] == table["point"] and summary["BackupType"] == "AWS_BACKUP"


def test_audit_flags_only_the_stale_copy(estate):
    record = results(backup_posture_audit(runbooks=estate["runbooks"], evidence=estate["evidence"]))
    assert [(f["check"], f["subject"]) for f in record["findings"]] == [("backup.stale_cross_region_copy", DR)]
    [finding] = record["findings"]
    assert finding["resource"].endswith("orders-db") and "10d" in finding["detail"]
    assert finding["evidence"]["age_seconds"] >= 10 * 86400 - 60


def test_restore_uses_aws_backup_points_and_judges_each_path_against_its_disruption(estate):
    summary = backup_restore_test(
        runbooks=estate["runbooks"], evidence=estate["evidence"], concurrency=1, poll_seconds=0.05
    )
    record = results(summary)
    by_path = {(m["kind"], m["mode"], m["region"]): m for m in record["measurements"]}
    # PITR meets the in-region target; the hours-old snapshot is shown, not judged: no rpo_exceeded there.
    pitr = by_path[("rds_instance", "pitr-latest", SOURCE)]
    snapshot = by_path[("rds_instance", "snapshot", SOURCE)]
    assert pitr["passed"] and pitr["rpo_seconds"] < pitr["rpo_target_seconds"] == 3600
    assert snapshot["passed"] and snapshot["rpo_judged"] is False and snapshot["rpo_seconds"] > 3600
    # The DR copy made by AWS Backup ten days ago is judged against the region-loss RPO, and misses it.
    dr = by_path[("rds_instance", "snapshot-dr", DR)]
    assert dr["recovery_point"] == estate["old_copy"] and dr["recovery_mechanism"].startswith("AWS Backup")
    assert dr["disruption"] == "region" and dr["rpo_target_seconds"] == 48 * 3600 and not dr["passed"]
    # The volume's DR copy is found by AWS Backup's source tag (its VolumeId is vol-ffffffff) and restored.
    assert snapshot["recovery_point"].startswith("awsbackup:job-")  # the newest scheduled point: AWS Backup's
    assert by_path[("ebs_volume", "snapshot", SOURCE)]["passed"]  # 5h old, within the daily snapshot_max_age
    ebs_dr = by_path[("ebs_volume", "snapshot-dr", DR)]
    assert ebs_dr["passed"] and ebs_dr["recovery_point"] == estate["spool"]["copy"]
    assert ebs_dr["recovery_mechanism"] == "AWS Backup"
    # The table's AWS Backup backup (BackupType AWS_BACKUP) is restored too, with RestoreTableFromBackup; PITR
    # covers the in-region RPO, so its two-hour age is shown, not judged.
    table = by_path[("dynamodb_table", "snapshot", SOURCE)]
    assert table["passed"] and table["recovery_mechanism"] == "AWS Backup" and table["rpo_judged"] is False
    assert ":table/orders-events/backup/" in table["recovery_point"] and table["rpo_seconds"] > 7000
    assert by_path[("dynamodb_table", "pitr-latest", SOURCE)]["recovery_mechanism"] == (
        "DynamoDB point-in-time recovery"
    )
    rpo_findings = {f["subject"] for f in record["findings"] if f["check"] == "restore.rpo_exceeded"}
    assert rpo_findings == {f"snapshot-dr@{DR}"}
    report = (Path(summary["evidence_dir"]) / "report.md").read_text()
    assert "Region loss: RPO = age of the DR copy's data" in report and "AWS Backup" in report


def test_a_table_without_pitr_is_restored_from_its_aws_backup_backup_and_the_audit_names_it(
    prefect_harness, aws, strict_aws, tmp_path
):
    builder = EstateBuilder(in_process_mock=True)
    builder.table(SOURCE, "orders-events", pitr=False)
    strict_aws.settle()
    made = strict_aws.aws_backup("dynamodb_table", SOURCE, "orders-events", age=timedelta(minutes=30))
    boto3.client("dynamodb", region_name=SOURCE).create_backup(TableName="orders-events", BackupName="older-user")
    strict_aws.settle()
    catalog = tmp_path / "runbooks"
    text = runbook_text().split("resources:")[0] + (
        f"resources:\n  - {{kind: dynamodb_table, id: orders-events, region: {SOURCE}}}\n"
    )
    write_runbook(catalog, "orders.yaml", text)
    common = {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence")}

    audit = results(backup_posture_audit(**common))
    [finding] = [f for f in audit["findings"] if f["check"] == "dynamodb.pitr_disabled"]
    assert "newest backup (DynamoDB on-demand backup)" in finding["detail"]  # the user's, made just now
    assert {b["mechanism"] for b in finding["evidence"]["backups"]} == {"AWS Backup", "DynamoDB on-demand backup"}

    record = results(backup_restore_test(**common, concurrency=1, poll_seconds=0.05))
    by_mode = {m["mode"]: m for m in record["measurements"] if m["kind"] == "dynamodb_table"}
    assert by_mode["pitr-latest"]["status"] == "no_recovery_point"
    snapshot = by_mode["snapshot"]
    # The newest backup is the user's (seconds old); without PITR its age is judged against the in-region RPO.
    assert snapshot["passed"] and snapshot["rpo_judged"] is True and snapshot["cleanup"] == "deleted"
    assert snapshot["recovery_mechanism"] == "DynamoDB on-demand backup" and snapshot["recovery_point"] != made["point"]
