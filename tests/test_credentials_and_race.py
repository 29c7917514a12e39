"""Credentials checked before any work, and no input-resolution race between Prefect and the tool's clients."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.estate import write_catalog

NO_CREDENTIALS = {
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def dr_without_credentials(*args: str, env_extra: dict) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    }
    env.update(NO_CREDENTIALS, **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("command", [["review"], ["audit"], ["restore-test"]])
def test_no_credentials_at_all_is_exit_2_naming_what_was_tried_and_files_no_ticket(
    command, tmp_path, moto_server, prefect_harness
):
    catalog = write_catalog(tmp_path / "runbooks")
    evidence = tmp_path / "evidence"
    run = dr_without_credentials(
        *command,
        "--runbooks",
        str(catalog),
        "--evidence",
        str(evidence),
        env_extra={"AWS_ENDPOINT_URL": moto_server, "PREFECT_API_URL": prefect_harness},
    )
    assert run.returncode == 2, run.stderr[-2000:]
    [line] = [line for line in run.stderr.splitlines() if line.startswith("dr: ")]
    assert line.startswith("dr: error: no usable AWS credentials") and "AWS_ACCESS_KEY_ID" in line
    assert "instance role" in line and "Traceback" not in run.stderr
    assert not (evidence / "tracker").exists()  # no ticket, not even a ledger
    records = [json.loads(p.read_text()) for p in evidence.glob("*/*/results.json")]
    assert [r["status"] for r in records] == ["failed"] and records[0]["findings"] == []


def test_a_dry_run_without_credentials_says_so_without_prefect(tmp_path):
    catalog = write_catalog(tmp_path / "runbooks")
    run = dr_without_credentials(
        "restore-test",
        "--dry-run",
        "--runbooks",
        str(catalog),
        env_extra={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PREFECT_API_URL": "http://127.0.0.1:9/api"},
    )
    assert run.returncode == 2 and "no usable AWS credentials" in run.stderr


def test_the_demo_audit_repeated_never_reports_a_healthy_service_not_assessed(prefect_harness, aws, tmp_path):
    """Clients used to be task parameters that Prefect walked while other threads added clients to them:
    "Failed to resolve inputs in parameter 'clients'" left a task Pending and a healthy service not assessed."""
    from flows.backup_posture_audit import backup_posture_audit
    from tasks.demo.estate import build_demo_estate, prepare_demo_catalog

    built = build_demo_estate(in_process_mock=True)
    # What `dr demo` says it built (the README's estate: four regions, 120 tenant databases).
    assert built == {"tenant_databases": 120, "regions": 4}
    catalog = prepare_demo_catalog(REPO_ROOT / "runbooks", tmp_path / "runbooks")
    for attempt in range(12):
        summary = backup_posture_audit(runbooks=str(catalog), evidence=str(tmp_path / "evidence"), concurrency=8)
        record = json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())
        not_assessed = [(f["service"], f["detail"]) for f in record["findings"] if f["check"] == "backup.not_assessed"]
        assert not_assessed == [], (attempt, not_assessed)
        assert summary["not_assessed"] == 0 and summary["resources"] >= 120


def test_the_tools_own_loggers_reach_the_prefect_api_in_a_flow_run(prefect_harness, tmp_path):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler
    from prefect.runtime import flow_run

    from flows._run import start_run

    @flow
    def logs_from_the_tool(evidence: str) -> str:
        start_run("log-probe", {}, evidence)
        logging.getLogger("tasks.report.events").info("tool log line from tasks")
        logging.getLogger("dr.tracker.jira").warning("tool log line from dr")
        return flow_run.get_id()

    import time

    run_id = logs_from_the_tool(str(tmp_path / "evidence"))
    APILogHandler().flush()  # drains the log worker into the API
    deadline = time.monotonic() + 30
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        messages = {log.message for log in logs}
        if {"tool log line from tasks", "tool log line from dr"} <= messages or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {"tool log line from tasks", "tool log line from dr"} <= messages, messages
