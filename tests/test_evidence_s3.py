"""Evidence in S3 (moto): the store itself, Object Lock retention, and whole flow runs against s3://."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from tasks.errors import ConfigError, EvidenceError
from tasks.evidence.s3 import PROBE_KEY, S3EvidenceStore, lock_settings, parse_s3_url
from tasks.evidence.store import LocalEvidenceStore, open_store
from tests.conftest import write_runbook
from tests.jira_server import jira820

BUCKET = "acme-dr-evidence"  # the customer's own bucket: not drt-*, so the safety interlock would refuse it
HOSTILE = '<script>alert("x")</script>'


def make_bucket(name: str = BUCKET, lock: bool = True) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)


def all_keys(bucket: str = BUCKET) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_urls_and_lock_settings(monkeypatch):
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    for bad in ("s3://", "s3:///prefix", "s3://b/../x"):
        with pytest.raises(ConfigError):
            parse_s3_url(bad)
    monkeypatch.delenv("DR_EVIDENCE_LOCK_DAYS", raising=False)
    assert lock_settings() is None
    monkeypatch.setenv("DR_EVIDENCE_LOCK_DAYS", "365")
    assert lock_settings() == ("GOVERNANCE", 365)
    monkeypatch.setenv("DR_EVIDENCE_LOCK_MODE", "compliance")
    assert lock_settings() == ("COMPLIANCE", 365)
    monkeypatch.setenv("DR_EVIDENCE_LOCK_MODE", "forever")
    with pytest.raises(ConfigError, match="GOVERNANCE, COMPLIANCE"):
        lock_settings()
    monkeypatch.setenv("DR_EVIDENCE_LOCK_DAYS", "a year")
    with pytest.raises(ConfigError, match="whole number"):
        lock_settings()


def test_open_store_dispatches_on_the_location(tmp_path, monkeypatch):
    monkeypatch.delenv("DR_EVIDENCE_LOCK_DAYS", raising=False)
    store = open_store("s3://bucket/some/prefix/")
    assert isinstance(store, S3EvidenceStore) and store.location == "s3://bucket/some/prefix" and store.lock is None
    assert isinstance(open_store(tmp_path), LocalEvidenceStore)
    with pytest.raises(EvidenceError, match="unsupported evidence location"):
        open_store("gs://bucket/x")


def test_store_writes_only_under_its_prefix_and_reads_back(aws):
    make_bucket(lock=False)
    store = S3EvidenceStore(BUCKET, "dr/evidence")
    store.check_writable()
    assert store.write_bytes("flow/run-1/results.json", b"{}") == f"s3://{BUCKET}/dr/evidence/flow/run-1/results.json"
    store.write_bytes("flow/run-1/measurements/a.json", b"1")
    store.write_bytes("flow/run-2/results.json", b"{}")
    store.write_bytes("flow/.run.lock", b"")
    assert store.read_bytes("flow/run-1/results.json") == b"{}"
    assert store.read_bytes("flow/missing.json") is None
    assert store.list_prefix("flow") == [
        "flow/.run.lock",
        "flow/run-1/measurements/a.json",
        "flow/run-1/results.json",
        "flow/run-2/results.json",
    ]
    assert store.list_dirs("flow") == ["flow/run-1", "flow/run-2"]
    assert store.list_prefix("nothing") == [] and store.list_dirs("nothing") == []
    assert all(key.startswith("dr/evidence/") for key in all_keys())
    assert f"dr/evidence/{PROBE_KEY}" in all_keys()
    with pytest.raises(EvidenceError, match="leaves the evidence prefix"):
        store.write_bytes("../outside.json", b"x")
    head = boto3.client("s3", region_name="us-east-1").head_object(
        Bucket=BUCKET, Key="dr/evidence/flow/run-1/results.json"
    )
    assert head["ContentType"].startswith("application/json")


def test_object_lock_retention_is_applied_per_object(aws):
    make_bucket(lock=True)
    store = S3EvidenceStore(BUCKET, "audit", lock=("COMPLIANCE", 30))
    store.check_writable()
    store.write_bytes("x/report.html", b"<p>ok</p>")
    s3 = boto3.client("s3", region_name="us-east-1")
    # moto 5.2.5 answers GetObjectRetention with a 500; HeadObject carries the same two fields.
    head = s3.head_object(Bucket=BUCKET, Key="audit/x/report.html")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert abs(until - (datetime.now(timezone.utc) + timedelta(days=30))) < timedelta(minutes=5)
    version = head["VersionId"]
    with pytest.raises(s3.exceptions.ClientError):
        s3.delete_object(Bucket=BUCKET, Key="audit/x/report.html", VersionId=version)  # immutable until then


def test_retention_on_a_bucket_without_object_lock_fails_before_any_work(aws):
    make_bucket("plain-bucket", lock=False)
    with pytest.raises(EvidenceError, match="has no Object Lock"):
        S3EvidenceStore("plain-bucket", "p", lock=("GOVERNANCE", 1)).check_writable()
    with pytest.raises(EvidenceError, match="is not writable"):
        S3EvidenceStore("no-such-bucket", "p").check_writable()


def test_documentation_review_and_dashboard_with_evidence_in_s3(aws, prefect_harness, tmp_path, monkeypatch, jira820):
    """A whole flow run writes its evidence to S3 with retention, files its ticket in Jira (the ledger is a local
    file and is refused with S3 evidence); the dashboard reads the evidence back from S3."""
    from flows.dashboard import dr_dashboard
    from flows.documentation_review import documentation_review

    make_bucket(lock=True)
    monkeypatch.setenv("DR_EVIDENCE_LOCK_DAYS", "7")
    catalog = tmp_path / "runbooks"
    write_runbook(
        catalog,
        "orders.yaml",
        f"""\
