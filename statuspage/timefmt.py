"""Time as the API and the page show it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def iso(value: datetime | None, time_zone: str = "Etc/UTC") -> str | None:
    """ISO 8601 with milliseconds and the page's UTC offset, as Statuspage writes it."""
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(time_zone))
    text = local.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if local.utcoffset().total_seconds() == 0 else text


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def local(value: datetime, time_zone: str) -> datetime:
    """The same instant in the page's time zone, for display."""
    return value.astimezone(ZoneInfo(time_zone))


def utc_label(value: datetime) -> str:
    """The UTC time shown on hover."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
