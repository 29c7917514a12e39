"""Secrets never leave the process: every secret value the tool knows is replaced before text is kept.

Known values: the Jira token/user variables (the policy may rename them; callers register those), AWS secret
key and session token, the Prefect API key, and every Prefect Secret block value loaded (registered on load).
"""

from __future__ import annotations

import logging
import os
import threading

# Environment variables whose values are secrets wherever they appear.
SECRET_ENV = ("DR_JIRA_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "PREFECT_API_KEY")
MASK = "***"
_MIN_LENGTH = 6  # shorter values would mask ordinary words; real tokens are far longer
_registered: set[str] = set()
_names: set[str] = set(SECRET_ENV)
_lock = threading.Lock()


def register_value(value: str | None) -> None:
    if value and len(value) >= _MIN_LENGTH:
        with _lock:
            _registered.add(value)


def register_env(name: str) -> None:
    with _lock:
        _names.add(name)


def known_secrets() -> list[str]:
    with _lock:
        values = set(_registered) | {os.environ.get(name, "") for name in _names}
    # Longest first, so a secret that contains another is masked whole.
    return sorted((v for v in values if len(v) >= _MIN_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_bytes(data: bytes) -> bytes:
    secrets = known_secrets()
    for secret in secrets:
        raw = secret.encode()
        if raw in data:
            data = data.replace(raw, MASK.encode())
    return data


def bound(text: str, limit: int) -> str:
    """Keep the end (where errors are), marked as cut."""
    return text if len(text) <= limit else "[...cut...]" + text[-limit:]


class RedactingFilter(logging.Filter):
    """Attached to handlers: log lines are redacted after formatting arguments in."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def install_log_filter() -> None:
    """Every handler on the root and Prefect loggers redacts (idempotent)."""
    for logger in (logging.getLogger(), logging.getLogger("prefect")):
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
