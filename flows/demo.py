"""`dr demo`: a moto-backed demo estate, the local ledger, and every flow that exists, end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.shipped import shipped

DEMO_ACCOUNT_ENV = {
    # Fake credentials for the emulator: the demo must never pick up a real profile.
    "AWS_ACCESS_KEY_ID": "demo-access-key",
    "AWS_SECRET_ACCESS_KEY": "demo-secret-key",
    "AWS_SESSION_TOKEN": "demo-session-token",
    "AWS_DEFAULT_REGION": "us-east-1",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # keep moto's public AMI snapshots out of the estate
}


DEMO_TRANSITION_SECONDS = 1.0  # how long the emulator's creates, restores and copies take (deletes half)
# The demo's restore test: its 108 one-second restores run 48 at a time, each polled every half second. The
# restore phase is CPU-bound on two cores (every poll is a call moto and botocore spend milliseconds of Python
# on; copies polled together share one describe), and a measured RTO within half a second of the truth still
# reads against targets of hours. Measured on this 2-core machine: 16 at a time 13.1 s, 32 11.1 s, 48 9.2-11.4 s.
DEMO_RESTORE_CONCURRENCY = 48
DEMO_POLL_SECONDS = 0.5


def start_emulator(verbose: bool = False, log: Path | None = None):
    """moto's server on a free loopback port, on the strict AWS layer (tasks/emulator: restores take time,
    AWS refuses what it refuses), in a child process so that it and the flows use two cores;
    AWS_ENDPOINT_URL points every client at it. Stop it with `stop_emulator` (on every way out)."""
    for key, value in DEMO_ACCOUNT_ENV.items():
        os.environ[key] = value
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(key, None)
    if importlib.util.find_spec("moto.server") is None or importlib.util.find_spec("werkzeug") is None:
        from tasks.errors import ConfigError

        raise ConfigError("the demo needs moto's server: pip install 'moto[server]'")
    from tasks.emulator import StrictConfig
    from tasks.emulator.server import CONTROL_ENV, EmulatorProcess

    # Not waiting for it to serve: moto loads in the child while this process goes on (its first calls wait).
    emulator = EmulatorProcess(StrictConfig.fast(DEMO_TRANSITION_SECONDS), log=log, verbose=verbose).start()
    os.environ["AWS_ENDPOINT_URL"] = emulator.url
    os.environ[CONTROL_ENV] = emulator.url  # the estate builder settles what it seeds there
    return emulator


def stop_emulator(emulator) -> None:
    from tasks.emulator.server import CONTROL_ENV

    emulator.stop()
    os.environ.pop(CONTROL_ENV, None)


DEMO_MARK = ".dr-demo"


def claim_out_dir(out: Path) -> str | None:
    """The demo writes (and replaces its runbooks/) only in an empty directory or one it made: None when
    `out` is usable (and now marked as the demo's), else why not. Nothing is touched when refused."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        return f"{out} is not a directory the demo made; choose an empty or new --out"
    if out.exists() and any(out.iterdir()) and not (out / DEMO_MARK).is_file():
        return f"{out} is not empty and was not made by `dr demo`; choose an empty or new --out"
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARK).write_text("made by dr demo: it may replace runbooks/, evidence/ and dashboard/ here\n")
    return None


class PhaseClock:
    """Wall seconds of each phase of the demo, in order (written to <out>/timings.json; `-v` prints them)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - started, 2)

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 2)


TIMINGS_FILE = "timings.json"
EMULATOR_LOG = "emulator.log"  # the emulator process's own output (moto's tracebacks with -v)


def write_timings(out: Path, timings: dict[str, float]) -> Path:
    path = out / TIMINGS_FILE
    path.write_text(json.dumps(timings, indent=1) + "\n")
    return path


def run_demo(
    out: Path,
    evidence: Path | None,
    say=print,
    prefect_ready=lambda: None,
    verbose: bool = False,
    clock: PhaseClock | None = None,
) -> dict:
    """`prefect_ready()` returns once the Prefect API answers (its server starts while the estate is built)."""
    from tasks.demo.estate import build_demo_estate, prepare_demo_catalog

    clock = clock or PhaseClock()
    out.mkdir(parents=True, exist_ok=True)
    with clock.phase("emulator_start"):
        emulator = start_emulator(verbose, log=None if verbose else out / EMULATOR_LOG)
    try:
        say(f"demo: AWS emulator (moto, strict AWS layer) on {os.environ['AWS_ENDPOINT_URL']}")
        with clock.phase("estate"):
            try:
                counts = build_demo_estate()
            except Exception:
                emulator.check()  # a dead emulator is the cause to name, not the connection error it made
                raise
        say(
            f"demo: built the estate: 8 services in {counts['regions']} regions, "
            f"{counts['tenant_databases']} tenant databases"
        )
        with clock.phase("catalog"):
            catalog = prepare_demo_catalog(shipped("runbooks"), out / "runbooks")
        evidence = evidence or out / "evidence"
        say(f"demo: catalog {catalog} (runbooks/ aged to today, plus a deliberately broken runbook)")
        with clock.phase("prefect_wait"):
            api = prefect_ready()
        say(f"demo: Prefect API {api}")

        with clock.phase("review"):
            from flows.documentation_review import documentation_review

            review = documentation_review(tiers=[0, 1, 2, 3], runbooks=str(catalog), evidence=str(evidence))

        from flows.backup_posture_audit import backup_posture_audit
        from flows.backup_restore_test import backup_restore_test

        with clock.phase("audit"):
            audit = backup_posture_audit(runbooks=str(catalog), evidence=str(evidence))
        with clock.phase("restore"):
            restore = backup_restore_test(
                runbooks=str(catalog),
                evidence=str(evidence),
                sample="5%",
                concurrency=DEMO_RESTORE_CONCURRENCY,
                poll_seconds=DEMO_POLL_SECONDS,
            )

        from flows.dashboard import dr_dashboard
        from flows.dr_simulation import dr_simulation

        answers = shipped("docs/demo-answers-region-loss.yaml")
        with clock.phase("simulation"):
            simulation = dr_simulation(
                scenario="region-loss", answers=str(answers), runbooks=str(catalog), evidence=str(evidence)
            )
        with clock.phase("dashboard"):
            dashboard = dr_dashboard(evidence=str(evidence), out=str(out / "dashboard"), runbooks=str(catalog))
        return {
            "review": review,
            "audit": audit,
            "restore": restore,
            "simulation": simulation,
            "dashboard": dashboard,
            "evidence": str(evidence),
            "catalog": str(catalog),
        }
    finally:
        with clock.phase("emulator_stop"):
            stop_emulator(emulator)
