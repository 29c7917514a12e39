"""Pure time arithmetic for the rules: backup windows and restorable ranges (no moto, no clock of its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def naive_utc(value: datetime) -> datetime:
    """moto keeps naive UTC datetimes; requests may carry aware ones."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def last_window_start(window: str | None, now: datetime) -> datetime:
    """The latest start of a daily `hh:mm-hh:mm` UTC window at or before `now` (01:00 when unset)."""
    start = (window or "01:00-01:30").split("-")[0]
    hour, minute = (int(part) for part in start.split(":"))
    today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


def within(moment: datetime, earliest: datetime, latest: datetime) -> bool:
    return earliest <= naive_utc(moment) <= latest
