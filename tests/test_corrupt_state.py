"""Corrupt state is never read as empty: a broken ledger or outbox stops the run (exit 2, naming the file,
nothing changed); a truncated historical results.json is skipped with a warning naming it."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest

from tasks.errors import StateCorrupt
from tasks.evidence.history import load_summaries
from tasks.evidence.records import RunRecord
from tasks.evidence.store import LocalEvidenceStore, RunEvidence, load_history
from tasks.tracker.factory import check_state
from tasks.tracker.history import read_ledger
from tests.test_cli import dr

TRUNCATED_LEDGER = '{"next": 4, "tickets": {"DR-1": {"key": "DR-1", "fingerp'
LEDGERS = [TRUNCATED_LEDGER, "[]", '{"next": 2, "tickets": {"DR-1": {"key": "DR-1"}}}', ""]


def _tree(root):
    return sorted((str(p.relative_to(root)), p.read_bytes() if p.is_file() else b"") for p in root.rglob("*"))


@pytest.mark.parametrize("text", LEDGERS)
def test_a_corrupt_ledger_is_refused_naming_it_not_read_as_empty(tmp_path, text):
    ledger = tmp_path / "tracker" / "ledger.json"
    ledger.parent.mkdir(parents=True)
    ledger.write_text(text)
    with pytest.raises(StateCorrupt, match=str(ledger)) as caught:
        check_state("ledger", tmp_path)
    assert caught.value.exit_code == 2
    with pytest.raises(StateCorrupt, match="ledger.json"):
        read_ledger(LocalEvidenceStore(tmp_path))  # the dashboard's reader too


@pytest.mark.parametrize(
    "text",
    ['{"version": 1, "entr', '{"version": 1, "entries": {}}', '{"version": 1, "entries": [{"fingerprint": "x"}]}'],
)
def test_a_corrupt_outbox_is_refused_naming_it(tmp_path, text):
    outbox = tmp_path / "tracker" / "jira-outbox.json"
    outbox.parent.mkdir(parents=True)
    outbox.write_text(text)
    with pytest.raises(StateCorrupt, match="jira-outbox.json"):
        check_state("jira", tmp_path)


def test_a_run_with_a_truncated_ledger_stops_with_exit_2_and_changes_nothing(tmp_path):
    evidence = tmp_path / "evidence"
    ledger = evidence / "tracker" / "ledger.json"
    ledger.parent.mkdir(parents=True)
    ledger.write_text(TRUNCATED_LEDGER)
    before = _tree(evidence)
    result = dr("review", "--evidence", str(evidence))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(ledger) in lines[0], lines
    assert _tree(evidence) == before


def test_a_truncated_historical_results_json_is_skipped_with_a_warning_naming_it(tmp_path, caplog):
    store = LocalEvidenceStore(tmp_path)
    good = RunEvidence(
        store,
        RunRecord(
            flow="backup-restore-test",
            run_id="good-run-0000",
            started_at=datetime(2026, 11, 2, tzinfo=timezone.utc),
            status="completed",
        ),
    )
    good.save()
    broken = RunEvidence(
        store,
        RunRecord(
            flow="backup-restore-test", run_id="broken-run-00", started_at=datetime(2026, 11, 1, tzinfo=timezone.utc)
        ),
    )
    broken.save()
    path = tmp_path / broken.dir / "results.json"
    path.write_bytes(path.read_bytes()[:40])
    (tmp_path / broken.dir / "summary.json").unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING):
        assert [r.run_id for r in load_history(store, "backup-restore-test")] == ["good-run-0000"]
        assert [r.run_id for r in load_summaries(store, "backup-restore-test")] == ["good-run-0000"]
    named = [r.getMessage() for r in caplog.records if f"{broken.dir}/results.json" in r.getMessage()]
    assert len(named) == 2, [r.getMessage() for r in caplog.records]
    json.loads((tmp_path / good.dir / "results.json").read_text())  # the good run is untouched


def test_a_ledger_corrupted_after_the_start_check_stops_the_run_naming_it_with_the_findings_kept(
    prefect_harness, aws, tmp_path, monkeypatch
):
    """Broken between the start check and the ticket sync (another process, a full disk): the run stops with
    StateCorrupt (exit 2) naming the ledger, its findings already in the evidence, the ledger left as it was."""
    import flows.documentation_review as review_flow
    from tests.estate import EXPECTED_GAPS, build_estate, gap_keys, write_catalog

    build_estate()
    evidence = tmp_path / "evidence"
    ledger = evidence / "tracker" / "ledger.json"
    record_findings = review_flow.record_findings

    def then_corrupt_the_ledger(run, findings, final=True):
        record_findings(run, findings, final)
        ledger.parent.mkdir(parents=True, exist_ok=True)
        ledger.write_text(TRUNCATED_LEDGER)

    monkeypatch.setattr(review_flow, "record_findings", then_corrupt_the_ledger)
    with pytest.raises(StateCorrupt, match=str(ledger)) as caught:
        review_flow.documentation_review(runbooks=str(write_catalog(tmp_path / "runbooks")), evidence=str(evidence))
    assert caught.value.exit_code == 2
    assert ledger.read_text() == TRUNCATED_LEDGER
    [results] = (evidence / "documentation-review").glob("*/results.json")
    record = json.loads(results.read_text())
    assert record["status"] == "failed" and str(ledger) in record["errors"][0]
    assert gap_keys(record["findings"]) >= EXPECTED_GAPS
    assert all(f.get("ticket") is None for f in record["findings"])  # none said filed
