"""The command line's runtime: no Prefect where no flow runs, the temporary server's start-up, the console."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from flows._console import Console
from flows._runtime import STARTUP_TIMEOUT_SECONDS, TIMEOUT_SETTING, apply_defaults
from tests.conftest import REPO_ROOT

CLOSED_PORT_API = "http://127.0.0.1:9/api"  # nothing listens on the discard port: any contact would fail


def run_cli_in_process(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """`main(args)` in a fresh interpreter that reports afterwards whether prefect was ever imported."""
    code = (
        "import sys\nfrom flows.cli import main\ntry:\n    rc = main(sys.argv[1:])\nexcept SystemExit as e:\n"
        "    rc = e.code\nprint('PREFECT_IMPORTED=%s' % ('prefect' in sys.modules), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PREFECT_API_URL": CLOSED_PORT_API,
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "false",
        **(env_extra or {}),
    }
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["--version"],
        ["--help"],
        ["audit", "--help"],
        ["review", "--dry-run"],
        ["audit", "--dry-run", "--tier", "0"],
    ],
)
def test_commands_that_run_no_flow_neither_import_nor_contact_prefect(args, tmp_path):
    run = run_cli_in_process(*args, env_extra={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "PREFECT_IMPORTED=False" in run.stderr
    assert "Traceback" not in run.stderr


def test_version_names_the_tool_and_prefect():
    run = run_cli_in_process("--version")
    assert run.stdout.startswith("dr ") and "prefect 3.9" in run.stdout


def test_audit_help_gives_its_real_default_tiers():
    from flows.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    audit_help = commands.choices["audit"].format_help()
    review_help = commands.choices["review"].format_help()
    assert "default: all tiers" in " ".join(audit_help.split())
    assert "0 and 1" in " ".join(review_help.split())


def test_defaults_raise_the_start_up_timeout_and_turn_telemetry_off_unless_the_user_chose():
    env: dict[str, str] = {}
    apply_defaults(environ=env)
    assert env[TIMEOUT_SETTING] == str(STARTUP_TIMEOUT_SECONDS) and int(env[TIMEOUT_SETTING]) > 20
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and env["DO_NOT_TRACK"] == "1"
    assert env["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "CRITICAL"

    chosen = {TIMEOUT_SETTING: "300", "PREFECT_SERVER_ANALYTICS_ENABLED": "true"}
    apply_defaults(verbose=True, environ=chosen)
    assert chosen[TIMEOUT_SETTING] == "300" and chosen["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true"
    assert "DO_NOT_TRACK" not in chosen and "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL" not in chosen


def test_a_server_that_cannot_start_in_time_is_retried_once_then_explained_in_one_line(tmp_path):
    # A real temporary server given an impossible deadline: both attempts fail; nothing is left running.
    code = (
        "import os, sys, glob\n"
        "from flows._runtime import prefect_api, PrefectUnavailable\n"
        "said = []\n"
        "try:\n"
        "    with prefect_api(say=said.append):\n"
        "        pass\n"
        "except PrefectUnavailable as exc:\n"
        "    print('ERROR:' + str(exc))\n"
        "print('SAID:%d' % len(said))\n"
        "def alive_child(stat):\n"
        "    fields = open(stat).read().rsplit(')', 1)[1].split()\n"
        "    return fields[0] != 'Z' and int(fields[1]) == os.getpid()\n"
        "kids = 0\n"
        "for stat in glob.glob('/proc/[0-9]*/stat'):\n"
        "    try:\n"
        "        kids += alive_child(stat)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('CHILDREN:%d' % kids)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PYTHONPATH=str(REPO_ROOT), PREFECT_HOME=str(tmp_path), **{TIMEOUT_SETTING: "1"})
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    lines = run.stdout.splitlines()
    [error] = [line for line in lines if line.startswith("ERROR:")]
    assert TIMEOUT_SETTING in error and "PREFECT_API_URL" in error and "\n" not in error
    assert "SAID:1" in lines  # the retry was announced once
    assert "CHILDREN:0" in lines


def test_an_unreachable_configured_api_is_one_line_naming_the_way_out():
    run = run_cli_in_process(
        "review", "--evidence", "/tmp/dr-unused-evidence", env_extra={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    )
    assert run.returncode == 1
    [line] = [line for line in run.stderr.splitlines() if line.startswith("dr: ")]
    assert CLOSED_PORT_API in line and "dr server" in line and "Traceback" not in run.stderr


def test_console_without_a_terminal_prints_a_count_every_few_seconds_and_the_total():
    now = [0.0]
    stream = io.StringIO()
    console = Console(stream=stream, tty=False, every_seconds=5, clock=lambda: now[0])
    console.phase("audit: reading 100 resource entries")
    for done in range(1, 101):
        now[0] += 0.2  # 20 s in all
        console.progress("resource entries read", done, 100)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "audit: reading 100 resource entries"
    counts = lines[1:]
    assert 3 <= len(counts) <= 5 and counts[-1] == "  resource entries read: 100/100"


def test_console_on_a_terminal_draws_a_bar_and_leaves_one_line():
    stream = io.StringIO()
    console = Console(stream=stream, tty=True)
    for done in range(1, 11):
        console.progress("restores finished", done, 10)
    console.phase("restore test: filing tickets")
    assert stream.getvalue().rstrip().splitlines()[-2:] == [
        "  restores finished: 10/10",
        "restore test: filing tickets",
    ]


def test_a_flow_run_ends_without_waiting_for_its_heartbeat_thread_which_then_stops_without_another_beat(
    prefect_harness,
):
    import threading
    import time

    from prefect import flow, flow_engine
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows._runtime import end_runs_without_waiting_for_heartbeats

    beats: list[float] = []
    emit = flow_engine.FlowRunEngine._emit_flow_run_heartbeat

    def counted(engine, *args, **kwargs):
        beats.append(time.monotonic())
        return emit(engine, *args, **kwargs)

    def heartbeat_threads() -> list[threading.Thread]:
        return [
            t
            for t in threading.enumerate()
            if any(getattr(a, "__name__", "") == "heartbeat_loop" for a in getattr(t, "_args", ()))
        ]

    @flow
    def brief() -> int:
        time.sleep(0.1)  # the heartbeat thread has sent its first beat and sleeps in one-second steps
        return 1

    end_runs_without_waiting_for_heartbeats()
    end_runs_without_waiting_for_heartbeats()  # twice: still one wrapper
    assert flow_engine._send_heartbeats.dr_without_join
    before = set(heartbeat_threads())
    flow_engine.FlowRunEngine._emit_flow_run_heartbeat = counted
    try:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
            assert brief() == 1
            ended = time.monotonic()
            sleeping = [t for t in heartbeat_threads() if t not in before]
            assert sleeping, "the run waited for its heartbeat thread"  # Prefect's sync engine joins it
            for thread in sleeping:
                thread.join(timeout=3)
                assert not thread.is_alive()
    finally:
        flow_engine.FlowRunEngine._emit_flow_run_heartbeat = emit
    assert len(beats) == 1 and beats[0] < ended  # sent while the run lasted, none after it ended
