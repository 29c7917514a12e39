"""A crashed restore test is resumed only inside its window, and its measurements stay with their service."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from flows.backup_restore_test import unfinished_run
from tasks.actions.restore import load_measurements
from tasks.evidence.records import Measurement, RunRecord
from tasks.evidence.store import LocalEvidenceStore

SIGNATURE = "tiers=0,1"
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)


def crashed(started_at: datetime, run_id: str = "old-run") -> RunRecord:
    return RunRecord(
        flow="backup-restore-test",
        run_id=run_id,
        started_at=started_at,
        status="running",
        parameters={"signature": SIGNATURE},
    )


def test_a_crashed_run_older_than_the_window_or_from_last_quarter_is_not_resumed(tmp_path):
    store = LocalEvidenceStore(tmp_path)
    window = timedelta(days=90)
    months_old = crashed(NOW - timedelta(days=200))
    assert unfinished_run(store, [months_old], SIGNATURE, "now", NOW, window) is None
    last_quarter = crashed(datetime(2026, 9, 30, 23, 0, tzinfo=timezone.utc))  # inside 90 days, but Q3
    assert unfinished_run(store, [last_quarter], SIGNATURE, "now", NOW, window) is None
    tight = crashed(NOW - timedelta(days=10))
    assert unfinished_run(store, [tight], SIGNATURE, "now", NOW, timedelta(days=7)) is None
    recent = crashed(NOW - timedelta(hours=2), run_id="recent")
    assert unfinished_run(store, [months_old, recent], SIGNATURE, "now", NOW, window).record.run_id == "recent"


def test_resumed_measurements_are_keyed_by_service_and_target(tmp_path):
    store = LocalEvidenceStore(tmp_path)
    key = "rds_instance:123456789012:us-east-1:shared-db|snapshot|us-east-1"
    for name, service, rto in (("a", "payments", 100.0), ("b", "ledger", 900.0)):
        m = Measurement(
            service=service,
            tier=1,
            resource="shared-db",
            kind="rds_instance",
            started_at=NOW,
            finished_at=NOW,
            rto_seconds=rto,
            rto_target_seconds=3600,
            rpo_target_seconds=3600,
            status="passed",
            cleanup="deleted",
        )
        store.write_bytes(
            f"run/measurements/{name}.json",
            json.dumps({"target": key, "measurement": m.model_dump(mode="json")}).encode(),
        )
    found = load_measurements(store, "run")
    assert found[("payments", key)].rto_seconds == 100.0 and found[("ledger", key)].rto_seconds == 900.0
