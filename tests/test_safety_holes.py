"""Attacks from issue 14 that need no AWS: copy names, secrets in validation output, lock files, file modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tasks.actions.validation import run_step
from tasks.aws.owned import OwnedCopy, is_orphan, parse_expiry
from tasks.aws.restore.base import CopyState, RestoreSpec
from tasks.catalog.runbook import ValidationStep
from tasks.errors import DrError
from tasks.evidence.runlock import exclusive_run
from tasks.evidence.store import LocalEvidenceStore
from tasks.redaction import redact
from tasks.rules.restore_plan import RestoreTarget, copy_name

SECRET = "jira-token-0123456789abcdef"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def target(service: str, **kw) -> RestoreTarget:
    base = dict(
        tier=1,
        kind="rds_instance",
        mode="snapshot",
        resource="rds_instance:us-east-2:shared-db",
        source_id="shared-db",
        source_region="us-east-2",
        region="us-east-2",
        account=None,
        rto_target_seconds=60,
        rpo_target_seconds=60,
    )
    return RestoreTarget(service=service, **{**base, **kw})


def test_copy_names_are_unique_per_run_service_resource_and_path():
    names = {
        copy_name(run, target(service, **kw))
        for run in ("run-aaaaaaaa-1", "run-aaaaaaaa-2")
        for service in ("billing", "ledger")
        for kw in ({}, {"account": "111111111111"}, {"mode": "pitr-latest"}, {"region": "us-west-1"})
    }
    assert len(names) == 2 * 2 * 4
    assert all(len(n) <= 40 and n.startswith("drt-") for n in names)


SPEC = RestoreSpec(
    kind="rds_instance",
    mode="snapshot",
    source_id="db",
    source_region="us-east-2",
    region="us-east-2",
    copy_name="drt-x",
    tags=(),
)


def test_a_validation_command_gets_a_minimal_environment_and_its_output_is_redacted(monkeypatch):
    monkeypatch.setenv("DR_JIRA_TOKEN", SECRET)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("SOME_OTHER_VAR", "visible-only-when-named")
    env_step = ValidationStep(name="env", kind="command", command=["env"])
    detail = run_step(env_step, SPEC, "drt-x", CopyState("available"))["detail"]
    assert "DR_JIRA_TOKEN" not in detail and "AWS_SECRET_ACCESS_KEY" not in detail
    assert "SOME_OTHER_VAR" not in detail and "DR_RESTORE_ID=drt-x" in detail and "PATH=" in detail
    named = ValidationStep(name="env", kind="command", command=["env"], env=["SOME_OTHER_VAR", "DR_JIRA_TOKEN"])
    detail = run_step(named, SPEC, "drt-x", CopyState("available"))["detail"]
    assert "SOME_OTHER_VAR=visible-only-when-named" in detail
    assert SECRET not in detail and "DR_JIRA_TOKEN=***" in detail  # named, so passed, but never kept
    echo = ValidationStep(
        name="echo", kind="command", command=["sh", "-c", f"echo {AWS_SECRET}; head -c 100000 /dev/zero | tr '\\0' x"]
    )
    detail = run_step(echo, SPEC, "drt-x", CopyState("available"))["detail"]
    assert AWS_SECRET not in detail and len(detail) < 2100


def test_evidence_files_are_redacted_and_written_with_the_umasks_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("DR_JIRA_TOKEN", SECRET)
    store = LocalEvidenceStore(tmp_path)
    path = Path(store.write_bytes("run/results.json", f'{{"detail": "token {SECRET}"}}'.encode()))
    assert SECRET not in path.read_text() and "***" in path.read_text()
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert redact(f"x{SECRET}y") == "x***y"


def test_a_symlinked_run_lock_is_refused_not_followed(tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    (tmp_path / "ev" / "flow").mkdir(parents=True)
    (tmp_path / "ev" / "flow" / ".run.lock").symlink_to(victim)
    with pytest.raises(DrError, match="symbolic link"), exclusive_run(str(tmp_path / "ev"), "flow", "run-1"):
        pass
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize(
    "raw,why",
    [
        (None, "no expires-at"),
        ("2026-01-01T00:00:00", "no time zone"),
        ("2026-02-30T00:00:00+00:00", "not an ISO 8601"),
        ("x" * 5000, "not an ISO"),
    ],
)
def test_an_unreadable_expiry_is_unknown_and_such_a_copy_is_kept_unless_its_run_is_known_over(raw, why):
    from datetime import datetime, timezone

    expires, problem = parse_expiry(raw)
    assert expires is None and why in problem and len(problem) < 200
    copy = OwnedCopy("rds_instance", "drt-x", "us-east-2", None, "r1", "f", expires, "", problem)
    now = datetime.now(timezone.utc)
    assert not is_orphan(copy, now)
    assert not is_orphan(copy, now, liveness=lambda c: True)
    assert is_orphan(copy, now, liveness=lambda c: False)
    assert not is_orphan(copy, now, current_run_id="r1", liveness=lambda c: False)
