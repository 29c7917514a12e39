"""boto3 clients per (account, region, service), shared by threads, with assume-role per account.

The standard credential chain and the standard AWS_ENDPOINT_URL apply (moto's server in the demo and
in whole-process tests). botocore's "standard" retry mode retries throttling, 5xx and timeouts only.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import boto3
from botocore.config import Config
from botocore.utils import parse_timestamp
from dateutil.tz import tzutc

from tasks.aws import guard
from tasks.errors import AwsError

SESSION_NAME = "dr-automation"


@dataclass
class AwsClients:
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> role ARN
    max_attempts: int = 8
    max_pool_connections: int = 32
    _clients: dict = field(default_factory=dict, init=False, repr=False)
    _sessions: dict = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _refused: dict = field(default_factory=dict, init=False, repr=False)  # account -> why it cannot be used

    def config(self) -> Config:
        return Config(retries={"mode": "standard", "max_attempts": self.max_attempts},
                      max_pool_connections=self.max_pool_connections,
                      connect_timeout=10, read_timeout=60)

    def refuse(self, account: str | None, reason: str) -> None:
        """This account's credentials failed the run's check: every later call for it fails with the reason."""
        with self._lock:
            self._refused[account] = reason

    def client(self, service: str, region: str, account: str | None = None):
        key = (account, region, service)
        with self._lock:
            if account in self._refused:
                raise AwsError(f"{'account ' + account if account else 'default credentials'}: "
                               f"{self._refused[account]}")
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
            session = boto3.session.Session()
        else:
            role = self.accounts.get(account)
            if not role:
                raise AwsError(f"account {account} has no role in the policy's accounts map")
            sts = boto3.session.Session().client("sts", config=self.config())
            creds = sts.assume_role(RoleArn=role, RoleSessionName=SESSION_NAME)["Credentials"]
            session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                            aws_secret_access_key=creds["SecretAccessKey"],
                                            aws_session_token=creds["SessionToken"])
        session._session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=fast_timestamp)
        self._sessions[account] = session
        return session


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
