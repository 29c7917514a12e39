"""Throttling on the strict layer, refused as the services refuse it (RDS and STS `Throttling`, DynamoDB
`ThrottlingException`, EC2 `RequestLimitExceeded`, S3 503 `SlowDown`). Two retries stand between a throttled
call and a failed run: botocore's standard retries of each request (a fifth of all requests throttled: they get
every flow through with the same results), and the tool's own task-level retry of transient errors
(`retry_if_transient`) once botocore has given up on a call (the same call throttled more times than botocore
tries it)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from tasks.aws.clients import AwsClients
from tasks.demo.builder import EstateBuilder
from tests.conftest import write_runbook
from tests.estate import restore_section

REGION, DR = "us-east-2", "us-west-1"

RUNBOOK = f"""\
service: ledger
name: Ledger
tier: 0
owner: o@example.org
dr_champion: c@example.org
dr_region: {DR}
documentation: {{last_reviewed: {(date.today() - timedelta(days=10)).isoformat()}}}
procedure: [Restore the ledger.]
validation: [{{name: up, kind: status}}]
resources:
  - {{kind: rds_instance, id: ledger-primary, region: {REGION}, expect: {{copy_regions: [{DR}]}}}}
  - {{kind: ebs_volume, select: {{tags: {{Name: ledger-journal}}}}, region: {REGION}, expect: {{copy_regions: [{DR}]}}}}
  - {{kind: dynamodb_table, id: ledger-events, region: {REGION}, expect: {{pitr: true}}}}
  - {{kind: s3_bucket, id: ledger-receipts, region: {REGION}, expect: {{versioning: true}}}}
