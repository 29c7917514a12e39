"""Failover drills on the strict emulator: a failover proven by the zone or writer change, timed, with the
client-observed downtime; stop conditions, rollback, the kill switch and the blast radius."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from flows.dr_simulation import dr_simulation
from tasks.actions import drills as drill_actions
from tasks.demo.builder import EstateBuilder
from tasks.rules.drills import blast_radius_limit, downtime, judge_failover, within_blast_radius
from tests.conftest import REPO_ROOT
from tests.estate import build_estate, restore_section, write_catalog
from tests.test_simulation import recording

# Seeding is instant (the estate is long-standing); failovers take their time.
pytestmark = pytest.mark.strict(seconds=0.0, failover_seconds=1.5)
PROBE = [sys.executable, str(REPO_ROOT / "tests" / "drill_probe.py")]


def make_world(
    tmp_path, in_process: bool, drills: dict | None = None, policy: dict | None = None, build: bool = True
) -> dict:
    builder = build_estate(in_process_mock=in_process) if build else EstateBuilder(in_process_mock=in_process)
    catalog = write_catalog(tmp_path / "runbooks")
    (catalog / "broken.yaml").unlink()
    shutil.copytree(REPO_ROOT / "runbooks" / "scenarios", catalog / "scenarios")
    isolation = {region: builder.isolation(region) for region in ("us-east-2", "us-west-1")}
    (catalog / "policy.yaml").write_text(
        yaml.safe_dump({"restore": restore_section(builder, isolation), "simulation": policy or {}})
    )
    if drills is not None:
        ledger = catalog / "ledger.yaml"
        ledger.write_text(
            ledger.read_text().replace(
                "drills: {az_failover: true, region_failover: true}", "drills: " + json.dumps(drills)
            )
        )
    return {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence"), "tmp": tmp_path}


def drill(world, **kwargs):
    return dr_simulation(
        runbooks=world["runbooks"],
        evidence=world["evidence"],
        scenario="az-loss",
        non_interactive=True,
        drill="az-failover",
        allow_disruptive=True,
        **kwargs,
    )


def zone(name="ledger-primary", region="us-east-2"):
    return boto3.client("rds", region).describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
        "AvailabilityZone"
    ]


def alarm(name: str, region="us-east-2", state: str | None = None):
    cloudwatch = boto3.client("cloudwatch", region)
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="5xx",
        Namespace="ledger",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    if state:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def disruptive(calls):
    return [name for name, _ in calls if name in ("RebootDBInstance", "FailoverDBCluster")]


# --- pure rules ----------------------------------------------------------------------------------
def test_the_blast_radius_is_a_count_or_a_share_of_the_fleet():
    assert blast_radius_limit(1, 6) == 1 and blast_radius_limit(10, 6) == 6
    assert blast_radius_limit("50%", 6) == 3 and blast_radius_limit("10%", 6) == 1 and blast_radius_limit("10%", 0) == 0
    assert within_blast_radius(list("abcdef"), 2) == (["a", "b"], ["c", "d", "e", "f"])


def test_a_failover_that_changes_nothing_is_a_finding_not_a_pass():
    before = {"writer": "db", "zone": "us-east-2a"}
    assert judge_failover(before, dict(before), 30, 120)[::2] == ("failed", "drill.failover_unproven")
    assert judge_failover(before, {"writer": "db", "zone": "us-east-2b"}, 30, 120)[::2] == ("passed", None)
    assert judge_failover(before, {"writer": "db", "zone": "us-east-2b"}, 130, 120)[::2] == ("slow", "drill.failed")
    assert downtime([(0, True), (1, False), (2, False), (3.5, True), (4, False)]) == 2.5 + 0
    assert downtime([(0, True), (1, True)]) == 0 and downtime([]) is None


# --- drills on the strict emulator ---------------------------------------------------------------
# A failover of 4 s: a probe (a subprocess, every second) lands inside it even on a loaded machine.
@pytest.mark.strict(seconds=0.0, failover_seconds=4.0)
def test_an_az_drill_proves_the_zone_change_measures_downtime_and_fails_back(
    tmp_path, prefect_harness, moto_server, strict_aws, monkeypatch
):
    world = make_world(
        tmp_path,
        in_process=False,
        drills={
            "az_failover": True,
            "fail_back": True,
            "probe": {"kind": "command", "command": PROBE, "interval": "1s", "timeout": "5s"},
        },
    )
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.1")
    assert zone() == "us-east-2a"
    [result] = drill(world, services=["ledger"])["drills"]
    assert result["status"] == "passed", result
    assert (result["before"]["zone"], result["after"]["zone"]) == ("us-east-2a", "us-east-2b")
    assert 4.0 <= result["measured_seconds"] < 60
    # The probe saw the instance `rebooting`: clients were down within the failover, give or take one probe
    # (each takes at most its 5 s timeout, then waits its 1 s interval).
    assert result["downtime_seconds"] is not None
    assert 0.5 <= result["downtime_seconds"] <= result["measured_seconds"] + 6
    phases = [e["phase"] for e in result["timeline"]]
    assert phases == ["decision", "action", "verification", "action", "verification"]
    assert zone() == "us-east-2a"  # failed back
    report = Path(drill_report(result, world)).read_text()
    assert "us-east-2a" in report and "verification" in report


def drill_report(result, world):
    [run_dir] = [
        p for p in Path(world["evidence"]).rglob("results.json") if json.loads(p.read_text())["details"].get("drills")
    ][-1:]
    return run_dir.parent / "report.html"


def test_a_failover_that_does_not_fail_over_is_a_finding(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    world = make_world(tmp_path, in_process=True)
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")

    def reboot_only(client, member, to_writer=None):  # what a failover that never happened looks like
        with drill_actions.allow_drill("RebootDBInstance", member.id):
            client.reboot_db_instance(DBInstanceIdentifier=member.id)

    monkeypatch.setattr(drill_actions, "_fail_over", reboot_only)
    result = drill(world, services=["ledger"])
    [failover] = result["drills"]
    assert failover["status"] == "failed" and failover["check"] == "drill.failover_unproven"
    record = json.loads((Path(result["evidence_dir"]) / "results.json").read_text())
    assert [f["check"] for f in record["findings"] if f["check"].startswith("drill.")] == ["drill.failover_unproven"]


def test_a_drill_does_not_start_while_a_stop_alarm_is_in_alarm(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    world = make_world(tmp_path, in_process=True, drills={"az_failover": True, "stop_alarms": ["ledger-5xx"]})
    strict_aws.settle()
    alarm("ledger-5xx", state="ALARM")
    calls = recording(monkeypatch)
    [result] = drill(world, services=["ledger"])["drills"]
    assert result["status"] == "not-started" and "ledger-5xx is in ALARM" in result["detail"]
    assert disruptive(calls) == []
    # a stop condition that does not exist is no stop condition: refuse rather than run unguarded
    world = make_world(
        tmp_path / "again", in_process=True, drills={"az_failover": True, "stop_alarms": ["nope"]}, build=False
    )
    [result] = drill(world, services=["ledger"])["drills"]
    assert result["status"] == "not-started" and "does not exist" in result["detail"]


def test_an_alarm_firing_mid_drill_stops_it_and_rolls_back(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    world = make_world(tmp_path, in_process=True, policy={"stop_alarms": ["ledger-5xx"]})
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    alarm("ledger-5xx")
    strict_aws.fire_alarm("ledger-5xx", "us-east-2", ("rds", "RebootDBInstance"), seconds=0.2)
    calls = recording(monkeypatch)
    result = drill(world, services=["ledger"])
    [failover] = result["drills"]
    assert failover["status"] == "stopped" and "ledger-5xx is in ALARM" in failover["detail"]
    assert [e["phase"] for e in failover["timeline"]] == ["decision", "action", "stop", "rollback"]
    assert "failed back to ledger-primary in us-east-2a" in failover["timeline"][-1]["text"]
    assert disruptive(calls) == ["RebootDBInstance", "RebootDBInstance"] and zone() == "us-east-2a"
    record = json.loads((Path(result["evidence_dir"]) / "results.json").read_text())
    assert "drill.stopped" in {f["check"] for f in record["findings"]}


def test_the_kill_switch_stops_every_drill_between_steps(tmp_path, prefect_harness, aws, strict_aws, monkeypatch):
    world = make_world(tmp_path, in_process=True, policy={"kill_switch_parameter": "/dr/kill"})
    strict_aws.settle()
    boto3.client("ssm", "us-east-1").put_parameter(Name="/dr/kill", Value="stop", Type="String")
    calls = recording(monkeypatch)
    [result] = drill(world, services=["ledger"])["drills"]
    assert result["status"] == "not-started" and "kill switch /dr/kill is set to 'stop'" in result["detail"]
    assert disruptive(calls) == []
    boto3.client("ssm", "us-east-1").put_parameter(Name="/dr/kill", Value="off", Type="String", Overwrite=True)
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    [result] = drill(world, services=["ledger"])["drills"]
    assert result["status"] == "passed"


def test_the_blast_radius_limits_how_much_of_a_fleet_one_run_touches(
    tmp_path, prefect_harness, aws, strict_aws, monkeypatch
):
    world = make_world(tmp_path, in_process=True)
    payments = Path(world["runbooks"]) / "payments.yaml"
    payments.write_text(payments.read_text() + "drills: {az_failover: true, blast_radius: 2}\n")
    for region in ("us-east-2", "ap-southeast-2"):
        client = boto3.client("rds", region)
        for found in client.describe_db_instances()["DBInstances"]:
            client.add_tags_to_resource(
                ResourceName=found["DBInstanceArn"], Tags=[{"Key": "dr-drills", "Value": "allowed"}]
            )
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    calls = recording(monkeypatch)
    results = drill(world, services=["payments"])["drills"]
    shards = [r for r in results if r["resource"].startswith("rds_instance")]
    assert sum(r["status"] == "skipped" and "blast radius" in r["detail"] for r in shards) == 4
    assert [r["status"] for r in shards if "blast radius" not in r["detail"]] == ["passed", "passed"]
    assert disruptive(calls).count("RebootDBInstance") == 2


# --- region failover ------------------------------------------------------------------------------
def region_drill(world, **kwargs):
    return dr_simulation(
        runbooks=world["runbooks"],
        evidence=world["evidence"],
        scenario="region-loss",
        non_interactive=True,
        drill="region-failover",
        allow_disruptive=True,
        **kwargs,
    )


@pytest.mark.strict(seconds=0.0, promote_seconds=1.0)
def test_a_region_drill_promotes_its_own_replica_measures_rto_and_data_loss_and_removes_it(
    tmp_path, prefect_harness, aws, strict_aws, monkeypatch
):
    from tasks.aws.clients import AwsClients
    from tasks.aws.owned import list_owned

    world = make_world(tmp_path, in_process=True)
    strict_aws.settle()
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    calls = recording(monkeypatch)
    results = region_drill(world, services=["ledger"])["drills"]
    [promoted] = [r for r in results if r["resource"].startswith("rds_instance")]
    assert promoted["status"] == "passed", (promoted["detail"], promoted["timeline"])
    assert 1.0 <= promoted["measured_seconds"] < 20
    assert promoted["data_loss_seconds"] == strict_aws.config.replica_lag_seconds
    replicas = [p for name, p in calls if name == "CreateDBInstanceReadReplica"]
    assert len(replicas) == 1 and replicas[0]["DBInstanceIdentifier"].startswith("drt-")
    assert [name for name, p in calls if name in ("PromoteReadReplica", "DeleteDBInstance")] == [
        "PromoteReadReplica",
        "DeleteDBInstance",
    ]
    assert [e["phase"] for e in promoted["timeline"]] == ["decision", "action", "action", "verification", "rollback"]
    assert list_owned(AwsClients(), "us-west-1") == []
    assert boto3.client("rds", "us-west-1").describe_db_instances()["DBInstances"] == []


@pytest.mark.strict(seconds=0.0, switchover_seconds=1.0)
def test_a_region_drill_switches_a_global_database_over_and_back(
    tmp_path, prefect_harness, aws, strict_aws, monkeypatch
):
    world = make_world(tmp_path, in_process=True)
    primary, secondary = boto3.client("rds", "us-east-1"), boto3.client("rds", "us-west-1")
    arn = primary.create_db_cluster(
        DBClusterIdentifier="glob-east",
        Engine="aurora-postgresql",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-0",
        Tags=[{"Key": "dr-drills", "Value": "allowed"}],
    )["DBCluster"]["DBClusterArn"]
    primary.create_global_cluster(GlobalClusterIdentifier="glob", SourceDBClusterIdentifier=arn)
    secondary.create_db_cluster(
        DBClusterIdentifier="glob-west", Engine="aurora-postgresql", GlobalClusterIdentifier="glob"
    )
    strict_aws.settle()
    (Path(world["runbooks"]) / "globaldb.yaml").write_text("""\
