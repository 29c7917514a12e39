"""boto3 clients per (account, region, service), shared by threads, with assume-role per account.

The standard credential chain and the standard AWS_ENDPOINT_URL apply (moto's server in the demo and
in whole-process tests). botocore's "standard" retry mode retries throttling, 5xx and timeouts only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials
from botocore.utils import parse_timestamp
from dateutil.tz import tzutc

from tasks.aws import guard
from tasks.aws.errors import EXPIRED_CODES
from tasks.errors import AwsError

SESSION_NAME = "dr-automation"

_loaders: dict[str | None, botocore.loaders.Loader] = {}
_loaders_lock = threading.Lock()


def new_session() -> boto3.session.Session:
    """A boto3 session (own credentials and settings) reading botocore's bundled API models through one
    loader per process: each session would otherwise parse the service models (ec2's is megabytes of JSON)
    and list every service on disk again, for each flow run and each account."""
    core = botocore.session.Session()
    data_path = core.get_config_variable("data_path")
    with _loaders_lock:
        loader = _loaders.get(data_path)
        if loader is None:
            loader = _loaders[data_path] = botocore.loaders.create_loader(data_path)
    core.register_component("data_loader", loader)
    return boto3.session.Session(botocore_session=core)


@dataclass(frozen=True)
class AccountRole:
    """How to reach an account: the role to assume, the ExternalId its trust policy may ask for, and how long
    each set of credentials lasts (API_AssumeRole: DurationSeconds 900 s up to the role's maximum)."""

    role_arn: str
    external_id: str | None = None
    duration_seconds: int = 3600


def account_role(value) -> AccountRole:
    """A policy `accounts:` entry: a role ARN, or an object with role, external_id and session_duration."""
    if isinstance(value, AccountRole):
        return value
    if isinstance(value, str):
        return AccountRole(value)
    duration = getattr(value, "session_duration", None)
    return AccountRole(
        value.role, getattr(value, "external_id", None), int(duration.total_seconds()) if duration else 3600
    )


@dataclass
class AwsClients:
    accounts: dict = field(default_factory=dict)  # account id -> role ARN, or an AccountRole / policy entry
    max_attempts: int = 8
    max_pool_connections: int = 32
    _clients: dict = field(default_factory=dict, init=False, repr=False)
    _sessions: dict = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _refused: dict = field(default_factory=dict, init=False, repr=False)  # account -> why it cannot be used
    _read_once: dict = field(default_factory=dict, init=False, repr=False)
    _kept: dict = field(default_factory=dict, init=False, repr=False)

    def config(self) -> Config:
        return Config(
            retries={"mode": "standard", "max_attempts": self.max_attempts},
            max_pool_connections=self.max_pool_connections,
            connect_timeout=10,
            read_timeout=60,
        )

    def refuse(self, account: str | None, reason: str) -> None:
        """This account's credentials failed the run's check: every later call for it fails with the reason."""
        with self._lock:
            self._refused[account] = reason

    def read_once(self, key: tuple, read: Callable[[], Any]) -> Any:
        """`read()`'s answer, read once per key for as long as these clients live (one run): what does not
        change while a run lasts (a group's existence, a KMS key, a source's configuration). A failed read
        is not kept; two threads asking at once may both read, and either answer is kept."""
        with self._lock:
            if key in self._read_once:
                return self._read_once[key]
        value = read()
        with self._lock:
            return self._read_once.setdefault(key, value)

    def remember(self, key: tuple, value: Any) -> None:
        """Keep a fresher answer for `read_once` (a read made anyway, for another reason)."""
        with self._lock:
            self._read_once[key] = value

    def keep(self, key: tuple, value: Any) -> None:
        """Keep an answer for one `take`: what was read for a step about to run (and is stale for a later one)."""
        with self._lock:
            self._kept[key] = value

    def take(self, key: tuple) -> Any:
        """The answer kept under `key`, once (None after, or if none was kept)."""
        with self._lock:
            return self._kept.pop(key, None)

    def client(self, service: str, region: str, account: str | None = None):
        key = (account, region, service)
        with self._lock:
            if account in self._refused:
                raise AwsError(
                    f"{'account ' + account if account else 'default credentials'}: {self._refused[account]}"
                )
            client = self._clients.get(key)
            if client is None:
                client = self._session(account).client(service, region_name=region, config=self.config())
                guard.install(client)
                self._clients[key] = client
            return client

    def _session(self, account: str | None) -> boto3.session.Session:
        # Called with the lock held: boto3 sessions are not thread-safe to create clients from.
        if account in self._sessions:
            return self._sessions[account]
        if account is None:
            session = new_session()
        else:
            role = self.accounts.get(account)
            if not role:
                raise AwsError(f"account {account} has no role in the policy's accounts map")
            session = self._assumed(account_role(role))
        session._session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=fast_timestamp)
        self._sessions[account] = session
        return session

    def _assumed(self, role: AccountRole) -> boto3.session.Session:
        """A session whose credentials botocore refreshes before they expire (restore tests outlive an
        hour), through sts:AssumeRole with the policy's ExternalId and duration."""
        source = new_session()
        extra = {"RoleSessionName": SESSION_NAME, "DurationSeconds": role.duration_seconds}
        if role.external_id:
            extra["ExternalId"] = role.external_id
        sts = source.client("sts", config=self.config())

        def assume() -> dict:
            # No cache of our own: a refresh after ExpiredToken must get new credentials, not the revoked ones.
            creds = sts.assume_role(RoleArn=role.role_arn, **extra)["Credentials"]
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        credentials = DeferredRefreshableCredentials(refresh_using=assume, method="assume-role")
        session = new_session()
        core = session._session
        core._credentials = credentials
        core.register("needs-retry", _refresh_expired(credentials))
        return session


def _refresh_expired(credentials):
    """A call refused with ExpiredToken (revoked early, or a clock that disagrees) gets fresh credentials and
    one more try; a second refusal is the caller's to report."""

    def needs_retry(response=None, request_dict=None, **_):
        if not response or request_dict is None:
            return None
        code = (response[1] or {}).get("Error", {}).get("Code") if isinstance(response[1], dict) else None
        context = request_dict.setdefault("context", {})
        if code not in EXPIRED_CODES or context.get("dr_refreshed"):
            return None
        context["dr_refreshed"] = True
        credentials._protected_refresh(is_mandatory=True)
        return 0  # retry now, signed with the new credentials

    return needs_retry


_UTC, _ZERO = tzutc(), timedelta(0)


def fast_timestamp(value):
    """botocore's timestamp parser, with a fast path for the ISO 8601 form AWS's XML and JSON APIs return
    (`2026-11-24T09:09:39.123Z`): dateutil's general parser was a third of the cost of reading a page of a
    hundred databases. Anything else (epoch numbers, RFC 822, naive times) goes to botocore's own parser,
    so the results are the same objects botocore would have made."""
    if isinstance(value, str) and "T" in value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.replace(tzinfo=_UTC) if parsed.utcoffset() == _ZERO else parsed
    return parse_timestamp(value)
