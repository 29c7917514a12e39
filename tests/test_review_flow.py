"""The documentation review as a real Prefect flow run against moto, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from flows.documentation_review import documentation_review
from tests.estate import EBS_GAP, EXPECTED_GAPS, build_estate, gap_keys, write_catalog


@pytest.fixture
def world(prefect_harness, aws, tmp_path):
    build_estate()
    return {"runbooks": str(write_catalog(tmp_path / "runbooks")), "evidence": str(tmp_path / "evidence")}


def review(world, **kwargs):
    return documentation_review(runbooks=world["runbooks"], evidence=world["evidence"], **kwargs)


def results(summary) -> dict:
    return json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())


def ledger(world) -> dict:
    return json.loads((Path(world["evidence"]) / "tracker" / "ledger.json").read_text())["tickets"]


def test_finds_each_planted_gap_and_nothing_on_clean_services(world):
    summary = review(world)
    record = results(summary)
    assert gap_keys(record["findings"]) == EXPECTED_GAPS | {EBS_GAP}
    statuses = {s["service"]: s["status"] for s in record["services"]}
    assert statuses == {"ledger": "pass", "payments": "gaps", "chat": "gaps", "legacy": "pass", "broken": "invalid"}
    assert record["status"] == "completed" and record["finished_at"] and record["measurements"] == []
    assert {"flow", "run_id", "started_at", "parameters", "services", "findings"} <= set(record)
    for finding in record["findings"]:
        assert finding["ticket"].startswith("DR-") and finding["fingerprint"] and finding["severity"]
    run_dir = Path(summary["evidence_dir"])
    assert run_dir.parent.name == "documentation-review" and len(run_dir.name.split("-")[-1]) == 8
    html = (run_dir / "report.html").read_text()
    assert "payments-receipts" in html and "runbook.stale" in html and (run_dir / "report.md").exists()


def test_tiers_select_services_and_dry_run_touches_nothing(world):
    plan = review(world, tiers=[2], dry_run=True)
    assert plan["services"] == {"reports": ["s3_bucket:ap-southeast-2:reports-archive"]} and plan["invalid"] == {}
    assert not Path(world["evidence"]).exists()
    summary = review(world, tiers=[2])
    assert summary["findings"] == 0 and summary["services"] == 1


def test_rerun_files_nothing_new_and_a_fix_resolves_its_ticket(world):
    first = review(world)
    assert first["tracker"]["created"] == len(EXPECTED_GAPS) + 1
    second = review(world)
    assert second["tracker"]["created"] == 0 and second["tracker"]["kept"] == first["tracker"]["created"]

    # Fix one gap in AWS: the shard becomes Multi-AZ.
    boto3.client("rds", region_name="ap-southeast-2").modify_db_instance(
        DBInstanceIdentifier="shard-apse2-2", MultiAZ=True, ApplyImmediately=True
    )
    third = review(world)
    assert third["tracker"]["resolved"] == 1 and third["tracker"]["created"] == 0
    closed = [t for t in ledger(world).values() if t["status"] == "closed"]
    assert [t["resource"] for t in closed] == ["rds_instance:ap-southeast-2:shard-apse2-2"]
    assert closed[0]["history"][-1]["event"] == "resolved"


def test_a_narrower_review_never_resolves_tickets_outside_its_scope(world):
    review(world)  # tickets for payments, chat and broken
    open_before = {k for k, t in ledger(world).items() if t["status"] == "open"}
    summary = review(world, services=["payments"])
    assert summary["tracker"]["resolved"] == 0
    assert {k for k, t in ledger(world).items() if t["status"] == "open"} == open_before


def test_unknown_service_is_bad_input(world):
    from tasks.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown service"):
        review(world, services=["nope"])


def test_artifacts_are_published_on_the_flow_run(world, prefect_harness):
    import httpx

    summary = review(world)
    # Plain REST: this Prefect client version sends nulls the server's filter endpoint rejects.
    response = httpx.post(
        f"{prefect_harness}/artifacts/filter",
        json={"flow_runs": {"id": {"any_": [summary["run_id"]]}}, "limit": 50, "offset": 0, "sort": "KEY_ASC"},
    )
    response.raise_for_status()
    run_artifacts = [type("Artifact", (), a) for a in response.json()]
    by_key = {a.key: a for a in run_artifacts}
    assert set(by_key) == {
        "documentation-review-summary",
        "documentation-review-findings",
        "documentation-review-report",
    }
    assert by_key["documentation-review-summary"].type == "markdown"
    assert "report.html" in str(by_key["documentation-review-report"].data)  # Prefect stores links as markdown
    table = next(a for a in run_artifacts if a.type == "table")
    assert "payments-receipts" in str(table.data)
