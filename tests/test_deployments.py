"""The project as a Prefect project: served deployments triggered through the API as the UI does, their
schedules as the server computes them, and fan-out to child runs on two process workers."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.conftest import REPO_ROOT, write_runbook
from tests.estate import build_estate, restore_section, write_catalog
from tests.prefect_server import BIN, PrefectServer, stop_process, wait_for

SYDNEY = ZoneInfo("Australia/Sydney")
pytestmark = pytest.mark.slow


def project_deployments() -> list[dict]:
    return yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())["deployments"]


def artifacts(server: PrefectServer, run_id: str) -> list[dict]:
    return server.post(
        "/artifacts/filter", {"flow_runs": {"id": {"any_": [run_id]}}, "limit": 50, "offset": 0, "sort": "KEY_ASC"}
    )


def next_local(after: datetime, ok_day, hour: int, minute: int) -> datetime:
    """The first local time after `after` on a day `ok_day` accepts, at hour:minute (Sydney)."""
    day = after.astimezone(SYDNEY).date()
    while True:
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SYDNEY)
        if ok_day(candidate) and candidate > after:
            return candidate
        day += timedelta(days=1)


def expected_first_runs(now: datetime) -> dict[str, datetime]:
    quarter_months = {1, 4, 7, 10}
    hourly = now.astimezone(SYDNEY).replace(minute=15, second=0, microsecond=0)
    if hourly <= now:
        hourly += timedelta(hours=1)
    return {
        "quarterly-documentation-review": next_local(now, lambda d: d.day == 1 and d.month in quarter_months, 6, 0),
        "quarterly-restore-test": next_local(now, lambda d: d.day == 2 and d.month in quarter_months, 2, 0),
        "daily-posture-audit": next_local(now, lambda d: True, 5, 30),
        "daily-dashboard": next_local(now, lambda d: True, 7, 0),
        "hourly-orphan-sweep": hourly,
        # Second Tuesday of November.
        "annual-dr-simulation": next_local(
            now, lambda d: d.month == 11 and d.weekday() == 1 and 8 <= d.day <= 14, 9, 30
        ),
    }


def test_served_deployments_keep_their_schedules_and_run_from_the_api(prefect_server, moto_server, tmp_path):
    server = prefect_server  # one server per test: the schedule test leaves hundreds of scheduled runs behind
    from importlib.metadata import version

    # The scheduled runs below come from the server's scheduler, which Prefect 3.8.8 broke on SQLAlchemy 2.1
    # ("Can't evaluate bulk DML statement"): this test is the proof that 3.9.1 schedules on the 2.1 we pin.
    assert tuple(int(p) for p in version("sqlalchemy").split(".")[:2]) >= (2, 1), version("sqlalchemy")
    builder = build_estate(in_process_mock=False)
    isolation = {region: builder.isolation(region) for region in ("us-east-2", "us-west-1", "ap-southeast-2")}
    catalog = write_catalog(tmp_path / "runbooks")
    (catalog / "policy.yaml").write_text(yaml.safe_dump({"restore": restore_section(builder, isolation)}))
    shutil.copytree(REPO_ROOT / "runbooks" / "scenarios", catalog / "scenarios")
    evidence = tmp_path / "evidence"
    started = datetime.now(SYDNEY)
    serving = server.start(str(BIN / "dr"), "serve", log_name="serve.log", env_extra={"AWS_ENDPOINT_URL": moto_server})
    try:
        names = {d["name"] for d in project_deployments()}
        deployments = wait_for(
            lambda: (lambda ds: ds if {d["name"] for d in ds} >= names else None)(
                server.post("/deployments/filter", {"limit": 50, "offset": 0})
            ),
            120,
            "served deployments",
        )
        by_name = {d["name"]: d for d in deployments}

        expected = expected_first_runs(started)
        for name, first in expected.items():

            def scheduled(name=name):
                runs = server.post(
                    "/flow_runs/filter",
                    {
                        "deployments": {"id": {"any_": [by_name[name]["id"]]}},
                        "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                        "sort": "EXPECTED_START_TIME_ASC",
                        "limit": 3,
                        "offset": 0,
                    },
                )
                return runs or None

            runs = wait_for(scheduled, 60, f"scheduled runs of {name}")
            got = datetime.fromisoformat(runs[0]["expected_start_time"]).astimezone(SYDNEY)
            assert got == first, f"{name}: next run {got}, expected {first}"
            assert by_name[name]["schedules"][0]["schedule"]["timezone"] == "Australia/Sydney"

        common = {"runbooks": str(catalog), "evidence": str(evidence)}
        custom = {
            "quarterly-documentation-review": {**common, "tiers": [0, 1], "concurrency": 2},
            "daily-posture-audit": {**common, "services": ["ledger", "payments"]},
            "quarterly-restore-test": {**common, "services": ["ledger"], "poll_seconds": 0.01, "sample": None},
            "annual-dr-simulation": {**common, "scenario": "az-loss", "non_interactive": True},
            "daily-dashboard": {"evidence": str(evidence), "runbooks": str(catalog), "out": str(tmp_path / "site")},
            "hourly-orphan-sweep": {**common, "dry_run": True},
        }
        # A bad value is refused before a run exists, as the UI's form does.
        rejected = server_post_status(
            server,
            f"/deployments/{by_name['daily-posture-audit']['id']}/create_flow_run",
            {"parameters": {"concurrency": "lots"}},
        )
        assert rejected == 409
        for name in [
            "quarterly-documentation-review",
            "daily-posture-audit",
            "quarterly-restore-test",
            "annual-dr-simulation",
            "hourly-orphan-sweep",
            "daily-dashboard",
        ]:
            run = server.post(f"/deployments/{by_name[name]['id']}/create_flow_run", {"parameters": custom[name]})
            final = server.run_to_end(run["id"])
            assert final["state"]["type"] == "COMPLETED", (name, final["state"], server.log_tail())
            if name != "hourly-orphan-sweep":
                assert artifacts(server, run["id"]), f"{name} published no artifacts"
        reviews = list((evidence / "documentation-review").glob("*/results.json"))
        assert len(reviews) == 1 and json.loads(reviews[0].read_text())["parameters"]["concurrency"] == 2
    finally:
        serving.terminate()
        serving.wait(timeout=30)


def server_post_status(server, path, body) -> int:
    import httpx

    return httpx.post(f"{server.api}{path}", json=body, timeout=30).status_code


def workers_that_ran(server: PrefectServer, run_ids: list[str]) -> dict[str, str]:
    """Which worker submitted each flow run, from the run's own logs in the API (a worker's console output is
    wrapped and buffered differently from host to host; the API keeps the message whole)."""

    def found():
        logs = server.post("/logs/filter", {"logs": {"flow_run_id": {"any_": run_ids}}, "limit": 200, "offset": 0})
        ran_on = {}
        for log in logs:
            match = re.search(r"Worker '(\w+)' submitting flow run", log["message"])
            if match:
                ran_on[log["flow_run_id"]] = match.group(1)
        return ran_on if set(ran_on) == set(run_ids) else None

    return wait_for(found, 60, "the workers' submission logs")


def test_fan_out_runs_children_on_both_workers(prefect_server, moto_server, tmp_path):
    server = prefect_server
    from tasks.demo.builder import EstateBuilder

    builder = EstateBuilder()
    regions = ["us-east-1", "us-east-2", "us-west-1", "eu-west-1"]
    for region in regions:
        builder.rds_instance(region, f"fleet-{region}", tags={"fleet": "spread"}, multi_az=False, retention=7)
    catalog = tmp_path / "runbooks"
    write_runbook(
        catalog,
        "spread.yaml",
        "service: spread\nname: Spread fleet\ntier: 2\nresources:\n"
        "  - kind: rds_instance\n    select: {tags: {fleet: spread}}\n"
        f"    regions: [{', '.join(regions)}]\n",
    )
    # Unbuffered (the helper's default): the workers' logs are read while they still run.
    deployment = server.deploy("daily-posture-audit")
    workers = [server.worker(name, limit=2, env_extra={"AWS_ENDPOINT_URL": moto_server}) for name in ("w1", "w2")]
    try:
        # Both polling before the children exist: each takes at most two, so each takes some.
        server.wait_for_workers(["w1", "w2"])
        parent = server.run(
            deployment,
            {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence"), "fan_out": True, "tracker": "ledger"},
        )
        final = server.run_to_end(parent["id"], timeout=300)
        assert final["state"]["type"] == "COMPLETED", (final["state"], server.log_tail())
        record = json.loads(next((tmp_path / "evidence" / "backup-posture-audit").glob("*/results.json")).read_text())
        children = record["details"]["children"]
        assert sorted(c["partition"] for c in children) == sorted(regions)
        assert all(c["state"] == "Completed" for c in children)
        assert len(record["findings"]) == 4  # retention below policy on each of the four databases
        assert set(workers_that_ran(server, [c["flow_run_id"] for c in children]).values()) == {"w1", "w2"}
    finally:
        for worker in workers:
            stop_process(worker)
