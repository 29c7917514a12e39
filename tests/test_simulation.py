"""The DR simulation: scenario validation, impact analysis on a non-demo estate, the paused tabletop
resumed through Prefect's API as the UI does, answers files, and opt-in drills."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from flows.dr_simulation import DrillRefused, dr_simulation
from tasks.aws.clients import AwsClients
from tasks.aws.owned import list_owned
from tasks.catalog.scenarios import load_scenarios
from tasks.errors import CatalogError
from tests.conftest import REPO_ROOT, write_runbook
from tests.estate import build_estate, restore_section, write_catalog

ANSWERS = {
    "zone-dark": {
        "answered_by": "sre-lead@example.org",
        "decisions": "Declare a zonal incident; page legacy owner.",
        "observations": "legacy-db is single-AZ <b>and</b> has no backups.",
        "estimated_recovery_minutes": 240,
        "action_items": ["Make legacy-db Multi-AZ", "Turn on backups for legacy-db"],
    },
    "failover-complete": {
        "answered_by": "dr-champ@example.org",
        "decisions": "Wait for ledger failover.",
        "observations": "Failover took 90 s.",
        "action_items": [],
    },
    "all-clear": {
        "answered_by": "vp-eng@example.org",
        "decisions": "Fail back next morning.",
        "action_items": ["Add a zone-loss game day to the calendar"],
    },
}


@pytest.fixture
def world(prefect_harness, aws, tmp_path):
    builder = build_estate()
    catalog = write_catalog(tmp_path / "runbooks")
    (catalog / "broken.yaml").unlink()
    shutil.copytree(REPO_ROOT / "runbooks" / "scenarios", catalog / "scenarios")
    isolation = {region: builder.isolation(region) for region in ("us-east-2", "us-west-1")}
    (catalog / "policy.yaml").write_text(yaml.safe_dump({"restore": restore_section(builder, isolation)}))
    return {"runbooks": str(catalog), "evidence": str(tmp_path / "evidence"), "tmp": tmp_path}


def simulate(world, **kwargs):
    return dr_simulation(runbooks=world["runbooks"], evidence=world["evidence"], **kwargs)


def test_the_scenario_library_has_the_programs_scenarios():
    library = load_scenarios(REPO_ROOT / "runbooks")
    assert {"az-loss", "region-loss", "data-corruption", "dependency-loss", "people-unavailable"} <= set(library)
    for scenario in library.values():
        assert scenario.narrative and scenario.injects and all(i.questions.model_dump() for i in scenario.injects)


def test_scenarios_are_validated_like_runbooks(tmp_path):
    write_runbook(
        tmp_path / "scenarios",
        "bad.yaml",
        "id: bad\nname: Bad\nnarrative: x\nblast_radius: {kind: meteor}\ninjects:\n  - {id: a, at: soon, title: t, description: d}\n",
    )
    with pytest.raises(CatalogError) as caught:
        load_scenarios(tmp_path)
    located = {(p.line, p.field) for p in caught.value.problems}
    assert (4, "blast_radius.kind") in located and (6, "injects[0].at") in located


def test_region_loss_names_exactly_the_services_without_a_usable_copy(world):
    # One region by default: the one hosting the Tier 0 service (us-east-2), not each service's own.
    result = simulate(world, scenario="region-loss", non_interactive=True)
    assert result["unrecoverable"] == ["chat", "legacy", "payments"]
    record = json.loads((Path(result["evidence_dir"]) / "results.json").read_text())
    impact = {row["service"]: row for row in record["details"]["impact"]}
    assert impact["ledger"]["status"] == "recoverable" and impact["reports"]["status"] == "unaffected"
    # A lost region is judged against the Region-loss targets (Tier 0 default RPO 48h), not the in-region 1h:
    # the ledger's DR copy, hours old, recovers it.
    assert impact["ledger"]["rpo_target"] == 48 * 3600
    assert {row["strike"] for row in impact.values()} == {"us-east-2"}
    assert any("no cross-region copy" in reason for reason in impact["payments"]["reasons"])
    assert {f["check"] for f in record["findings"]} == {"simulation.unrecoverable"}
    report = (Path(result["evidence_dir"]) / "report.html").read_text()
    assert (
        "damages several facilities in us-east-2." in report
        and "Strikes: <strong>us-east-2 (1 region)</strong>" in report
    )


def test_a_region_loss_scenario_may_name_more_regions(world):
    scenario = Path(world["runbooks"]) / "scenarios" / "region-loss.yaml"
    scenario.write_text(
        scenario.read_text().replace(
            "blast_radius: {kind: region}", "blast_radius: {kind: region, regions: [us-east-2, ap-southeast-2]}"
        )
    )
    result = simulate(world, scenario="region-loss", non_interactive=True)
    assert result["unrecoverable"] == ["chat", "legacy", "payments", "reports"]
    report = (Path(result["evidence_dir"]) / "report.html").read_text()
    assert "Strikes: <strong>us-east-2, ap-southeast-2 (2 regions)</strong>" in report


def test_az_loss_names_the_single_az_services(world):
    result = simulate(world, scenario="az-loss", non_interactive=True)
    assert result["unrecoverable"] == ["chat", "legacy"]
    record = json.loads((Path(result["evidence_dir"]) / "results.json").read_text())
    reasons = {row["service"]: row["reasons"] for row in record["details"]["impact"]}
    assert "legacy-db is single-AZ" in reasons["legacy"][0] and "no snapshot" in reasons["chat"][0]
    # One zone, as the narrative says, not each service's own.
    assert len({row["strike"] for row in record["details"]["impact"]}) == 1
    # Striking the other region finds the single-AZ shard there.
    elsewhere = simulate(world, scenario="az-loss", non_interactive=True, region="ap-southeast-2")
    assert elsewhere["unrecoverable"] == ["payments"]


def test_other_scenarios(world):
    corruption = simulate(world, scenario="data-corruption", non_interactive=True)
    # The damage began 2h ago: ledger's journal volume has only a snapshot taken as the estate was built.
    assert corruption["unrecoverable"] == ["chat", "ledger", "legacy", "reports"]
    record = json.loads((Path(corruption["evidence_dir"]) / "results.json").read_text())
    [ledger] = [row["reasons"] for row in record["details"]["impact"] if row["service"] == "ledger"]
    assert len(ledger) == 1 and "none from before the damage began 2h ago" in ledger[0]
    people = simulate(world, scenario="people-unavailable", non_interactive=True)
    assert "chat" in people["unrecoverable"] and "ledger" not in people["unrecoverable"]


def paused_runs(api: str) -> list[dict]:
    response = httpx.post(
        f"{api}/flow_runs/filter",
        json={
            "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}},
            "limit": 10,
            "offset": 0,
            "sort": "START_TIME_DESC",
        },
    )
    response.raise_for_status()
    return response.json()


def test_the_tabletop_pauses_for_answers_and_resumes_through_the_api(world, prefect_harness):
    from prefect.flow_runs import resume_flow_run

    outcome: dict = {}

    def run():
        try:
            outcome["result"] = simulate(world, scenario="az-loss", poll_interval=1, answer_timeout=120)
        except BaseException as exc:  # surfaced by the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    answered: list[str] = []
    deadline = time.monotonic() + 180
    while thread.is_alive() and time.monotonic() < deadline:
        for flow_run in paused_runs(prefect_harness):
            inject = ["zone-dark", "failover-complete", "all-clear"][len(answered)]
            resume_flow_run(flow_run["id"], run_input=ANSWERS[inject])  # what the UI's Resume form sends
            answered.append(inject)
            time.sleep(0.5)
        time.sleep(0.3)
    thread.join(timeout=5)
    assert "error" not in outcome, outcome.get("error")
    assert answered == ["zone-dark", "failover-complete", "all-clear"]
    interactive = outcome["result"]
    html = Path(interactive["report"]).read_text()
    assert "sre-lead@example.org" in html and "Make legacy-db Multi-AZ" in html
    assert "<b>and</b>" not in html and "&lt;b&gt;and&lt;/b&gt;" in html

    answers_file = world["tmp"] / "answers.yaml"
    answers_file.write_text(yaml.safe_dump({"answers": ANSWERS}))
    from_file = simulate(world, scenario="az-loss", answers=str(answers_file))
    logs = [
        json.loads((Path(r["evidence_dir"]) / "results.json").read_text())["details"]["decision_log"]
        for r in (interactive, from_file)
    ]
    assert [e["answers"] for e in logs[0]] == [e["answers"] for e in logs[1]]
    record = json.loads((Path(from_file["evidence_dir"]) / "results.json").read_text())
    actions = sorted(f["title"] for f in record["findings"] if f["check"] == "simulation.action_item")
    assert actions == [
        "Action: Add a zone-loss game day to the calendar",
        "Action: Make legacy-db Multi-AZ",
        "Action: Turn on backups for legacy-db",
    ]


def recording(monkeypatch) -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = []
    original = AwsClients.client

    def client(self, service, region, account=None):
        made = original(self, service, region, account)
        if not getattr(made, "_recorded", False):
            made.meta.events.register(
                "before-parameter-build", lambda model, params, **_: calls.append((model.name, dict(params)))
            )
            made._recorded = True
        return made

    monkeypatch.setattr(AwsClients, "client", client)
    return calls


def test_drills_refuse_without_both_opt_ins(world, monkeypatch):
    calls = recording(monkeypatch)
    with pytest.raises(DrillRefused, match="--allow-disruptive"):
        simulate(world, scenario="az-loss", non_interactive=True, drill="az-failover")
    assert calls == []
    result = simulate(
        world,
        scenario="az-loss",
        non_interactive=True,
        drill="az-failover",
        allow_disruptive=True,
        services=["payments", "legacy"],
    )
    assert {d["status"] for d in result["drills"]} == {"refused"}
    assert not [name for name, _ in calls if not name.startswith(("Describe", "List", "Get"))]


@pytest.mark.strict(seconds=0.2)
def test_drills_run_and_measure_with_both_opt_ins(world, strict_aws, monkeypatch):
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.01")
    calls = recording(monkeypatch)
    az = simulate(
        world, scenario="az-loss", non_interactive=True, drill="az-failover", allow_disruptive=True, services=["ledger"]
    )
    [failover] = az["drills"]
    assert failover["status"] == "passed" and failover["measured_seconds"] is not None
    assert ("RebootDBInstance", {"DBInstanceIdentifier": "ledger-primary", "ForceFailover": True}) in calls
    region = simulate(
        world,
        scenario="region-loss",
        non_interactive=True,
        drill="region-failover",
        allow_disruptive=True,
        services=["ledger"],
    )
    statuses = {d["resource"].split(":")[0]: d["status"] for d in region["drills"]}
    assert statuses["ebs_volume"] == "passed"
    # The database fails over to the drill's own replica in the DR region (promoted, measured, deleted).
    database = next(d for d in region["drills"] if d["resource"].startswith("rds_instance"))
    assert database["detail"].startswith("promoted drt-") and statuses["rds_instance"] == "passed"
    assert database["data_loss_seconds"] is not None
    assert all("deleted" in d["detail"] for d in region["drills"])
    assert list_owned(AwsClients(), "us-west-1") == []


@pytest.mark.strict(seconds=0.2)
def test_a_drill_needs_the_resources_own_consent_tag(world, strict_aws, monkeypatch):
    """A runbook alone cannot claim another team's database: shard-use2-1 carries no `dr-drills: allowed`."""
    monkeypatch.setenv("DR_DRILL_POLL_SECONDS", "0.01")
    write_runbook(
        Path(world["runbooks"]),
        "claimer.yaml",
        """\
service: claimer
name: Claimer
tier: 2
owner: o@example.org
dr_champion: c@example.org
procedure: [x]
drills: {az_failover: true}
resources:
  - {kind: rds_instance, id: shard-use2-1, region: us-east-2}
""",
    )
    calls = recording(monkeypatch)
    result = simulate(
        world,
        scenario="az-loss",
        non_interactive=True,
        drill="az-failover",
        allow_disruptive=True,
        services=["claimer", "ledger"],
    )
    by_resource = {d["resource"]: d for d in result["drills"]}
    refused = by_resource["rds_instance:us-east-2:shard-use2-1"]
    assert refused["status"] == "refused" and "dr-drills: allowed" in refused["detail"]
    assert by_resource["rds_instance:us-east-2:ledger-primary"]["status"] == "passed"
    reboots = [params for name, params in calls if name == "RebootDBInstance"]
    assert reboots == [{"DBInstanceIdentifier": "ledger-primary", "ForceFailover": True}]


