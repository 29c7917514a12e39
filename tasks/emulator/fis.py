"""AWS FIS experiments as AWS runs them: they take time, can fail, stop on a stop condition, stop when asked.

moto records StartExperiment and walks the experiment to `completed` one step per read, whatever the template
holds; it never fails, never watches a stop condition, and a stop is `stopped` at once. Here an experiment is
`running` for `StrictConfig.experiment_seconds`, then ends as the outcome a test planned for its template
(`StrictAws.fis_outcome`, default `completed`); a stop-condition alarm in ALARM stops it; StopExperiment shows
`stopping` for `experiment_stop_seconds`, then `stopped`.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

from moto.cloudwatch.models import cloudwatch_backends
from moto.fis import models as fis
from moto.moto_api._internal.managed_state_model import ManagedState

# https://docs.aws.amazon.com/fis/latest/APIReference/API_ExperimentState.html: the experiment's states;
# completed, stopped, failed and cancelled are where it ends.
TERMINAL = ("completed", "stopped", "failed", "cancelled")


@dataclass
class Plan:
    started: float  # time.monotonic() at StartExperiment
    start_unix: float  # the experiment's startTime (moto's clock)
    seconds: float
    outcome: str
    reason: str
    stop_seconds: float
    stop_requested: float | None = None
    status: str = "running"
    why: str = "Experiment is running."


_plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.RLock()


def _alarm_firing(arn: str) -> bool:
    # arn:aws:cloudwatch:<region>:<account>:alarm:<name>
    parts = arn.split(":", 6)
    if len(parts) < 7:
        return False
    region, account, name = parts[3], parts[4], parts[6]
    alarm = cloudwatch_backends[account][region].alarms.get(name)
    return alarm is not None and alarm.state_value == "ALARM"


def install(strict) -> None:
    config, patch = strict.config, strict.patcher
    outcomes: dict[str, tuple[str, str, float | None]] = {}

    def fis_outcome(template_id: str, status: str = "completed", reason: str = "", seconds: float | None = None):
        """How the next experiments from `template_id` end (`completed` or `failed`), after `seconds`
        (default `experiment_seconds`)."""
        if status not in ("completed", "failed"):
            raise ValueError("an experiment ends by itself as completed or failed")
        outcomes[template_id] = (status, reason, seconds)

    strict.fis_outcome = fis_outcome

    def make_init(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            status, reason, seconds = outcomes.get(self.experiment_template_id, ("completed", "", None))
            with _lock:
                _plans[self] = Plan(
                    started=time.monotonic(),
                    start_unix=self.start_time,
                    seconds=config.experiment_seconds if seconds is None else seconds,
                    outcome=status,
                    reason=reason or ("Experiment completed." if status == "completed" else "Experiment failed."),
                    stop_seconds=config.experiment_stop_seconds,
                )

        return __init__

    patch.wrap(fis.Experiment, "__init__", make_init)

    def current(self) -> str | None:
        plan = _plans.get(self)
        if plan is None:  # made before the layer was installed: moto's own progression
            return ManagedState.status.fget(self)
        with _lock:
            if plan.status in TERMINAL:
                return plan.status
            now = time.monotonic()
            if plan.stop_requested is not None:
                if now - plan.stop_requested >= plan.stop_seconds:
                    _end(self, plan, "stopped", plan.why, now)
                return plan.status
            # https://docs.aws.amazon.com/fis/latest/userguide/stop-conditions.html: "If a stop condition is
            # triggered during an experiment, AWS FIS stops the experiment."
            for condition in self.stop_conditions or []:
                if condition.get("source") == "aws:cloudwatch:alarm" and _alarm_firing(condition.get("value") or ""):
                    _end(self, plan, "stopped", f"Stop condition {condition['value']} triggered.", now)
                    return plan.status
            if now - plan.started >= plan.seconds:
                _end(self, plan, plan.outcome, plan.reason, now)
            return plan.status

    def request_stop(self, value) -> None:
        plan = _plans.get(self)
        if plan is None:
            ManagedState.status.fset(self, value)
            return
        with _lock:
            # https://docs.aws.amazon.com/fis/latest/APIReference/API_StopExperiment.html: stops the experiment;
            # it shows `stopping` until its actions have stopped. A finished experiment stays as it ended.
            if value == "stopping" and plan.status not in TERMINAL and plan.stop_requested is None:
                plan.stop_requested = time.monotonic()
                plan.status, plan.why = "stopping", "Experiment stopped by user."
                if plan.stop_seconds <= 0:
                    _end(self, plan, "stopped", plan.why, plan.stop_requested)

    patch.set(fis.Experiment, "status", property(current, request_stop))

    def make_dict(original):
        def to_dict(self, *args, **kwargs):
            found = original(self, *args, **kwargs)
            plan = _plans.get(self)
            if plan is not None:
                found["state"] = {"status": plan.status, "reason": plan.why}
                if plan.status == "failed":
                    # https://docs.aws.amazon.com/fis/latest/APIReference/API_ExperimentError.html
                    found["state"]["error"] = {"accountId": self.account_id, "code": "ActionFailed"}
            return found

        return to_dict

    patch.wrap(fis.Experiment, "to_dict", make_dict)
    patch.wrap(fis.Experiment, "to_summary_dict", make_dict)


def _end(experiment, plan: Plan, status: str, why: str, now: float) -> None:
    plan.status, plan.why = status, why
    # endTime is when it ended, not when someone first looked.
    experiment.end_time = plan.start_unix + (now - plan.started)
