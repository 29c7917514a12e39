"""Durations as people write them in runbooks: 90s, 30m, 4h, 2d, 1w."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
EXPECTED = "a duration like 90s, 30m, 4h, 2d or 1w"
# Far beyond any RPO, RTO or review period, and small enough that now +/- it never overflows a datetime.
MAX_SECONDS = 100 * 365 * 86400


def parse_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected {EXPECTED}, got {value!r}")
    match = _PATTERN.match(value)
    if not match:
        raise ValueError(f"expected {EXPECTED}, got {value!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"expected a duration of at most 100 years, got {value[:40]!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta | float | None) -> str:
    """Shortest exact-ish human form: 3600 -> '1h', 5400 -> '1h 30m', 42 -> '42s'."""
    if delta is None:
        return "n/a"
    seconds = int(round(delta.total_seconds() if isinstance(delta, timedelta) else delta))
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if seconds and len(parts) < 2:
        parts.append(f"{seconds}s")
    return " ".join(parts[:2])
