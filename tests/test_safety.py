"""Production safety under faults: every AWS call of every flow recorded and checked, throttling,
AccessDenied in one account, concurrent runs, an unwritable evidence store, and secrets in outputs."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import boto3
import httpx
import pytest
import yaml

from flows.backup_posture_audit import backup_posture_audit
from flows.backup_restore_test import backup_restore_test
from flows.documentation_review import documentation_review
from flows.dr_simulation import dr_simulation
from flows.orphan_sweep import orphan_sweep
from tasks.aws.clients import AwsClients
from tasks.aws.guard import NAME_PREFIX, OWNER_TAG, OWNER_VALUE
from tasks.aws.owned import list_owned
from tasks.errors import EvidenceError
from tasks.evidence.runlock import RunInProgress
from tests.aws_faults import error_response
from tests.conftest import REPO_ROOT
from tests.estate import AUDIT_GAPS, build_estate, gap_keys, restore_section, write_catalog

READ = re.compile(r"^(Describe|List|Get|Head|AssumeRole)")
TARGET_PARAMS = (
    "TargetDBInstanceIdentifier",
    "TargetTableName",
    "TargetDBSnapshotIdentifier",
    "TargetDBClusterSnapshotIdentifier",
    "DBInstanceIdentifier",
    "DBClusterIdentifier",
    "TableName",
    "VolumeId",
    "Bucket",
    "ResourceArn",
)


def hook_clients(monkeypatch, install):
    """Run `install(client, service, account)` once for every client the tool makes."""
    original = AwsClients.client

    def client(self, service, region, account=None):
        made = original(self, service, region, account)
        if not getattr(made, "_hooked", False):
            install(made, service, account)
            made._hooked = True
        return made

    monkeypatch.setattr(AwsClients, "client", client)


@pytest.fixture
def world(prefect_harness, aws, tmp_path):
    builder = build_estate()
    isolation = {region: builder.isolation(region) for region in ("us-east-2", "us-west-1", "ap-southeast-2")}
    catalog = write_catalog(tmp_path / "runbooks")
    (catalog / "policy.yaml").write_text(yaml.safe_dump({"restore": restore_section(builder, isolation)}))
    shutil.copytree(REPO_ROOT / "runbooks" / "scenarios", catalog / "scenarios")
    builder.put_object("us-east-2", "payments-receipts", "receipts/1.json", b'{"v": 1}')
    builder.put_object("us-east-2", "payments-receipts", "receipts/1.json", b'{"v": 2}')
    return {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence"), "tmp": tmp_path, "builder": builder}


def test_no_flow_ever_mutates_anything_it_does_not_own(world, monkeypatch):
    calls: list[tuple[str, str, dict]] = []

    def record(client, service, account):
        # Registered first, so it sees every call before the interlock can refuse it.
        client.meta.events.register_first(
            "before-parameter-build", lambda model, params, **_: calls.append((service, model.name, dict(params)))
        )

    hook_clients(monkeypatch, record)
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.01")
    common = {"runbooks": world["runbooks"], "evidence": world["evidence"]}
    documentation_review(**common)
    backup_posture_audit(**common)
    backup_restore_test(**common, poll_seconds=0.01, concurrency=1)  # moto in-process is not thread-safe
    orphan_sweep(**common)
    dr_simulation(scenario="az-loss", non_interactive=True, drill="az-failover", allow_disruptive=True, **common)
    dr_simulation(
        scenario="region-loss", non_interactive=True, drill="region-failover", allow_disruptive=True, **common
    )

    mutations = [(service, op, params) for service, op, params in calls if not READ.match(op)]
    assert {op for _, op, _ in mutations} >= {
        "RestoreDBInstanceFromDBSnapshot",
        "RestoreDBInstanceToPointInTime",
        "DeleteDBInstance",
        "RestoreTableToPointInTime",
        "DeleteTable",
        "CreateVolume",
        "DeleteVolume",
        "CopyObject",
        "DeleteBucket",
        "RestoreDBClusterFromSnapshot",
        "RebootDBInstance",
    }
    for service, op, params in mutations:
        if op == "RebootDBInstance":
            # The one disruptive drill both opt-ins allowed: the ledger runbook says az_failover: true.
            assert params == {"DBInstanceIdentifier": "ledger-primary", "ForceFailover": True}
            continue
        if op == "CreateVolume":
            tags = {t["Key"]: t["Value"] for spec in params["TagSpecifications"] for t in spec["Tags"]}
            assert tags.get(OWNER_TAG) == OWNER_VALUE, params
            continue
        target = next(str(params[p]) for p in TARGET_PARAMS if p in params)
        name = re.split(r"[:/]", target)[-1]
        assert name.startswith(NAME_PREFIX) or target.startswith("vol-"), (op, params)
        if op.startswith(("Restore", "Create", "Copy")) and service != "s3" and op != "CopyObject":
            tags = {t["Key"]: t["Value"] for t in params.get("Tags", [])}
            assert tags.get(OWNER_TAG) == OWNER_VALUE or service == "dynamodb", (op, params)
    assert all(list_owned(AwsClients(), r) == [] for r in ("us-east-2", "us-west-1", "ap-southeast-2"))


def test_throttling_on_a_third_of_calls_changes_no_finding(world, monkeypatch):
    baseline = backup_posture_audit(runbooks=world["runbooks"], evidence=world["evidence"])
    counter = {"calls": 0, "throttled": 0}
    codes = {
        "rds": ("Throttling", 400),
        "ec2": ("RequestLimitExceeded", 503),
        "s3": ("SlowDown", 503),
        "dynamodb": ("ThrottlingException", 400),
    }
    lock = threading.Lock()

    def throttle(client, service, account):
        def maybe(**_):
            with lock:
                counter["calls"] += 1
                if counter["calls"] % 3:
                    return None
                counter["throttled"] += 1
            return error_response(service, *codes[service])

        # Service-specific, so it answers before moto's own catch-all before-send handler.
        client.meta.events.register(f"before-send.{client.meta.service_model.service_id.hyphenize()}", maybe)

    hook_clients(monkeypatch, throttle)
    throttled = backup_posture_audit(runbooks=world["runbooks"], evidence=world["evidence"])
    assert counter["throttled"] >= 5 and counter["throttled"] * 3 >= counter["calls"] - 2
    read = lambda s: json.loads((Path(s["evidence_dir"]) / "results.json").read_text())["findings"]  # noqa: E731
    assert gap_keys(read(throttled)) == gap_keys(read(baseline)) == AUDIT_GAPS


def test_access_denied_in_one_account_is_not_assessed_and_the_rest_complete(world, monkeypatch):
    role = "arn:aws:iam::222222222222:role/dr-automation"
    creds = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="setup")["Credentials"]
    boto3.client(
        "dynamodb",
        region_name="us-east-2",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).create_table(
        TableName="billing",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    catalog = Path(world["runbooks"])
    (catalog / "billing.yaml").write_text(
        "service: billing\nname: Billing\ntier: 1\nresources:\n"
        "  - {kind: dynamodb_table, id: billing, region: us-east-2, "
        "account: '222222222222', expect: {pitr: true}}\n"
    )
    policy = yaml.safe_load((catalog / "policy.yaml").read_text())
    policy["accounts"] = {"222222222222": role}
    (catalog / "policy.yaml").write_text(yaml.safe_dump(policy))

    def deny(client, service, account):
        if account == "222222222222":
            client.meta.events.register(
                f"before-send.{client.meta.service_model.service_id.hyphenize()}",
                lambda **_: error_response(service, "AccessDeniedException", 400),
            )

    hook_clients(monkeypatch, deny)
    summary = backup_posture_audit(runbooks=world["runbooks"], evidence=world["evidence"])
    record = json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())
    statuses = {s["service"]: s["status"] for s in record["services"]}
    assert statuses["billing"] == "not_assessed" and statuses["ledger"] == "pass", [
        (f["check"], f["detail"]) for f in record["findings"] if f["service"] == "billing"
    ]
    billing = [f for f in record["findings"] if f["service"] == "billing"]
    assert [f["check"] for f in billing] == ["backup.not_assessed"] and "AccessDenied" in billing[0]["detail"]
    assert gap_keys(f for f in record["findings"] if f["service"] != "billing") == AUDIT_GAPS


def test_a_second_run_at_once_refuses_or_waits(world):
    catalog = Path(world["runbooks"])
    ledger = catalog / "ledger.yaml"
    ledger.write_text(
        ledger.read_text().replace(
            "validation: [{name: up, kind: status}]",
            'validation: [{name: up, kind: status}, {name: slow, kind: command, command: ["sleep", "1"]}]',
        )
    )
    first: dict = {}
    thread = threading.Thread(
        target=lambda: first.update(
            backup_restore_test(
                runbooks=world["runbooks"],
                evidence=world["evidence"],
                services=["ledger"],
                poll_seconds=0.01,
                concurrency=1,
            )
        )
    )  # moto's in-process backends are not thread-safe under two runs at once
    thread.start()
    lock_file = Path(world["evidence"]) / "backup-restore-test" / ".run.lock"
    deadline = time.monotonic() + 60
    while not (lock_file.exists() and lock_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(RunInProgress, match="another backup-restore-test run is in progress"):
        backup_restore_test(runbooks=world["runbooks"], evidence=world["evidence"], services=["ledger"])
    waited = backup_restore_test(
        runbooks=world["runbooks"],
        evidence=world["evidence"],
        services=["ledger"],
        poll_seconds=0.01,
        wait=120,
        concurrency=1,
    )
    thread.join()
    # Both ran all five restores, and all five met their targets (snapshot ages are not judged where PITR is on).
    assert first["restores"] == waited["restores"] == 5 and first["passed"] == waited["passed"] == 5
    assert list_owned(AwsClients(), "us-east-2") == [] and list_owned(AwsClients(), "us-west-1") == []


def test_an_unwritable_evidence_store_stops_the_run_before_any_aws_call(world, monkeypatch):
    calls: list[str] = []
    hook_clients(
        monkeypatch,
        lambda client, service, account: client.meta.events.register_first(
            "before-parameter-build", lambda model, **_: calls.append(model.name)
        ),
    )
    blocker = world["tmp"] / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(EvidenceError, match="not writable"):
        backup_restore_test(runbooks=world["runbooks"], evidence=str(blocker / "evidence"))
    assert calls == []


def test_secrets_never_reach_logs_reports_artifacts_tickets_or_evidence(
    world, monkeypatch, capfd, caplog, prefect_harness
):
    from tests.jira_server import PROJECT, Jira820

    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAFAKEDRSECRET0001",
        "AWS_SECRET_ACCESS_KEY": "fakeDrSecretKey/0123456789abcdef",
        "AWS_SESSION_TOKEN": "FakeDrSessionToken+xyz987",
    }
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    jira = Jira820(users=("pay-champ@example.org",))
    token = "jira-fake-token-SECRET-42"
    monkeypatch.setenv("DR_JIRA_URL", jira.url)
    monkeypatch.setenv("DR_JIRA_PROJECT", PROJECT)
    monkeypatch.setenv("DR_JIRA_TOKEN", token)
    try:
        common = {"runbooks": world["runbooks"], "evidence": world["evidence"], "tracker": "jira"}
        runs = [
            documentation_review(**common),
            backup_posture_audit(**common),
            backup_restore_test(**common, services=["ledger", "legacy"], poll_seconds=0.01, concurrency=1),
        ]
        tickets = json.dumps(jira.tool_issues(), default=str)
    finally:
        jira.stop()
    assert "dr-automation" in tickets
    texts = {"tickets": tickets, "captured output": "".join(capfd.readouterr()), "log records": caplog.text}
    for path in Path(world["evidence"]).rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_text(errors="replace")
    artifacts = httpx.post(
        f"{prefect_harness}/artifacts/filter",
        json={"flow_runs": {"id": {"any_": [r["run_id"] for r in runs]}}, "limit": 200, "offset": 0, "sort": "KEY_ASC"},
    )
    texts["artifacts"] = artifacts.text
    logs = httpx.post(
        f"{prefect_harness}/logs/filter",
        json={
            "logs": {"flow_run_id": {"any_": [r["run_id"] for r in runs]}},
            "limit": 200,
            "offset": 0,
            "sort": "TIMESTAMP_ASC",
        },
    )
    texts["prefect logs"] = logs.text
    assert len(texts) > 10
    for where, text in texts.items():
        for secret in [*secrets.values(), token]:
            assert secret not in text, f"{secret[:8]}... leaked into {where}"
