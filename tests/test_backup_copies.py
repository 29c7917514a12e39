"""AWS Backup's own recovery points (advanced DynamoDB backups) and their cross-Region copies, on the strict
layer: the emulated Backup API (jobs, listings, pages) and the audit reading the DR vault for DynamoDB tables."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tasks.aws.backup_points import list_vault_points
from tasks.emulator.errors import StrictError
from tasks.evidence.inventory import LiveResource
from tasks.rules.backup_copies import mechanism, newest_copies, with_backup_copies
from tests.conftest import write_runbook

SOURCE, DR = "us-east-1", "us-west-2"
ROLE = "arn:aws:iam::123456789012:role/backup"
VAULT = "dr-vault"


def make_table(name: str) -> str:
    from tasks.demo.builder import EstateBuilder

    EstateBuilder(in_process_mock=True).table(SOURCE, name, pitr=True)
    return boto3.client("dynamodb", region_name=SOURCE).describe_table(TableName=name)["Table"]["TableArn"]


def vaults() -> str:
    boto3.client("backup", region_name=SOURCE).create_backup_vault(BackupVaultName=VAULT)
    return boto3.client("backup", region_name=DR).create_backup_vault(BackupVaultName=VAULT)["BackupVaultArn"]


def backed_up(strict, table_arn: str, dr_vault: str | None, age: timedelta | None = None) -> str | None:
    """A finished backup job of the table, and with `dr_vault` its copy there made `age` ago (the copy's ARN)."""
    source = boto3.client("backup", region_name=SOURCE)
    point = source.start_backup_job(BackupVaultName=VAULT, ResourceArn=table_arn, IamRoleArn=ROLE)["RecoveryPointArn"]
    strict.settle()
    if dr_vault is None:
        return None
    source.start_copy_job(
        RecoveryPointArn=point, SourceBackupVaultName=VAULT, DestinationBackupVaultArn=dr_vault, IamRoleArn=ROLE
    )
    strict.settle()
    copies = boto3.client("backup", region_name=DR).list_recovery_points_by_backup_vault(
        BackupVaultName=VAULT, ByResourceArn=table_arn
    )["RecoveryPoints"]
    copy = max(copies, key=lambda p: p["CreationDate"])["RecoveryPointArn"]
    if age is not None:
        strict.backdate_recovery_point(copy, age)
    return copy


def test_backup_api_makes_lists_and_pages_recovery_points_as_aws_documents(aws, strict_aws):
    table = make_table("events")
    dr_vault = vaults()
    source, dr = boto3.client("backup", region_name=SOURCE), boto3.client("backup", region_name=DR)
    job = source.start_backup_job(BackupVaultName=VAULT, ResourceArn=table, IamRoleArn=ROLE)
    [point] = source.list_recovery_points_by_backup_vault(BackupVaultName=VAULT)["RecoveryPoints"]
    assert point["RecoveryPointArn"] == job["RecoveryPointArn"] and ":recovery-point:" in point["RecoveryPointArn"]
    assert point["Status"] == "CREATING" and point["ResourceArn"] == table and point["ResourceType"] == "DynamoDB"
    # A copy of a point whose job has not finished is refused; once COMPLETED it lands in the DR vault.
    copy = {
        "RecoveryPointArn": job["RecoveryPointArn"],
        "SourceBackupVaultName": VAULT,
        "DestinationBackupVaultArn": dr_vault,
        "IamRoleArn": ROLE,
    }
    with pytest.raises(ClientError, match="InvalidRequestException"):
        source.start_copy_job(**copy)
    strict_aws.settle()
    assert "CopyJobId" in source.start_copy_job(**copy)
    strict_aws.settle()
    [copied] = dr.list_recovery_points_by_backup_vault(BackupVaultName=VAULT)["RecoveryPoints"]
    assert copied["ResourceArn"] == table and copied["SourceBackupVaultArn"].endswith(
        f":{SOURCE}:" + "".join(point["BackupVaultArn"].split(f":{SOURCE}:")[1:])
    )
    assert copied["Status"] == "COMPLETED" and copied["RecoveryPointArn"].startswith(f"arn:aws:backup:{DR}:")
    # ListRecoveryPointsByResource in the source Region: the source's point only (the copy is listed in DR).
    by_resource = source.list_recovery_points_by_resource(ResourceArn=table)["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in by_resource] == [job["RecoveryPointArn"]]
    assert dr.list_recovery_points_by_resource(ResourceArn=table)["RecoveryPoints"][0]["BackupVaultName"] == VAULT
    # Pages: MaxResults and NextToken, every point once.
    for _ in range(4):
        source.start_backup_job(BackupVaultName=VAULT, ResourceArn=table, IamRoleArn=ROLE)
    first = source.list_recovery_points_by_backup_vault(BackupVaultName=VAULT, MaxResults=2)
    assert len(first["RecoveryPoints"]) == 2 and first["NextToken"]
    second = source.list_recovery_points_by_backup_vault(
        BackupVaultName=VAULT, MaxResults=2, NextToken=first["NextToken"]
    )
    seen = [p["RecoveryPointArn"] for page in (first, second) for p in page["RecoveryPoints"]]
    assert len(set(seen)) == 4
    assert len(list_vault_points(source, VAULT, "DynamoDB", page_size=2)) == 5
    assert list_vault_points(source, VAULT, "EBS") == []
    assert list_vault_points(source, "no-such-vault") == []  # the vault checks report a missing vault
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        source.list_recovery_points_by_backup_vault(BackupVaultName="no-such-vault")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        source.start_backup_job(
            BackupVaultName=VAULT, ResourceArn=table.replace("table/events", "table/nope"), IamRoleArn=ROLE
        )


NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def test_copies_rule_matches_the_original_table_and_keeps_the_newest_usable_point():
    arn = f"arn:aws:dynamodb:{SOURCE}:123456789012:table/events"
    points = [
        {"ResourceArn": arn, "Status": "COMPLETED", "CreationDate": NOW - timedelta(days=3)},
        {"ResourceArn": arn, "Status": "COMPLETED", "CreationDate": NOW - timedelta(days=1)},
        {"ResourceArn": arn, "Status": "CREATING", "CreationDate": NOW},  # not restorable yet
        {"ResourceArn": f"arn:aws:dynamodb:{DR}:123456789012:table/events", "Status": "COMPLETED", "CreationDate": NOW},
    ]
    assert newest_copies(points, DR) == {(SOURCE, "123456789012", "events"): NOW - timedelta(days=1)}
    table = LiveResource(kind="dynamodb_table", region=SOURCE, id="events", attrs={"copy_regions": []})
    found = with_backup_copies(table, [DR], {(None, DR): points}, {}, VAULT, NOW)
    assert found.attrs["copy_regions"] == [DR] and found.attrs["copy_ages"] == {DR: 86400.0}
    assert found.attrs["copy_mechanisms"] == {DR: mechanism(VAULT)}
    other = with_backup_copies(
        LiveResource(kind="dynamodb_table", region=SOURCE, id="events", account="222222222222"),
        [DR],
        {("222222222222", DR): points},
        {},
        VAULT,
        NOW,
    )
    assert other.attrs["copy_regions"] == []  # another account's table of the same name
    denied = with_backup_copies(table, [DR], {}, {(None, DR): "AccessDenied"}, VAULT, NOW)
    assert denied.attrs["copy_unreadable"] == {DR: "AccessDenied"} and denied.attrs["copy_regions"] == []


def runbook(tables: list[str]) -> str:
    entries = "".join(
        f"  - {{kind: dynamodb_table, id: {t}, region: {SOURCE}, expect: {{pitr: true}}}}\n" for t in tables
    )
    return f"""\
service: orders
name: Orders
tier: 1
owner: o@example.org
dr_champion: c@example.org
dr_region: {DR}
documentation: {{last_reviewed: {(date.today() - timedelta(days=10)).isoformat()}}}
procedure: [Restore the tables.]
validation: [{{name: up, kind: status}}]
resources:
{entries}"""


@pytest.fixture
def estate(prefect_harness, aws, strict_aws, tmp_path):
    dr_vault = vaults()
    copied, stale, none = make_table("orders-copied"), make_table("orders-stale"), make_table("orders-none")
    backed_up(strict_aws, copied, dr_vault, age=timedelta(hours=20))
    backed_up(strict_aws, stale, dr_vault, age=timedelta(days=10))
    backed_up(strict_aws, none, None)  # a point in the source vault only: no DR copy
    catalog = tmp_path / "runbooks"
    write_runbook(catalog, "orders.yaml", runbook(["orders-copied", "orders-stale", "orders-none"]))
    (catalog / "policy.yaml").write_text(f"aws_backup: {{vault: {VAULT}, require_lock: false}}\n")
    listings = []

    @strict_aws.requests.on("backup", "ListRecoveryPointsByBackupVault", first=True)
    def count(response, proceed):
        listings.append(response.region)
        return proceed()

    return {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence"), "listings": listings}


def audit(estate) -> dict:
    from flows.backup_posture_audit import backup_posture_audit

    summary = backup_posture_audit(runbooks=estate["runbooks"], evidence=estate["evidence"])
    return json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())


def test_audit_counts_aws_backup_copies_in_the_dr_vault(estate, strict_aws):
    strict_aws.throttle(0.2)  # throttled listings are retried, the result is the same
    record = audit(estate)
    found = sorted((f["check"], f["resource"].split(":")[-1]) for f in record["findings"])
    assert found == [
        ("backup.no_cross_region_copy", "orders-none"),
        ("backup.stale_cross_region_copy", "orders-stale"),
    ]
    stale = next(f for f in record["findings"] if f["check"] == "backup.stale_cross_region_copy")
    assert f"AWS Backup copy in vault {VAULT}" in stale["detail"] and "10d" in stale["detail"]
    assert stale["evidence"]["age_seconds"] >= 10 * 86400 - 60 and stale["evidence"]["mechanism"] == mechanism(VAULT)
    missing = next(f for f in record["findings"] if f["check"] == "backup.no_cross_region_copy")
    assert f"no AWS Backup copy in vault {VAULT}" in missing["detail"] and DR in missing["detail"]
    # One listing of the DR vault for the three tables (plus retries of throttled requests).
    assert estate["listings"] == [DR]  # a throttled request is refused before any hook sees it


def test_a_dr_vault_the_tool_may_not_read_leaves_the_copy_checks_not_assessed(estate, strict_aws):
    @strict_aws.requests.on("backup", "ListRecoveryPointsByBackupVault", first=True)
    def denied(response, proceed):
        raise StrictError("AccessDeniedException", "not authorized to perform: backup:ListRecoveryPointsByBackupVault")

    record = audit(estate)
    checks = {f["check"] for f in record["findings"]}
    assert checks == {"backup.not_assessed"} and len(record["findings"]) == 3
    assert all("AccessDeniedException" in f["detail"] for f in record["findings"])
    assert {s["status"] for s in record["services"] if s["service"] == "orders"} == {"not_assessed"}


def test_the_backup_api_is_served_by_motos_server_too(moto_server, strict_aws):
    # moto's server builds its routes from moto's URL table: the layer's paths (trailing slash and an ARN
    # with a `/` in it) must reach it as they reach in-process moto.
    table = boto3.client("dynamodb", region_name=SOURCE).create_table(
        TableName="events",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )["TableDescription"]["TableArn"]
    strict_aws.settle()
    copy = backed_up(strict_aws, table, vaults(), age=timedelta(days=3))
    [listed] = list_vault_points(boto3.client("backup", region_name=DR), VAULT, "DynamoDB")
    assert listed["RecoveryPointArn"] == copy and listed["Status"] == "COMPLETED"
    assert datetime.now(UTC) - listed["CreationDate"] > timedelta(days=3) - timedelta(minutes=1)
    by_resource = boto3.client("backup", region_name=SOURCE).list_recovery_points_by_resource(ResourceArn=table)
    assert [p["Status"] for p in by_resource["RecoveryPoints"]] == ["COMPLETED"]


def test_a_region_loss_restores_the_tables_aws_backup_copy_and_loses_at_least_its_age():
    from tasks.catalog.policy import Policy
    from tasks.catalog.runbook import Runbook
    from tasks.catalog.scenario import Scenario
    from tasks.evidence.inventory import Observation
    from tasks.rules.impact import analyse

    scenario = Scenario.model_validate(
        {
            "id": "region-loss",
            "name": "Region loss",
            "narrative": "us-east-1 is gone.",
            "blast_radius": {"kind": "region", "regions": [SOURCE]},
            "injects": [{"id": "down", "title": "Down", "description": "Nothing answers."}],
        }
    )
    book = Runbook.model_validate(
        {
            "service": "orders",
            "name": "Orders",
            "tier": 1,
            "dr_region": DR,
            "resources": [{"kind": "dynamodb_table", "id": "events", "region": SOURCE}],
        }
    )
    points = [
        {
            "ResourceArn": f"arn:aws:dynamodb:{SOURCE}:123456789012:table/events",
            "Status": "COMPLETED",
            "CreationDate": NOW - timedelta(hours=6),
        }
    ]

    def resource(listed: list[dict]):
        table = LiveResource(kind="dynamodb_table", region=SOURCE, id="events", attrs={"pitr": True})
        member = with_backup_copies(table, [DR], {(None, DR): listed}, {}, VAULT, NOW)
        live = {"orders": [Observation(spec=book.resources[0], index=0, members=[member])]}
        [row] = analyse(scenario, {"orders": book}, ["orders"], Policy(), live, {}, NOW.date(), region=SOURCE)
        return row.resources[0]

    copied = resource(points)
    assert copied.path == f"restore the {mechanism(VAULT)} in {DR}" and copied.rpo_seconds == 6 * 3600
    none = resource([])
    assert none.path is None and "no cross-region copy" in (none.reason or "")
