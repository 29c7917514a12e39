"""A drill run as an AWS FIS experiment: the runbook names an experiment template, FIS runs it, the drill reads
its result. The guardrails stay ours: the kill switch, Prefect cancellation and the stop alarms stop the
experiment (StopExperiment) between polls, as they stop any other drill.

Consent: besides --allow-disruptive and the runbook's `drills:` entry, the template itself must carry the
drill tag (`dr-drills: allowed`): the template decides what is disrupted, so its owners agree to it there.

API: https://docs.aws.amazon.com/fis/latest/APIReference/API_StartExperiment.html (clientToken,
experimentTemplateId, tags), API_GetExperiment.html, API_StopExperiment.html, API_ExperimentState.html.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from tasks.actions.drills import DRILL_TAG_VALUE, DrillResult
from tasks.actions.guardrails import Guardrails
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error, error_code
from tasks.aws.guard import allow_drill, ownership_tags

FLOW = "dr-simulation"
# https://docs.aws.amazon.com/fis/latest/APIReference/API_ExperimentState.html: where an experiment ends.
TERMINAL = frozenset({"completed", "stopped", "failed", "cancelled"})


def client_token(run_id: str, template_id: str) -> str:
    """The same token for the same run and template: a retried start returns the experiment already started
    instead of starting a second one (StartExperiment's clientToken is its idempotency key)."""
    return hashlib.sha256(f"{run_id}:{template_id}".encode()).hexdigest()[:64]


def run_experiment(
    clients: AwsClients,
    template_id: str,
    region: str,
    account: str | None,
    run_id: str,
    result: DrillResult,
    poll: float,
    guard: Guardrails,
    tag_key: str,
    timeout_seconds: float,
) -> DrillResult:
    fis = clients.client("fis", region, account)
    try:
        try:
            template = fis.get_experiment_template(id=template_id)["experimentTemplate"]
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            result.status, result.detail, result.check = (
                "failed",
                f"FIS experiment template {template_id} not found in {region}",
                "drill.failed",
            )
            return result
        if (template.get("tags") or {}).get(tag_key) != DRILL_TAG_VALUE:
            result.status, result.detail = (
                "refused",
                f"the FIS template does not allow it (it needs the tag {tag_key}: {DRILL_TAG_VALUE})",
            )
            return result
        conditions = [c.get("value") for c in template.get("stopConditions") or [] if c.get("value")]
        result.before = {"template": template_id, "description": template.get("description"), "region": region}
        result.event(
            "decision",
            f"run FIS experiment template {template_id} in {region} ({template.get('description') or 'no description'})"
            + (f"; its own stop conditions: {', '.join(conditions)}" if conditions else ""),
        )
        reason = guard.stop_reason(region, account)
        if reason:
            result.status, result.detail, result.check = "not-started", reason, "drill.stopped"
            result.event("stop", f"not started: {reason}")
            return result
        expires = (datetime.now(UTC) + timedelta(seconds=timeout_seconds) + timedelta(hours=1)).isoformat()
        tags = ownership_tags(run_id, FLOW, expires, f"{result.service}:{template_id}")
        started = time.monotonic()
        with allow_drill("StartExperiment", template_id):
            experiment = fis.start_experiment(
                clientToken=client_token(run_id, template_id), experimentTemplateId=template_id, tags=tags
            )["experiment"]
        ident = experiment["id"]
        result.before["experiment"] = ident
        result.event("action", f"StartExperiment {template_id}: experiment {ident}")
        experiment, stopped_by = _watch(fis, ident, started + timeout_seconds, poll, guard, region, account, result)
        _judge(experiment, stopped_by, started, result)
    except (ClientError, BotoCoreError) as exc:
        result.status, result.detail, result.check = "failed", describe_error(exc), "drill.failed"
        result.event("stop", f"AWS refused: {describe_error(exc)}")
    return result


def _watch(fis, ident, deadline, poll, guard, region, account, result) -> tuple[dict, str | None]:
    """Poll until the experiment ends; stop it (once) when a guardrail says so or the timeout passes."""
    stopped_by: str | None = None
    while True:
        experiment = fis.get_experiment(id=ident)["experiment"]
        if experiment["state"]["status"] in TERMINAL:
            return experiment, stopped_by
        if stopped_by is None:
            reason = guard.stop_reason(region, account)
            if reason is None and time.monotonic() > deadline:
                reason = "the experiment did not end within the runbook's timeout"
            if reason:
                stopped_by = reason
                result.event("stop", reason)
                with allow_drill("StopExperiment", ident):
                    fis.stop_experiment(id=ident)
                result.event("rollback", f"StopExperiment {ident}: FIS stops its actions and reverts those that can")
                # Waiting for `stopped` is bounded too: a stop that never ends is reported, not waited on forever.
                deadline = time.monotonic() + max(60.0, poll * 10)
        elif time.monotonic() > deadline:
            return experiment, stopped_by
        time.sleep(poll)


def _judge(experiment: dict, stopped_by: str | None, started: float, result: DrillResult) -> None:
    state = experiment.get("state") or {}
    status, why = state.get("status"), state.get("reason") or ""
    begin, end = experiment.get("startTime"), experiment.get("endTime")
    result.measured_seconds = (end - begin).total_seconds() if begin and end else time.monotonic() - started
    result.after = {
        "experiment": experiment["id"],
        "status": status,
        "reason": why,
        "error": state.get("error"),
        "start": begin.isoformat() if begin else None,
        "end": end.isoformat() if end else None,
    }
    took = f"after {result.measured_seconds:.1f} s"
    if stopped_by is not None:  # a guardrail fired: stopped, even if the experiment ended before the stop
        result.status, result.check = "stopped", "drill.stopped"
        result.detail = f"{stopped_by}: FIS experiment {experiment['id']} {status} {took} ({why})"
    elif status == "completed":
        result.status, result.check = "passed", None
        result.detail = f"FIS experiment {experiment['id']} completed {took}"
    elif status in ("stopped", "cancelled"):  # FIS's own stop conditions ended it
        result.status, result.check = "stopped", "drill.stopped"
        result.detail = f"FIS {status} experiment {experiment['id']} {took}: {why}"
    else:
        code = (state.get("error") or {}).get("code")
        result.status, result.check = "failed", "drill.failed"
        result.detail = f"FIS experiment {experiment['id']} {status} {took}: {why}" + (f" ({code})" if code else "")
    result.event("verification", result.detail)
