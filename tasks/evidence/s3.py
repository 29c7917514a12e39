"""Evidence in S3: `--evidence s3://bucket/prefix`, with optional Object Lock retention per object.

The client is plain boto3, not `tasks.aws.clients.AwsClients`: that factory installs the safety
interlock (tasks/aws/guard.py), which refuses S3 writes to any bucket not named `drt-*` because such a
bucket might hold production data. The evidence bucket is the customer's own audit bucket, named by
the operator, and this store is the only writer here: every key it writes starts with the configured
prefix (relative paths are checked), so nothing outside the prefix is ever touched, and it never
deletes. The standard credential chain and AWS_ENDPOINT_URL (moto's server) apply as everywhere.

Object Lock (audit immutability): set DR_EVIDENCE_LOCK_DAYS (and optionally DR_EVIDENCE_LOCK_MODE,
GOVERNANCE by default, or COMPLIANCE) and every object written gets that retention. The bucket must have
been created with Object Lock enabled; the writability check says so before any AWS work starts.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import socket
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tasks.errors import ConfigError, EvidenceError, EvidenceUnusable
from tasks.redaction import redact_bytes

LOCK_DAYS_ENV = "DR_EVIDENCE_LOCK_DAYS"
LOCK_MODE_ENV = "DR_EVIDENCE_LOCK_MODE"
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
PROBE_KEY = ".dr-write-check"  # one fixed key: with versioning and retention a probe cannot be deleted
_MISSING = ("NoSuchKey", "404", "NotFound")


def parse_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/some/prefix -> ("bucket", "some/prefix"); the prefix may be empty."""
    if not url.startswith("s3://"):
        raise ConfigError(f"not an s3:// location: {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    prefix = prefix.strip("/")
    if not bucket or any(part in ("..", ".") for part in prefix.split("/") if prefix):
        raise ConfigError(f"expected s3://bucket/prefix, got {url!r}")
    return bucket, prefix


def lock_settings(days: str | int | None = None, mode: str | None = None) -> tuple[str, int] | None:
    """(mode, days) from arguments or the environment; None when no retention is configured."""
    days = days if days is not None else os.environ.get(LOCK_DAYS_ENV, "").strip() or None
    mode = (mode or os.environ.get(LOCK_MODE_ENV, "").strip() or "GOVERNANCE").upper()
    if days is None:
        return None
    try:
        days = int(days)
    except ValueError:
        raise ConfigError(f"{LOCK_DAYS_ENV} must be a whole number of days, got {days!r}") from None
    if days < 1:
        raise ConfigError(f"{LOCK_DAYS_ENV} must be at least 1, got {days}")
    if mode not in LOCK_MODES:
        raise ConfigError(f"{LOCK_MODE_ENV} must be one of {', '.join(LOCK_MODES)}, got {mode!r}")
    return mode, days


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc)


class S3EvidenceStore:
    """The EvidenceStore protocol over one bucket and prefix; location is the s3:// URL."""

    def __init__(self, bucket: str, prefix: str = "", *, lock: tuple[str, int] | None = None, client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.lock = lock
        self._client = client

    @classmethod
    def from_url(cls, url: str, **kwargs) -> S3EvidenceStore:
        bucket, prefix = parse_s3_url(url)
        kwargs.setdefault("lock", lock_settings())
        return cls(bucket, prefix, **kwargs)

    @property
    def client(self):
        if self._client is None:
            # Plain boto3 on purpose (see the module docstring); standard retries for throttling and 5xx.
            self._client = boto3.session.Session().client(
                "s3",
                config=Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=60),
            )
        return self._client

    def key(self, relpath: str) -> str:
        rel = posixpath.normpath(relpath.lstrip("/")) if relpath.strip("/") else ""
        if rel.startswith("..") or rel == ".":
            raise EvidenceError(f"evidence path {relpath!r} leaves the evidence prefix")
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def url(self, relpath: str) -> str:
        return f"s3://{self.bucket}/{self.key(relpath)}"

    def check_writable(self) -> None:
        """Fail before any AWS work if evidence could not be kept: no bucket, no access, no Object Lock."""
        if self.lock:
            try:
                config = self.client.get_object_lock_configuration(Bucket=self.bucket)
                enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code != "ObjectLockConfigurationNotFoundError":
                    raise EvidenceUnusable(f"evidence bucket {self.bucket} is not usable: {_describe(exc)}") from None
                enabled = False
            except BotoCoreError as exc:
                raise EvidenceUnusable(f"evidence bucket {self.bucket} is not reachable: {exc}") from None
            if not enabled:
                raise EvidenceUnusable(
                    f"{LOCK_DAYS_ENV} is set but bucket {self.bucket} has no Object Lock; "
                    "create the bucket with Object Lock enabled or unset the retention"
                )
        stamp = f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {socket.gethostname()}\n"
        self.write_bytes(PROBE_KEY, stamp.encode(), check=True)

    def write_bytes(self, relpath: str, data: bytes, check: bool = False) -> str:
        key = self.key(relpath)
        extra: dict = {}
        content_type = mimetypes.guess_type(key)[0]
        if key.endswith(".md"):
            content_type = "text/markdown"
        if content_type:
            extra["ContentType"] = content_type + ("; charset=utf-8" if content_type.startswith("text/") else "")
        if self.lock:
            mode, days = self.lock
            extra["ObjectLockMode"] = mode
            extra["ObjectLockRetainUntilDate"] = datetime.now(timezone.utc) + timedelta(days=days)
        try:
            # A PUT replaces the object atomically: a reader sees the old or the new version, never a part.
            # Object Lock requires an integrity checksum on the request; SHA-256 is also kept by S3.
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=redact_bytes(data), ChecksumAlgorithm="SHA256", **extra
            )
        except (ClientError, BotoCoreError) as exc:
            what = "is not writable" if check else f"cannot store {key}"
            raise (EvidenceUnusable if check else EvidenceError)(
                f"evidence bucket s3://{self.bucket}/{self.prefix} {what}: {_describe(exc)}"
            ) from None
        return f"s3://{self.bucket}/{key}"

    def read_bytes(self, relpath: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(relpath))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise EvidenceError(f"cannot read {self.url(relpath)}: {_describe(exc)}") from None
        except BotoCoreError as exc:
            raise EvidenceError(f"cannot read {self.url(relpath)}: {exc}") from None

    def _list(self, prefix: str, delimiter: str | None) -> tuple[list[str], list[str]]:
        base = self.key(prefix)
        base = base.rstrip("/") + "/" if base else ""
        strip = len(f"{self.prefix}/") if self.prefix else 0
        keys, dirs = [], []
        params = {"Bucket": self.bucket, "Prefix": base}
        if delimiter:
            params["Delimiter"] = delimiter
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**params):
                keys += [obj["Key"][strip:] for obj in page.get("Contents", [])]
                dirs += [p["Prefix"][strip:].rstrip("/") for p in page.get("CommonPrefixes", [])]
        except (ClientError, BotoCoreError) as exc:
            raise EvidenceError(f"cannot list s3://{self.bucket}/{base}: {_describe(exc)}") from None
        return keys, dirs

    def list_prefix(self, prefix: str) -> list[str]:
        keys, _ = self._list(prefix, None)
        return sorted(k for k in keys if not k.endswith("/"))

    def list_dirs(self, prefix: str) -> list[str]:
        _, dirs = self._list(prefix, "/")
        return sorted(d for d in dirs if not d.rsplit("/", 1)[-1].startswith("."))