"""


@pytest.fixture
def estate(prefect_harness, aws, strict_aws, tmp_path):
    builder = EstateBuilder(in_process_mock=True)
    builder.rds_instance(REGION, "ledger-primary", retention=35)
    builder.copy_instance_snapshot(REGION, "ledger-primary", DR)
    builder.volume(REGION, "ledger-journal", copy_to=[DR])
    builder.table(REGION, "ledger-events", pitr=True)
    builder.bucket(REGION, "ledger-receipts")
    builder.put_object(REGION, "ledger-receipts", "r/1.json", b'{"v": 1}')
    builder.put_object(REGION, "ledger-receipts", "r/1.json", b'{"v": 2}')
    strict_aws.settle()
    catalog = tmp_path / "runbooks"
    write_runbook(catalog, "ledger.yaml", RUNBOOK)
    isolation = {region: builder.isolation(region) for region in (REGION, DR)}
    (catalog / "policy.yaml").write_text(yaml.safe_dump({"restore": restore_section(builder, isolation)}))
    return {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence")}


def results(summary) -> dict:
    return json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())


def gaps(record: dict) -> list[tuple]:
    return sorted((f["check"], f["resource"]) for f in record["findings"])


def outcome(record: dict) -> list[tuple]:
    return sorted(
        (m["kind"], m["mode"], m["region"], m["status"], m["passed"], m["cleanup"]) for m in record["measurements"]
    )


def test_s3_is_throttled_with_503_slow_down(aws, strict_aws):
    EstateBuilder(in_process_mock=True).bucket(REGION, "ledger-receipts")
    strict_aws.throttle(1.0)
    once = boto3.client("s3", region_name=REGION, config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        once.list_object_versions(Bucket="ledger-receipts")
    assert caught.value.response["Error"]["Code"] == "SlowDown"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    strict_aws.throttle(0)
    once.list_object_versions(Bucket="ledger-receipts")


def test_an_audit_and_a_restore_test_with_a_fifth_of_requests_throttled_end_as_without(estate, strict_aws):
    from flows.backup_posture_audit import backup_posture_audit
    from flows.backup_restore_test import backup_restore_test
    from tasks.aws.clients import AwsClients
    from tasks.aws.owned import list_owned

    common = {"runbooks": estate["runbooks"], "evidence": estate["evidence"]}
    restore = {**common, "concurrency": 1, "poll_seconds": 0.05}
    audit = results(backup_posture_audit(**common))
    restored = results(backup_restore_test(**restore))
    assert all(m["passed"] for m in restored["measurements"])

    strict_aws.throttle(0.2)
    before = strict_aws.throttled
    audit_throttled = results(backup_posture_audit(**common))
    restored_throttled = results(backup_restore_test(**restore))
    strict_aws.throttle(0)
    assert strict_aws.throttled - before >= 20  # a fifth of some hundreds of requests
    assert audit_throttled["status"] == restored_throttled["status"] == "completed"
    assert gaps(audit_throttled) == gaps(audit) == [("s3.replication_missing", "s3_bucket:us-east-2:ledger-receipts")]
    assert outcome(restored_throttled) == outcome(restored)
    assert {m["kind"] for m in restored_throttled["measurements"]} == {
        "rds_instance",
        "ebs_volume",
        "dynamodb_table",
        "s3_bucket",
    }
    assert all(list_owned(AwsClients(), region) == [] for region in (REGION, DR))  # nothing left behind


BOTOCORE_ATTEMPTS = 2


@pytest.fixture
def few_botocore_attempts(monkeypatch):
    """The tool's clients with botocore making BOTOCORE_ATTEMPTS attempts per call (8 retries by default, whose
    backoff would take a minute to exhaust): a call throttled that many times fails out of botocore."""
    config = AwsClients.config

    def fewer(self):
        return config(self).merge(Config(retries={"mode": "standard", "total_max_attempts": BOTOCORE_ATTEMPTS}))

    monkeypatch.setattr(AwsClients, "config", fewer)


def test_a_call_botocore_gives_up_on_is_retried_by_the_task_with_the_same_results(
    estate, strict_aws, few_botocore_attempts
):
    from flows.backup_posture_audit import backup_posture_audit
    from flows.backup_restore_test import backup_restore_test
    from tasks.aws.owned import list_owned

    common = {"runbooks": estate["runbooks"], "evidence": estate["evidence"]}
    restore = {**common, "concurrency": 1, "poll_seconds": 0.05}
    audit = results(backup_posture_audit(**common))
    restored = results(backup_restore_test(**restore))

    # The audit's read of the source database, and the restore's first poll of its copy (once the copy exists,
    # so the failed attempt must tear it down): each throttled as often as botocore tries it. Polls read copies
    # by a db-instance-id filter (tasks/aws/restore/polling.py).
    strict_aws.throttle_next(
        "rds", "DescribeDBInstances", BOTOCORE_ATTEMPTS, lambda param: param("DBInstanceIdentifier") == "ledger-primary"
    )
    before = strict_aws.throttled
    audit_retried = results(backup_posture_audit(**common))
    assert strict_aws.throttled - before == BOTOCORE_ATTEMPTS  # botocore's attempts were all refused
    strict_aws.throttle_next(
        "rds",
        "DescribeDBInstances",
        BOTOCORE_ATTEMPTS,
        lambda param: any(v.startswith("drt-") for f in param("Filters") or [] for v in f.get("Values") or []),
    )
    restored_retried = results(backup_restore_test(**restore))
    assert strict_aws.throttled - before == 2 * BOTOCORE_ATTEMPTS

    assert audit_retried["status"] == restored_retried["status"] == "completed"
    assert gaps(audit_retried) == gaps(audit)
    assert outcome(restored_retried) == outcome(restored)
    # The restore that botocore gave up on ran again as the task's second attempt (its copy named for it).
    second = [(m["kind"], m["copy_id"]) for m in restored_retried["measurements"] if m["copy_id"].endswith("-2")]
    assert [kind for kind, _ in second] == ["rds_instance"], second
    assert all(list_owned(AwsClients(), region) == [] for region in (REGION, DR))  # nothing left behind
