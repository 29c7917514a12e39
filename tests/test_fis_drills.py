"""Drills run as AWS FIS experiments, on the strict emulator (tasks/emulator/fis.py): the result is read from
FIS, our guardrails stop the experiment, and the template must consent as a resource does."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from flows.dr_simulation import DrillRefused, dr_simulation
from tests.test_drills import alarm, drill, make_world
from tests.test_simulation import recording

pytestmark = pytest.mark.strict(seconds=0.0, experiment_seconds=1.0)
REGION = "us-east-2"


def template(tags: dict | None = None, alarm_arn: str | None = None) -> str:
    fis = boto3.client("fis", REGION)
    stop = [{"source": "aws:cloudwatch:alarm", "value": alarm_arn}] if alarm_arn else [{"source": "none"}]
    return fis.create_experiment_template(
        description="fail over the ledger database",
        stopConditions=stop,
        targets={
            "db": {
                "resourceType": "aws:rds:db",
                "resourceArns": [f"arn:aws:rds:{REGION}:123456789012:db:ledger-primary"],
                "selectionMode": "ALL",
            }
        },
        actions={"failover": {"actionId": "aws:rds:reboot-db-instances", "targets": {"DBInstances": "db"}}},
        roleArn="arn:aws:iam::123456789012:role/fis",
        tags={"dr-drills": "allowed"} if tags is None else tags,
    )["experimentTemplate"]["id"]


def fis_world(tmp_path, template_id: str, policy: dict | None = None, build: bool = True) -> dict:
    return make_world(
        tmp_path, in_process=True, drills={"az_failover": {"fis_template": template_id}}, policy=policy, build=build
    )


def fis_calls(calls) -> list[str]:
    return [name for name, _ in calls if name in ("StartExperiment", "StopExperiment")]


def findings(result) -> set[str]:
    record = json.loads((Path(result["evidence_dir"]) / "results.json").read_text())
    return {f["check"] for f in record["findings"] if f["check"].startswith("drill.")}


def test_a_completed_experiment_is_measured_from_fis(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    tid = template()
    world = fis_world(tmp_path, tid)
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    calls = recording(monkeypatch)
    result = drill(world, services=["ledger"])
    [run] = result["drills"]
    assert run["status"] == "passed", run
    assert run["resource"] == f"fis:{tid}" and run["after"]["status"] == "completed"
    assert 0.9 <= run["measured_seconds"] < 10  # the experiment's own start and end times
    assert [e["phase"] for e in run["timeline"]] == ["decision", "action", "verification"]
    assert fis_calls(calls) == ["StartExperiment"]
    # No production resource was touched by the tool itself; FIS did the disrupting.
    assert not [n for n, _ in calls if n in ("RebootDBInstance", "FailoverDBCluster")]
    # The experiment carries the tool's tags: whoever looks at it in FIS sees whose it is.
    fis = boto3.client("fis", REGION)
    [summary] = fis.list_experiments()["experiments"]
    assert summary["tags"]["dr-automation:owner"] == "dr-runbooks"
    assert summary["tags"]["dr-automation:run-id"] == result["run_id"]
    assert findings(result) == set()


def test_a_failed_experiment_is_a_finding(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    tid = template()
    strict_aws.fis_outcome(tid, "failed", "Target resolution failed: no instance matched.")
    world = fis_world(tmp_path, tid)
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    result = drill(world, services=["ledger"])
    [run] = result["drills"]
    assert run["status"] == "failed" and run["check"] == "drill.failed"
    assert "Target resolution failed" in run["detail"] and run["after"]["error"]["code"] == "ActionFailed"
    assert findings(result) == {"drill.failed"}


def test_a_stop_alarm_firing_stops_the_experiment(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    tid = template()
    strict_aws.fis_outcome(tid, "completed", seconds=30)
    world = fis_world(tmp_path, tid, policy={"stop_alarms": ["ledger-5xx"]})
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    alarm("ledger-5xx")
    strict_aws.fire_alarm("ledger-5xx", REGION, ("fis", "StartExperiment"), seconds=0.2)
    calls = recording(monkeypatch)
    result = drill(world, services=["ledger"])
    [run] = result["drills"]
    assert run["status"] == "stopped" and "ledger-5xx is in ALARM" in run["detail"], run
    assert run["after"]["status"] == "stopped" and run["measured_seconds"] < 10
    assert [e["phase"] for e in run["timeline"]] == ["decision", "action", "stop", "rollback", "verification"]
    assert fis_calls(calls) == ["StartExperiment", "StopExperiment"]
    assert findings(result) == {"drill.stopped"}


def test_the_templates_own_stop_condition_ends_it_and_is_recorded(
    tmp_path, prefect_harness, aws, strict_aws, monkeypatch
):
    alarm("ledger-latency")
    tid = template(alarm_arn=f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:ledger-latency")
    strict_aws.fis_outcome(tid, "completed", seconds=30)
    world = fis_world(tmp_path, tid)
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    strict_aws.fire_alarm("ledger-latency", REGION, ("fis", "StartExperiment"), seconds=0.2)
    calls = recording(monkeypatch)
    [run] = drill(world, services=["ledger"])["drills"]
    assert run["status"] == "stopped" and "Stop condition" in run["detail"], run
    assert fis_calls(calls) == ["StartExperiment"]  # FIS stopped it itself


def test_an_fis_drill_needs_every_opt_in(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    unconsented = template(tags={"team": "ledger"})
    world = fis_world(tmp_path, unconsented)
    strict_aws.settle()
    calls = recording(monkeypatch)
    with pytest.raises(DrillRefused, match="--allow-disruptive"):
        dr_simulation(
            runbooks=world["runbooks"],
            evidence=world["evidence"],
            scenario="az-loss",
            non_interactive=True,
            drill="az-failover",
            services=["ledger"],
        )
    assert calls == []  # refused before any AWS call
    # The runbook allows it, the operator asked, but the template does not carry the consent tag.
    [run] = drill(world, services=["ledger"])["drills"]
    assert run["status"] == "refused" and "dr-drills: allowed" in run["detail"]
    # Nor does the kill switch let one start.
    boto3.client("ssm", "us-east-1").put_parameter(
        Name="/dr-automation/drills/kill-switch", Value="stop", Type="String"
    )
    world = fis_world(tmp_path / "killed", template(), build=False)
    [run] = drill(world, services=["ledger"])["drills"]
    assert run["status"] == "not-started" and "kill switch" in run["detail"]
    assert fis_calls(calls) == []
    assert boto3.client("fis", REGION).list_experiments()["experiments"] == []


def test_the_runbook_field_is_validated_with_file_and_line(tmp_path):
    from tasks.catalog.load import load_catalog

    directory = tmp_path / "runbooks"
    directory.mkdir()
    (directory / "svc.yaml").write_text(
        "service: svc\nname: Svc\ntier: 2\nresources:\n  - {kind: rds_instance, id: db, region: us-east-2}\n"
        "drills:\n  az_failover: {fis_template: 'EXT 1', region: mars-1}\n  region_failover: {fis_template: EXTok}\n"
    )
    lines = {f"{p.line}: {p.field}: {p.message}" for p in load_catalog(directory).problems}
    assert lines == {
        "7: drills.az_failover.fis_template: expected an AWS FIS experiment template id (1-64 characters, no "
        "spaces), got 'EXT 1'",
        "7: drills.az_failover.region: unknown AWS region 'mars-1'",
    }, lines