service: globaldb
name: Global DB
tier: 1
owner: o@example.org
dr_champion: c@example.org
procedure: [Switch the global database over.]
drills: {region_failover: true}
dr_region: us-west-1
resources:
  - {kind: rds_cluster, id: glob-east, region: us-east-1}
""")
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.05")
    [result] = region_drill(world, services=["globaldb"])["drills"]
    assert result["status"] == "passed", result
    assert result["data_loss_seconds"] == 0.0 and 1.0 <= result["measured_seconds"] < 20
    assert result["after"]["writer"].endswith(":glob-west")
    assert [e["phase"] for e in result["timeline"]] == ["decision", "action", "verification", "action", "verification"]
    members = primary.describe_global_clusters(GlobalClusterIdentifier="glob")["GlobalClusters"][0][
        "GlobalClusterMembers"
    ]
    assert {m["DBClusterArn"].split(":")[-1]: m["IsWriter"] for m in members} == {"glob-east": True, "glob-west": False}


def test_the_kill_switch_reads_cancellation_and_the_ssm_parameter(aws):
    from tasks.actions.guardrails import Guardrails
    from tasks.aws.clients import AwsClients

    guard = Guardrails(AwsClients(), kill_parameter="/dr/kill")
    assert guard.kill_switch() is None  # no parameter: not engaged
    boto3.client("ssm", "us-east-1").put_parameter(Name="/dr/kill", Value=" STOP ", Type="String")
    assert "set to 'STOP'" in guard.kill_switch()
    cancelled = Guardrails(AwsClients(), kill_parameter=None, cancelled=lambda: True)
    assert cancelled.kill_switch() == "the flow run was cancelled"
    assert cancelled.stop_reason("us-east-2", None) == "the flow run was cancelled"
