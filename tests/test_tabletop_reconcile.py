"""A tabletop that Prefect ended while it was suspended: the next simulation ends its record (the slow,
end-to-end case with a real server is tests/test_tabletop_worker.py)."""

from __future__ import annotations

import json
from pathlib import Path

from flows._reconcile import reconcile_waiting_tabletops
from flows.dr_simulation import InjectAnswers
from tasks.catalog.scenarios import load_scenarios
from tasks.evidence.records import RunRecord, now
from tasks.evidence.store import RunEvidence, open_store
from tasks.rules.tabletop import ended_while_waiting
from tests.conftest import REPO_ROOT

FLOW = "dr-simulation"


def waiting_record(store, run_id: str, mode: str = "interactive") -> RunEvidence:
    scenario = load_scenarios(REPO_ROOT / "runbooks")["data-corruption"]
    first = scenario.injects[0]
    record = RunRecord(flow=FLOW, run_id=run_id, started_at=now(), parameters={"mode": mode})
    record.details = {
        "scenario": scenario.model_dump(mode="json"),
        "impact": [],
        "drills": [],
        "mode": mode,
        "decision_log": [
            {
                "inject": first.id,
                "at_minutes": 0,
                "title": first.title,
                "description": first.description,
                "questions": first.questions.model_dump(),
                "answers": InjectAnswers(answered_by="sre@example.org", decisions="Stop writes.").model_dump(),
            }
        ],
    }
    run = RunEvidence(store, record)
    run.save()
    return run


def test_how_a_tabletop_ended_while_waiting_is_recorded():
    assert ended_while_waiting("FAILED", "The flow was paused and never resumed.")[0] == "timed_out"
    assert ended_while_waiting("CANCELLED", None)[0] == "abandoned"
    assert ended_while_waiting("CRASHED", "killed")[0] == "abandoned"


def test_the_next_run_ends_a_record_prefect_ended_and_leaves_live_ones_alone(tmp_path):
    store = open_store(tmp_path / "evidence")
    timed_out = waiting_record(store, "11111111-1111-1111-1111-111111111111")
    live = waiting_record(store, "22222222-2222-2222-2222-222222222222")
    file_run = waiting_record(store, "33333333-3333-3333-3333-333333333333", mode="answers-file")
    states = {timed_out.record.run_id: ("FAILED", "The flow was paused and never resumed.")}
    done = reconcile_waiting_tabletops(store, FLOW, "current", ended=states.get)
    assert done == [timed_out.record.run_id]
    record = json.loads((tmp_path / "evidence" / timed_out.dir / "results.json").read_text())
    assert record["status"] == "timed_out" and record["finished_at"]
    assert record["details"]["unanswered"] == ["point-in-time-restore"]
    html = Path(record["reports"]["report.html"]).read_text()
    assert "Unanswered injects: T+20 min Point-in-time restore to before the event" in html
    assert "Stop writes." in html and "No answers recorded." in html
    md = Path(record["reports"]["report.md"]).read_text()
    assert "Point-in-time restore to before the event" in md
    for other in (live, file_run):
        assert json.loads((tmp_path / "evidence" / other.dir / "results.json").read_text())["status"] == "running"