service: orders
name: '{HOSTILE} Orders'
tier: 1
owner: orders@example.org
dr_champion: champ@example.org
documentation: {{last_reviewed: {datetime.now(timezone.utc).date().isoformat()}}}
procedure: [Restore the table.]
validation: [{{name: up, kind: status}}]
resources:
  - {{kind: dynamodb_table, id: orders-table, region: us-east-1, expect: {{pitr: true}}}}
""",
    )
    evidence = f"s3://{BUCKET}/dr/evidence"
    with pytest.raises(ConfigError, match="ledger tracker keeps tickets in a local file"):
        documentation_review(runbooks=str(catalog), evidence=evidence)
    assert all_keys() == []  # refused before any evidence was written
    result = documentation_review(runbooks=str(catalog), evidence=evidence, tracker="jira")
    run_prefix = result["evidence_dir"].removeprefix(f"s3://{BUCKET}/")
    assert result["evidence_dir"].startswith(f"{evidence}/documentation-review/")
    assert result["report"] == f"{result['evidence_dir']}/report.html"
    [ticket] = jira820.tool_issues()
    assert "orders-table" in json.dumps(ticket, default=str)

    s3 = boto3.client("s3", region_name="us-east-1")
    keys = all_keys()
    for name in ("results.json", "summary.json", "report.html", "report.md"):
        key = f"{run_prefix}/{name}"
        assert key in keys, name
        assert s3.head_object(Bucket=BUCKET, Key=key)["ObjectLockMode"] == "GOVERNANCE"
    assert all(key.startswith("dr/evidence/") for key in keys)
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{run_prefix}/results.json")["Body"].read())
    assert record["status"] == "completed" and record["findings"][0]["check"] == "runbook.resource_not_found"
    report = s3.get_object(Bucket=BUCKET, Key=f"{run_prefix}/report.html")["Body"].read().decode()
    assert "<script>" not in report and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Orders" in report

    site = dr_dashboard(evidence=evidence, runbooks=str(catalog), tracker="jira")
    assert site["index"] == f"{evidence}/dashboard/index.html" and site["services"] == 1
    index = s3.get_object(Bucket=BUCKET, Key="dr/evidence/dashboard/index.html")["Body"].read().decode()
    assert "gaps" in index and "&lt;script&gt;" in index and "<script" not in index
    # Both in the same bucket: the link from the site to the run's report is relative.
    assert f'href="../{run_prefix.removeprefix("dr/evidence/")}/report.html"' in index
