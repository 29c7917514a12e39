"""The `dr` command end to end in a subprocess, against moto's server over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.estate import EBS_GAP, EXPECTED_GAPS, build_estate, gap_keys, restore_section, write_catalog


def dr(*args, env_extra=None, timeout=300):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_validate_ok_and_every_error_listed(tmp_path):
    good = dr("validate")
    assert good.returncode == 0 and good.stdout.startswith("ok: 8 runbook(s), the policy and 5 scenario(s) valid")
    catalog = write_catalog(tmp_path)
    (catalog / "typo.yaml").write_text("service: typo\nname: T\ntier: 1\nownr: x\ntargets: {rpo: 2h}\n")
    bad = dr("validate", "--runbooks", str(catalog))
    assert bad.returncode == 2
    lines = bad.stdout.splitlines()
    assert f"{catalog}/broken.yaml:5: resources[0]: needs 'region' (or 'regions' for a fleet)" in lines
    assert any(line.startswith(f"{catalog}/typo.yaml:4: ownr: unknown field 'ownr'") for line in lines)
    # In the same pass as the unknown key, not after it is fixed: the target looser than the tier's.
    assert (
        f"{catalog}/typo.yaml:5: targets.rpo: 2h is looser than tier 1's RPO of 1h; targets may only be "
        "stricter than the tier's" in lines
    )
    assert bad.stderr.splitlines()[-1] == "dr: error: 3 error(s) in 2 file(s); 5 runbook(s) valid"
    assert "Traceback" not in bad.stderr
    # A missing directory (load_catalog raises) is said once, then the one `dr: error:` line.
    missing = dr("validate", "--runbooks", str(tmp_path / "nope"))
    said = (missing.stdout + missing.stderr).count("runbooks directory not found")
    assert missing.returncode == 2 and said == 1
    assert missing.stderr.splitlines()[-1].startswith("dr: error: 1 error(s) in 1 file(s)")


def test_review_against_moto_server(tmp_path, moto_server, prefect_harness):
    build_estate(in_process_mock=False)
    catalog = write_catalog(tmp_path / "runbooks")
    evidence = tmp_path / "evidence"
    env = {"AWS_ENDPOINT_URL": moto_server, "PREFECT_API_URL": prefect_harness}
    run = dr(
        "review", "--runbooks", str(catalog), "--evidence", str(evidence), "--tier", "0", "--tier", "1", env_extra=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = next(line.split(": ", 1)[1] for line in run.stdout.splitlines() if line.startswith("report: "))
    assert Path(report).is_file()
    markdown = next(line.split(": ", 1)[1] for line in run.stdout.splitlines() if line.startswith("markdown: "))
    assert Path(markdown) == Path(report).with_name("report.md") and Path(markdown).read_text().startswith("# ")
    record = json.loads((Path(report).parent / "results.json").read_text())
    assert gap_keys(record["findings"]) == EXPECTED_GAPS | {EBS_GAP}
    assert "11 opened" in run.stdout

    again = dr("review", "--runbooks", str(catalog), "--evidence", str(evidence), env_extra=env)
    assert again.returncode == 0 and "0 opened, 11 kept" in again.stdout


def test_dry_run_shows_the_plan_and_writes_nothing(tmp_path, moto_server, prefect_harness):
    catalog = write_catalog(tmp_path / "runbooks")
    run = dr(
        "review",
        "--runbooks",
        str(catalog),
        "--evidence",
        str(tmp_path / "ev"),
        "--service",
        "payments",
        "--dry-run",
        env_extra={"AWS_ENDPOINT_URL": moto_server, "PREFECT_API_URL": prefect_harness},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "would review 1 service(s)" in run.stdout and "rds_cluster:us-east-2:payments-aurora" in run.stdout
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--runbooks", "/nonexistent/runbooks"], "runbooks directory not found"),
        (["--service", "no-such-service"], "unknown service(s): no-such-service"),
        (["--evidence", "{file}/evidence"], "is not writable"),
    ],
)
def test_bad_input_exits_2_with_a_one_line_reason(tmp_path, prefect_harness, args, reason):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = [a.replace("{file}", str(blocker)) for a in args]
    run = dr("review", *args, env_extra={"PREFECT_API_URL": prefect_harness, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert run.returncode == 2, (run.stdout, run.stderr[-2000:])
    [line] = [line for line in run.stderr.splitlines() if line.startswith("dr: ")]
    assert line.startswith("dr: error:") and reason in line and "Traceback" not in run.stderr


def test_aws_out_of_reach_is_one_error_line_in_its_own_words(tmp_path):
    # The restore test's dry run reads AWS before any flow runs: nothing for Prefect's logs to add.
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # the discard port: nothing answers
        "AWS_ACCESS_KEY_ID": "fake",
        "AWS_SECRET_ACCESS_KEY": "fake",
        "AWS_MAX_ATTEMPTS": "1",
    }
    run = dr("restore-test", "--dry-run", "--evidence", str(tmp_path / "ev"), env_extra=env, timeout=120)
    assert run.returncode == 1, (run.stdout, run.stderr[-2000:])
    [line] = [line for line in run.stderr.splitlines() if line.startswith("dr: ")]
    assert line.startswith("dr: error: AWS: EndpointConnectionError") and "127.0.0.1:9" in line, line
    assert "Prefect" not in run.stderr and "Traceback" not in run.stderr


def test_a_killed_restore_test_is_swept_and_resumed(tmp_path, moto_server, prefect_harness):
    import time

    import yaml

    from tasks.aws.clients import AwsClients
    from tasks.aws.owned import list_owned

    builder = build_estate(in_process_mock=False)
    isolation = {r: builder.isolation(r) for r in ("us-east-2", "us-west-1")}
    catalog = write_catalog(tmp_path / "runbooks")
    (catalog / "policy.yaml").write_text(yaml.safe_dump({"restore": restore_section(builder, isolation)}))
    ledger = catalog / "ledger.yaml"
    calm = ledger.read_text()
    # The third restore (the cross-region copy) hangs in validation, so the run is killed mid-way.
    ledger.write_text(
        calm.replace(
            "validation: [{name: up, kind: status}]",
            "validation: [{name: up, kind: status}, "
            '{name: hang, kind: command, command: ["sh", "-c", '
            '"test $DR_RESTORE_MODE != snapshot-dr || sleep 120"]}]',
        )
    )
    evidence = tmp_path / "evidence"
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_server, "PREFECT_API_URL": prefect_harness}
    args = [
        sys.executable,
        "-m",
        "flows.cli",
        "restore-test",
        "--runbooks",
        str(catalog),
        "--evidence",
        str(evidence),
        "--service",
        "ledger",
        "--concurrency",
        "1",
        "--poll-seconds",
        "0.01",
    ]
    victim = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients = AwsClients()
    deadline = time.monotonic() + 120
    while not list_owned(clients, "us-west-1") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list_owned(clients, "us-west-1"), "the hanging restore never started"
    victim.kill()
    victim.wait()
    measured = list((evidence / "backup-restore-test").glob("*/measurements/*.json"))
    assert len(measured) == 2  # snapshot and point-in-time finished before the kill

    swept = dr("sweep", "--runbooks", str(catalog), "--evidence", str(evidence), env_extra=env)
    assert swept.returncode == 0, swept.stderr[-2000:]
    assert "deleted: rds_instance drt-" in swept.stdout

    def none_left() -> bool:
        return list_owned(clients, "us-west-1") == [] and list_owned(clients, "us-east-2") == []

    # The sweep ends once AWS has accepted its deletes; a copy stays `deleting` a while (0.5 s here).
    deadline = time.monotonic() + 30
    while not none_left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert none_left()

    ledger.write_text(calm)
    rerun = dr(*args[3:], env_extra=env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = next(line.split(": ", 1)[1] for line in rerun.stdout.splitlines() if line.startswith("report: "))
    record = json.loads((Path(report).parent / "results.json").read_text())
    resumed = [m for m in record["measurements"] if m["resumed_from"]]
    assert len(record["measurements"]) == 5 and len(resumed) == 2
    assert {m["mode"] for m in resumed} == {"snapshot", "pitr-latest"}
    assert record["status"] == "completed" and list_owned(clients, "us-west-1") == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("AwsError", 1),
        ("TrackerError", 1),
        ("EvidenceError", 1),  # raised mid-run: the run failed
        ("ConfigError", 2),
        ("CredentialsError", 2),
        ("EvidenceUnusable", 2),
        ("StateCorrupt", 2),  # bad input
    ],
)
def test_a_tool_error_exits_as_documented_one_for_a_failed_run_two_for_bad_input(error, code, monkeypatch, capsys):
    import flows.cli as cli
    from tasks import errors

    def fails(args):
        raise getattr(errors, error)("what went wrong")

    monkeypatch.setitem(cli.COMMANDS, "validate", fails)
    assert cli.main(["validate"]) == code
    assert capsys.readouterr().err == "dr: error: what went wrong\n"


@pytest.mark.parametrize(
    "bad",
    [
        ["--sample", "abc"],
        ["--sample", "150%"],
        ["--concurrency", "0"],
        ["--concurrency", "9" * 5000],
        ["--poll-seconds", "nan"],
        ["--wait", "-1"],
    ],
)
def test_bad_cli_values_stop_with_exit_2_and_no_run_record(tmp_path, bad):
    evidence = tmp_path / "evidence"
    result = dr("restore-test", "--evidence", str(evidence), *bad)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("dr restore-test: error: argument")
    assert not evidence.exists()


def test_demo_out_refuses_a_directory_it_did_not_make(tmp_path):
    from flows.demo import claim_out_dir

    project = tmp_path / "project"
    (project / "runbooks").mkdir(parents=True)
    (project / "runbooks" / "ledger.yaml").write_text("service: ledger\n")
    result = dr("demo", "--out", str(project))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert (project / "runbooks" / "ledger.yaml").read_text() == "service: ledger\n"
    assert not (project / ".dr-demo").exists()
    assert claim_out_dir(tmp_path / "new") is None and claim_out_dir(tmp_path / "new") is None  # its own: reusable


@pytest.mark.parametrize(
    "command", [["review"], ["audit"], ["restore-test"], ["simulate", "--scenario", "region-loss"]]
)
def test_s3_evidence_with_the_ledger_tracker_is_refused_at_start(command):
    result = dr(*command, "--evidence", "s3://dr-evidence/prod")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ledger" in lines[0] and "s3://dr-evidence/prod" in lines[0], lines
    assert "deferred" not in result.stdout + result.stderr


def test_a_failed_ticket_sync_with_nothing_queued_never_says_deferred(capsys):
    from flows.cli import _print_run

    tracker = {
        "backend": "ledger",
        "created": 0,
        "kept": 0,
        "resolved": 0,
        "reopened": 0,
        "deferred": 0,
        "error": "ledger unreadable",
    }
    _print_run({"tracker": tracker, "evidence_dir": "e", "report": "r"})
    out = capsys.readouterr().out
    assert "deferred" not in out and "not filed: ledger unreadable" in out
    _print_run(
        {
            "tracker": {**tracker, "backend": "jira", "deferred": 3, "error": "Jira down"},
            "evidence_dir": "e",
            "report": "r",
        }
    )
    assert "3 deferred to the outbox: Jira down" in capsys.readouterr().out
