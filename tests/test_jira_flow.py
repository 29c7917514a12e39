"""The documentation review as a real Prefect flow run filing tickets in jira820 (`tracker="jira"`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import boto3
import pytest

from flows.cli import main
from flows.documentation_review import documentation_review
from tests.estate import EXPECTED_GAPS, RUNBOOKS, build_estate, write_catalog
from tests.jira_server import jira820

TOKEN = "DRTOKEN-5f0c1e9a-never-print-me"
GAPS = len(EXPECTED_GAPS) + 1  # + the EBS snapshot gap


@pytest.fixture
def world(prefect_harness, aws, tmp_path, jira820, monkeypatch):
    build_estate()
    runbooks = write_catalog(tmp_path / "runbooks")
    # Route payments' tickets to a component; keep retries short for the outage test.
    (runbooks / "payments.yaml").write_text(RUNBOOKS["payments.yaml"] + "tracker: {component: Payments}\n")
    (runbooks / "policy.yaml").write_text("jira: {retries: 1, backoff_seconds: 0.01, connect_timeout_seconds: 1}\n")
    monkeypatch.setenv("DR_JIRA_TOKEN", TOKEN)
    return {"runbooks": str(runbooks), "evidence": str(tmp_path / "evidence"), "jira": jira820}


def review(world, **kwargs):
    return documentation_review(runbooks=world["runbooks"], evidence=world["evidence"], tracker="jira", **kwargs)


def results(summary) -> dict:
    return json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())


def test_review_files_tickets_in_jira_keeps_them_resolves_a_fix_and_reopens_a_return(world):
    jira = world["jira"]
    first = review(world)
    assert first["tracker"]["created"] == GAPS and first["tracker"]["error"] is None
    record = results(first)
    issues = {it["key"]: it for it in jira.tool_issues()}
    assert {f["ticket"] for f in record["findings"]} == set(issues)
    shard = next(
        it for it in issues.values() if "dr-resource-rds_instance:ap-southeast-2:shard-apse2-2" in it["labels"]
    )
    assert shard["component"] == "Payments" and shard["assignee"] == "pay-champ@example.org"
    assert "payments.yaml" in shard["description"] and "multi_az" in shard["description"]
    writes = jira.total("POST") + jira.total("PUT")

    second = review(world)
    assert second["tracker"]["created"] == 0 and second["tracker"]["kept"] == GAPS
    assert jira.total("POST") + jira.total("PUT") == writes  # an unchanged gap costs no write

    rds = boto3.client("rds", region_name="ap-southeast-2")
    rds.modify_db_instance(DBInstanceIdentifier="shard-apse2-2", MultiAZ=True, ApplyImmediately=True)
    third = review(world)
    assert third["tracker"]["resolved"] == 1 and jira.store.issues[shard["key"]]["statusCategory"] == "done"

    rds.modify_db_instance(DBInstanceIdentifier="shard-apse2-2", MultiAZ=False, ApplyImmediately=True)
    fourth = review(world)
    assert fourth["tracker"]["reopened"] == 1 and fourth["tracker"]["created"] == 0
    assert jira.store.issues[shard["key"]]["statusCategory"] != "done" and len(jira.tool_issues()) == GAPS


def test_jira_down_the_run_completes_the_outbox_keeps_the_work_and_no_credential_leaks(world, caplog, capsys):
    jira = world["jira"]
    caplog.set_level(logging.DEBUG)
    jira.stop()
    down = review(world)
    record = results(down)
    assert record["status"] == "completed" and len(record["findings"]) == GAPS
    assert down["tracker"]["deferred"] == GAPS and "Jira unavailable" in down["tracker"]["error"]
    outbox = Path(world["evidence"]) / "tracker" / "jira-outbox.json"
    assert [e["kind"] for e in json.loads(outbox.read_text())["entries"]] == ["sync"]
    assert "kept in the outbox" in (Path(down["evidence_dir"]) / "report.html").read_text()

    jira.start()
    assert (
        main(
            [
                "tracker",
                "flush",
                "--evidence",
                world["evidence"],
                "--policy",
                str(Path(world["runbooks"]) / "policy.yaml"),
            ]
        )
        == 0
    )
    assert len(jira.tool_issues()) == GAPS and json.loads(outbox.read_text())["entries"] == []

    # The token was used (jira820 saw it) but appears nowhere we write or print.
    texts = [p.read_text(errors="replace") for p in Path(world["evidence"]).rglob("*") if p.is_file()]
    texts += [json.dumps(it, default=str) for it in jira.store.issues.values()]
    run_logs = _prefect_logs(down["run_id"])
    assert any("deferred to the outbox" in line for line in run_logs)
    texts += [caplog.text, *capsys.readouterr(), *run_logs]
    assert not [t for t in texts if TOKEN in t]


def _prefect_logs(flow_run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # logs reach the API in the background; send them now
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200, offset=0
        )
    assert logs, "the flow run should have logged something"
    return [log.message for log in logs]
