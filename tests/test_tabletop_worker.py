"""The interactive tabletop as the DR team runs it: a deployment on a process worker of a real `prefect server`
that suspends at each inject (its process exits, so the worker is free) and resumes from the form the UI shows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.estate import build_estate, restore_section, write_catalog
from tests.prefect_server import PrefectServer, stop_process, wait_for

pytestmark = pytest.mark.slow

ANSWERS = {
    "corruption-found": {
        "answered_by": "sre-lead@example.org",
        "decisions": "Stop writes to the ledger.",
        "observations": "Nobody knew who owns the batch job.",
        "estimated_recovery_minutes": 90,
        "action_items": ["Name an owner for the nightly batch job"],
    },
    "point-in-time-restore": {
        "answered_by": "dr-champ@example.org",
        "decisions": "Restore to 01:55 UTC.",
        "action_items": ["Rehearse a point-in-time restore each quarter"],
    },
}

TITLES = {
    "corruption-found": "Support reports wrong data",
    "point-in-time-restore": "Point-in-time restore to before the event",
}


def children_of(pid: int) -> list[int]:
    """Processes whose parent is pid (the process worker starts each flow run as its child)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def suspended(server: PrefectServer, run_id: str) -> dict | None:
    run = server.get(f"/flow_runs/{run_id}")
    assert run["state"]["type"] not in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"), (
        run["state"],
        server.log_tail(),
    )
    return run if run["state"]["name"] == "Suspended" else None


def tabletop_world(tmp_path) -> tuple[Path, Path]:
    builder = build_estate(in_process_mock=False)
    catalog = write_catalog(tmp_path / "runbooks")
    (catalog / "policy.yaml").write_text(
        yaml.safe_dump(
            {"restore": restore_section(builder, {r: builder.isolation(r) for r in ("us-east-2", "us-west-1")})}
        )
    )
    shutil.copytree(REPO_ROOT / "runbooks" / "scenarios", catalog / "scenarios")
    return catalog, tmp_path / "evidence"


def test_the_tabletop_suspends_on_a_worker_and_resumes_from_the_ui_form(prefect_server, moto_server, tmp_path):
    server = prefect_server
    catalog, evidence = tabletop_world(tmp_path)
    deployment = server.deploy("annual-dr-simulation")
    worker = server.worker("tabletop", env_extra={"AWS_ENDPOINT_URL": moto_server})
    try:
        run = server.run(
            deployment,
            {"runbooks": str(catalog), "evidence": str(evidence), "scenario": "data-corruption", "answer_timeout": 900},
        )
        for inject in ("corruption-found", "point-in-time-restore"):
            waiting = wait_for(lambda: suspended(server, run["id"]), 150, f"the run to suspend at {inject}")
            # Suspended, not paused: the flow's process has exited, so the worker holds nothing.
            wait_for(lambda: not children_of(worker.pid), 30, "the flow process to exit")
            # What the UI reads to draw its Resume form: the keyset on the state, then the schema and description.
            keyset = waiting["state"]["state_details"]["run_input_keyset"]
            assert keyset["schema"].endswith(f"inject-{inject}-schema")
            schema = server.get(f"/flow_runs/{run['id']}/input/{keyset['schema']}")
            assert {"answered_by", "decisions", "action_items"} <= set(schema["properties"])
            description = server.get(f"/flow_runs/{run['id']}/input/{keyset['description']}")
            assert TITLES[inject] in description
            # The form's Submit: the same call the UI makes. Answers the schema refuses leave the run waiting.
            refused = server.post(f"/flow_runs/{run['id']}/resume", {"run_input": {"decisions": "no name given"}})
            assert refused["status"] == "REJECT", refused
            assert suspended(server, run["id"])
            server.post(f"/flow_runs/{run['id']}/resume", {"run_input": ANSWERS[inject]})
            wait_for(lambda: server.get(f"/flow_runs/{run['id']}")["state"]["name"] != "Suspended", 30, "resume")
        final = server.run_to_end(run["id"], timeout=150)
        assert final["state"]["type"] == "COMPLETED", (final["state"], server.log_tail())
    finally:
        stop_process(worker)

    # One run record across the three processes of the run, holding both answers and the after-action report.
    [results] = list((evidence / "dr-simulation").glob("*/results.json"))
    record = json.loads(results.read_text())
    assert record["status"] == "completed" and record["run_id"] == run["id"]
    assert [e["answers"]["answered_by"] for e in record["details"]["decision_log"]] == [
        "sre-lead@example.org",
        "dr-champ@example.org",
    ]
    html = Path(record["reports"]["report.html"]).read_text()
    assert "Stop writes to the ledger." in html and "Restore to 01:55 UTC." in html
    actions = sorted(f["title"] for f in record["findings"] if f["check"] == "simulation.action_item")
    assert actions == [
        "Action: Name an owner for the nightly batch job",
        "Action: Rehearse a point-in-time restore each quarter",
    ]


def test_a_tabletop_that_times_out_while_suspended_ends_its_evidence(prefect_server, moto_server, tmp_path):
    """Nobody answers the second inject: Prefect fails the suspended run when the timeout passes, with no
    process of ours left to say so. The next simulation ends the record, naming the unanswered inject."""
    server = prefect_server
    catalog, evidence = tabletop_world(tmp_path)
    deployment = server.deploy("annual-dr-simulation")
    worker = server.worker("tabletop", env_extra={"AWS_ENDPOINT_URL": moto_server})
    common = {"runbooks": str(catalog), "evidence": str(evidence)}
    try:
        run = server.run(deployment, {**common, "scenario": "data-corruption", "answer_timeout": 45})
        wait_for(lambda: suspended(server, run["id"]), 150, "the run to suspend at the first inject")
        server.post(f"/flow_runs/{run['id']}/resume", {"run_input": ANSWERS["corruption-found"]})
        final = server.run_to_end(run["id"], timeout=240)
        assert final["state"]["type"] == "FAILED", (final["state"], server.log_tail())
        [results] = list((evidence / "dr-simulation").glob("*/results.json"))
        assert json.loads(results.read_text())["status"] == "running"  # what the suspended run left behind
        later = server.run(deployment, {**common, "scenario": "az-loss", "non_interactive": True})
        assert server.run_to_end(later["id"], timeout=150)["state"]["type"] == "COMPLETED", server.log_tail()
    finally:
        stop_process(worker)
    record = json.loads(results.read_text())
    assert record["status"] == "timed_out" and record["finished_at"]
    assert "nobody answered before the answer timeout" in record["errors"][-1]
    assert record["details"]["unanswered"] == ["point-in-time-restore"]
    log = record["details"]["decision_log"]
    assert [(e["inject"], e["answers"] is None) for e in log] == [
        ("corruption-found", False),
        ("point-in-time-restore", True),
    ]
    html = Path(record["reports"]["report.html"]).read_text()
    assert "status timed_out" in html and "Unanswered injects: T+20 min " + TITLES["point-in-time-restore"] in html
    assert "Stop writes to the ledger." in html
