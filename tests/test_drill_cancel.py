"""A drill run cancelled through the Prefect API, as the UI's Cancel does, on a process worker of a real
`prefect server`: the worker's SIGTERM waits for the drill's step, the drill stops, fails back, is recorded,
and the run ends Cancelled."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.prefect_server import stop_process, wait_for
from tests.test_drills import make_world, zone

pytestmark = [pytest.mark.slow, pytest.mark.strict(seconds=0.0, failover_seconds=6.0)]


def status(name="ledger-primary", region="us-east-2") -> str:
    return boto3.client("rds", region).describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
        "DBInstanceStatus"
    ]


def test_a_drill_cancelled_through_the_api_stops_between_steps_and_rolls_back(
    prefect_server, moto_server, strict_aws, tmp_path
):
    server = prefect_server
    world = make_world(tmp_path, in_process=False)
    strict_aws.settle()
    deployment = server.deploy("annual-dr-simulation")
    worker = server.worker("drills", env_extra={"AWS_ENDPOINT_URL": moto_server, "DR_DRILL_POLL_SECONDS": "0.2"})
    try:
        run = server.run(
            deployment,
            {
                "runbooks": world["runbooks"],
                "evidence": world["evidence"],
                "scenario": "az-loss",
                "non_interactive": True,
                "drill": "az-failover",
                "allow_disruptive": True,
                "services": ["ledger"],
            },
        )
        wait_for(lambda: status() == "rebooting", 240, "the failover to start")
        server.post(f"/flow_runs/{run['id']}/set_state", {"state": {"type": "CANCELLING"}, "force": True})
        final = server.run_to_end(run["id"], timeout=120)
    finally:
        stop_process(worker)
    [results] = list(Path(world["evidence"]).glob("dr-simulation/*/results.json"))
    record = json.loads(results.read_text())
    assert record["status"] == "cancelled", (record["errors"], record["details"].get("drills"))
    assert final["state"]["type"] == "CANCELLED", (final["state"], server.log_tail())
    [failover] = record["details"]["drills"]
    assert failover["status"] == "stopped" and failover["detail"] == "the flow run was cancelled"
    assert [e["phase"] for e in failover["timeline"]] == ["decision", "action", "stop", "rollback"]
    assert "failed back to ledger-primary in us-east-2a" in failover["timeline"][-1]["text"]
    assert zone() == "us-east-2a" and status() == "available"
