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


def windows_opened(ago: timedelta, now: datetime | None = None) -> tuple[str, str]:
    """A 30-minute daily backup window that opened `ago` before `now`, and a weekly maintenance window twelve
    hours from it: (PreferredBackupWindow, PreferredMaintenanceWindow). The maintenance window is explicit
    because AWS refuses one that overlaps the backup window (CreateDBInstance), and moto's default may."""
    start = (now or datetime.now(UTC)) - ago
    end = start + timedelta(minutes=30)
    far, far_end = start + timedelta(hours=12), end + timedelta(hours=12)
    return f"{start:%H:%M}-{end:%H:%M}", f"{far:%a:%H:%M}-{far_end:%a:%H:%M}".lower()