def test_an_az_loss_strikes_one_zone_where_the_most_critical_services_run():
    from tasks.catalog.scenario import Scenario
    from tasks.evidence.inventory import LiveResource, Observation
    from tasks.rules.impact import struck_zone
    from tests.test_review_rules import runbook

    def live(region, *zones):
        spec = runbook().resources[0]
        return [
            Observation(
                spec,
                0,
                [LiveResource("rds_instance", region, f"db-{z}", attrs={"availability_zone": z}) for z in zones],
            )
        ]

    books = {
        "core": runbook(service="core", tier=0),
        "batch": runbook(service="batch", tier=2),
        "eu": runbook(service="eu", tier=0, resources=[{"kind": "rds_instance", "id": "db", "region": "eu-west-1"}]),
    }
    observed = {
        "core": live("us-east-1", "us-east-1b"),
        "batch": live("us-east-1", "us-east-1a", "us-east-1c"),
        "eu": live("eu-west-1", "eu-west-1a"),
    }
    scenario = Scenario.model_validate(
        {
            "id": "az-loss",
            "name": "Loss of a zone",
            "narrative": "x",
            "blast_radius": {"kind": "zone"},
            "injects": [{"id": "a", "at": "0m", "title": "t", "description": "d"}],
        }
    )
    # us-east-1 hosts as many Tier 0 services as eu-west-1 and more services in all; there, Tier 0 runs in 1b.
    assert struck_zone(scenario, books, list(books), observed) == ("us-east-1", "us-east-1b")
    assert struck_zone(scenario, books, list(books), observed, region="eu-west-1") == ("eu-west-1", "eu-west-1a")
    assert struck_zone(scenario, books, list(books), observed, zone="us-east-1c") == ("us-east-1", "us-east-1c")
