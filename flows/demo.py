"""`dr demo`: a moto-backed demo estate, the local ledger, and every flow that exists, end to end."""

from __future__ import annotations

import logging
import os
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
# The demo's restore test: its 107 one-second restores run 16 at a time, each polled every quarter second
# (a faster poll only burns the two cores the emulator and Prefect share; slower blurs the measured RTO).
DEMO_RESTORE_CONCURRENCY = 16
DEMO_POLL_SECONDS = 0.25


def start_emulator(verbose: bool = False):
    """moto's server on a free loopback port, on the strict AWS layer (tasks/emulator: restores take time,
    AWS refuses what it refuses); AWS_ENDPOINT_URL points every client at it. Returns (server, layer): the
    layer is None when the caller already installed one (a test's)."""
    for key, value in DEMO_ACCOUNT_ENV.items():
        os.environ[key] = value
    for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(key, None)
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        from tasks.errors import ConfigError

        raise ConfigError("the demo needs moto's server: pip install 'moto[server]'") from None
    # moto logs a traceback for each request it fails (its own races under concurrent calls answer 500, which
    # botocore retries): emulator internals, not the user's business unless they asked for -v.
    logging.getLogger("werkzeug").setLevel(logging.ERROR if verbose else logging.CRITICAL)
    from tasks.emulator import StrictAws, StrictConfig, current

    layer = None if current() is not None else StrictAws(StrictConfig.fast(DEMO_TRANSITION_SECONDS)).install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    try:
        server.start()
    except BaseException:
        if layer is not None:
            layer.uninstall()
        raise
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    return server, layer


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


def run_demo(out: Path, evidence: Path | None, say=print, prefect_ready=lambda: None, verbose: bool = False) -> dict:
    """`prefect_ready()` returns once the Prefect API answers (its server starts while the estate is built)."""
    from tasks.demo.estate import build_demo_estate, prepare_demo_catalog

    server, layer = start_emulator(verbose)
    try:
        say(f"demo: AWS emulator (moto, strict AWS layer) on {os.environ['AWS_ENDPOINT_URL']}")
        counts = build_demo_estate()
        say(f"demo: built the estate: 8 services in 5 regions, {counts['tenant_databases']} tenant databases")
        catalog = prepare_demo_catalog(shipped("runbooks"), out / "runbooks")
        evidence = evidence or out / "evidence"
        say(f"demo: catalog {catalog} (runbooks/ aged to today, plus a deliberately broken runbook)")
        say(f"demo: Prefect API {prefect_ready()}")

        from flows.documentation_review import documentation_review

        review = documentation_review(tiers=[0, 1, 2, 3], runbooks=str(catalog), evidence=str(evidence))

        from flows.backup_posture_audit import backup_posture_audit
        from flows.backup_restore_test import backup_restore_test

        audit = backup_posture_audit(runbooks=str(catalog), evidence=str(evidence))
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
        simulation = dr_simulation(
            scenario="region-loss", answers=str(answers), runbooks=str(catalog), evidence=str(evidence)
        )
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
        server.stop()
        if layer is not None:
            layer.uninstall()
