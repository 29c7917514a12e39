"""Run a runbook's validation steps against a restored copy."""

from __future__ import annotations

import os
import shlex
import subprocess

from tasks.aws.restore.base import CopyState, RestoreSpec
from tasks.catalog.durations import format_duration
from tasks.catalog.runbook import ValidationStep
from tasks.redaction import bound, redact

OUTPUT_LIMIT = 2000
# All a validation command inherits from the tool's environment (plus the names its step lists in `env:`):
# never the Jira token, AWS keys or Prefect API key.
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def command_env(step: ValidationStep, restore_vars: dict[str, str], environ=None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    env = {name: environ[name] for name in (*BASE_ENV, *step.env) if name in environ}
    return {**env, **restore_vars}


def run_step(step: ValidationStep, spec: RestoreSpec, copy_id: str, state: CopyState) -> dict[str, object]:
    if step.kind == "status":
        ok = state.status == "available"
        if "checksum_match" in state.detail:  # S3: the restored object must equal the original version
            ok = ok and bool(state.detail["checksum_match"])
        return {
            "name": step.name,
            "kind": step.kind,
            "passed": ok,
            "detail": f"status {state.detail.get('status', state.status)}"
            + (
                f", checksum {'match' if state.detail.get('checksum_match') else 'MISMATCH'}"
                if "checksum_match" in state.detail
                else ""
            ),
        }
    if step.kind == "endpoint":
        ok = bool(state.endpoint)
        return {
            "name": step.name,
            "kind": step.kind,
            "passed": ok,
            "detail": f"endpoint {state.endpoint}" if ok else "no endpoint published",
        }
    argv = shlex.split(step.command) if isinstance(step.command, str) else list(step.command)
    env = command_env(
        step,
        {
            "DR_RESTORE_ID": copy_id,
            "DR_RESTORE_KIND": spec.kind,
            "DR_RESTORE_REGION": spec.region,
            "DR_RESTORE_ENDPOINT": state.endpoint or "",
            "DR_RESTORE_PORT": str(state.port or ""),
            "DR_SOURCE_ID": spec.source_id,
            "DR_RESTORE_MODE": spec.mode,
        },
    )
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=step.timeout.total_seconds())
    except subprocess.TimeoutExpired:
        return {
            "name": step.name,
            "kind": step.kind,
            "passed": False,
            "detail": f"timed out after {format_duration(step.timeout)}",
        }
    except OSError as exc:
        return {"name": step.name, "kind": step.kind, "passed": False, "detail": f"cannot run: {exc.strerror}"}
    # Redacted before bounding, so a cut can never leave part of a secret behind.
    output = bound(redact((done.stdout + done.stderr).strip()), OUTPUT_LIMIT)
    return {
        "name": step.name,
        "kind": step.kind,
        "passed": done.returncode == 0,
        "detail": f"exit {done.returncode}" + (f": {output}" if output else ""),
    }


def default_steps() -> list[ValidationStep]:
    """What every copy is checked for even when the runbook lists nothing: available, endpoint present."""
    return [ValidationStep(name="available", kind="status"), ValidationStep(name="endpoint present", kind="endpoint")]
