"""Rules that apply to a whole request: throttling, expired credentials, and per-action hooks.

Every query/JSON API moto serves (RDS, EC2, DynamoDB, STS, ...) passes through `BaseResponse.call_action`,
both under in-process `mock_aws()` and in `ThreadedMotoServer`. S3 has its own dispatcher: only throttling
is applied there (around S3Response's bucket and key handlers); per-action hooks and ExpiredToken are not.
"""

from __future__ import annotations

import functools
import random
import threading
import warnings
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import utcnow

from tasks.emulator.errors import StrictError

# botocore's standard retry mode retries all three codes as throttling.
_THROTTLE_CODES = {"ec2": "RequestLimitExceeded", "dynamodb": "ThrottlingException"}

Hook = Callable[[BaseResponse, Callable[[], Any]], Any]


class RequestRules:
    def __init__(self, strict) -> None:
        self.strict = strict
        self.hooks: dict[tuple[str, str], list[Hook]] = {}
        self._random = random.Random(strict.config.seed)
        self._lock = threading.Lock()
        # One request at a time through moto's backends: they are plain dicts, and a describe iterating
        # them while another thread's restore or delete changes them fails ("mutated during iteration",
        # an HTML 500 botocore cannot parse). AWS answers each request from a consistent view.
        self._serial = threading.RLock()
        self.throttled = 0
        # Deterministic throttling (StrictAws.throttle_next): [service, action, requests left, when].
        self._planned: list[list] = []

    def on(self, service: str, action: str, first: bool = False) -> Callable[[Hook], Hook]:
        """Register `hook(response, proceed)` around one API action; it may raise StrictError. Hooks run in
        the order registered; `first` puts this one before the others (a test's fault or counter around an
        action the layer answers itself, whose own hook never calls `proceed`)."""

        def register(hook: Hook) -> Hook:
            hooks = self.hooks.setdefault((service, action), [])
            if first:
                hooks.insert(0, hook)
            else:
                hooks.append(hook)
            return hook

        return register

    def install(self, patcher) -> None:
        rules = self

        def make(original):
            def call_action(response: BaseResponse):
                return rules.call(response, lambda: original(response))

            return call_action

        patcher.wrap(BaseResponse, "call_action", make)
        self._install_s3(patcher)

    def _install_s3(self, patcher) -> None:
        from moto.s3.responses import S3Response

        rules = self

        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html ("Tune application for
        # repeated SlowDown errors"): S3 answers a request rate it is not yet scaled for with 503 Slow Down.
        def make(original):
            def respond(response, request, full_url):
                if rules._hit():
                    body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                    return 503, {"content-type": "application/xml"}, body
                return original(response, request, full_url)

            return respond

        for name in ("_bucket_response", "_key_response"):
            patcher.wrap(S3Response, name, make)

    def call(self, response: BaseResponse, proceed: Callable[[], Any]):
        with self._serial:
            return self._call(response, proceed)

    def _call(self, response: BaseResponse, proceed: Callable[[], Any]):
        self.strict.lifecycle.reap()
        service = response.service_name or ""
        try:
            self._throttle(service)
            self._credentials(response)
            action = response._get_action() or ""
            self._planned_throttle(service, action, response)
            chain = proceed
            for hook in reversed(self.hooks.get((service, action), [])):
                chain = functools.partial(hook, response, chain)
            return chain()
        except StrictError as error:
            with warnings.catch_warnings():
                # ExpiredToken and throttling are common errors, not in any one service's error shapes.
                warnings.simplefilter("ignore", UserWarning)
                status, headers, body = response.serialized(ActionResult(error))
            return status, headers, body

    def _hit(self) -> bool:
        """Whether this request is refused as throttled (a `throttle_share` of requests, drawn from `seed`)."""
        share = self.strict.config.throttle_share
        if share <= 0:
            return False
        with self._lock:
            hit = self._random.random() < share
            if hit:
                self.throttled += 1
        return hit

    def _throttle(self, service: str) -> None:
        if self._hit():
            # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html (RequestLimitExceeded);
            # RDS/STS "Throttling", DynamoDB "ThrottlingException": "Rate exceeded".
            raise StrictError(_THROTTLE_CODES.get(service, "Throttling"), "Rate exceeded")

    def throttle_next(self, service: str, action: str, times: int, when: Callable | None = None) -> None:
        with self._lock:
            self._planned.append([service, action, times, when])

    def _planned_throttle(self, service: str, action: str, response: BaseResponse) -> None:
        with self._lock:
            for plan in self._planned:
                matches = plan[0] == service and plan[1] == action and plan[2] > 0
                if matches and (plan[3] is None or plan[3](response._get_param)):
                    plan[2] -= 1
                    self.throttled += 1
                    break
            else:
                return
        raise StrictError(_THROTTLE_CODES.get(service, "Throttling"), "Rate exceeded")

    def _credentials(self, response: BaseResponse) -> None:
        # https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html: the temporary credentials
        # stop working at `Expiration`; calls signed with them fail ExpiredToken.
        key = getattr(response, "access_key", None)
        if not key or not key.startswith("ASIA"):
            return
        role = self.strict.assumed_role(response.current_account, key)
        if role is not None and role.expiration <= utcnow():
            raise StrictError("ExpiredToken", "The security token included in the request is expired")
