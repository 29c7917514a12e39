"""Guardrails checked before and between every drill step, as AWS FIS has them: stop conditions
(CloudWatch alarms), a kill switch an operator can flip without Prefect (an SSM parameter), and the run's own
cancellation (Prefect)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error

KILL_VALUES = frozenset({"stop"})


@dataclass
class Guardrails:
    clients: AwsClients
    alarms: list[str] = field(default_factory=list)
    kill_parameter: str | None = None
    kill_region: str = "us-east-1"
    cancelled: Callable[[], bool] = lambda: False

    def with_alarms(self, extra: list[str]) -> Guardrails:
        return Guardrails(
            self.clients, sorted(set(self.alarms) | set(extra)), self.kill_parameter, self.kill_region, self.cancelled
        )

    def kill_switch(self) -> str | None:
        """Why the kill switch stops drills, or None when it is not engaged (or does not exist)."""
        if self.cancelled():
            return "the flow run was cancelled"
        if not self.kill_parameter:
            return None
        ssm = self.clients.client("ssm", self.kill_region)
        try:
            value = ssm.get_parameter(Name=self.kill_parameter)["Parameter"]["Value"]
        except ClientError as exc:
            # https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html: ParameterNotFound
            if exc.response["Error"]["Code"] == "ParameterNotFound":
                return None
            return f"the kill switch {self.kill_parameter} cannot be read ({describe_error(exc)}): stopping to be safe"
        except BotoCoreError as exc:
            return f"the kill switch {self.kill_parameter} cannot be read ({exc}): stopping to be safe"
        if value.strip().lower() in KILL_VALUES:
            return f"the kill switch {self.kill_parameter} is set to {value.strip()!r}"
        return None

    def alarms_firing(self, region: str, account: str | None) -> str | None:
        """Why the stop conditions stop a drill in `region`: an alarm in ALARM, missing, or unreadable."""
        if not self.alarms:
            return None
        cloudwatch = self.clients.client("cloudwatch", region, account)
        try:
            found = {
                a["AlarmName"]: a["StateValue"]
                for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=self.alarms)
                for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
            }
        except (ClientError, BotoCoreError) as exc:
            return f"the stop-condition alarms cannot be read ({describe_error(exc)}): stopping to be safe"
        missing = sorted(set(self.alarms) - set(found))
        if missing:  # FIS refuses a template whose stop-condition alarm does not exist; so do we
            return f"stop-condition alarm {', '.join(missing)} does not exist in {region}"
        firing = sorted(name for name, state in found.items() if state == "ALARM")
        return f"stop-condition alarm {', '.join(firing)} is in ALARM" if firing else None

    def stop_reason(self, region: str, account: str | None) -> str | None:
        return self.kill_switch() or self.alarms_firing(region, account)
