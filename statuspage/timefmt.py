"""Time as the API and the page show it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def iso(value: datetime | None, time_zone: str = "Etc/UTC") -> str | None:
    """ISO 8601 with milliseconds and the page's UTC offset, as Statuspage writes it."""
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(time_zone))
    text = local.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if local.utcoffset() == timedelta(0) else text


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def local(value: datetime, time_zone: str) -> datetime:
    """The same instant in the page's time zone, for display."""
    return value.astimezone(ZoneInfo(time_zone))


def utc_label(value: datetime) -> str:
    """The UTC time shown on hover."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_local(value: str, time_zone: str, field: str) -> datetime | None:
    """A form's `datetime-local` value (no zone) read in the page's time zone; None when empty."""
    from statuspage.errors import InvalidInput

    value = (value or "").strip()
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Enter a date and time like 2024-08-14 14:30.", field) from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(time_zone))


def to_local_input(value: datetime | None, time_zone: str) -> str:
    """A time as a `datetime-local` input shows it, in the page's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%dT%H:%M")
