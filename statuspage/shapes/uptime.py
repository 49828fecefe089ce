"""The uptime bars as data (`/uptime/<id>.json`): what a reader sees when tapping or tabbing to a day.

Our own document (Statuspage has none like it), one small JSON per component.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from statuspage.components.status_rules import STATUS_LABELS
from statuspage.components.uptime import Day, Uptime
from statuspage.models import Component


class DayIncidentJson(TypedDict):
    id: str
    name: str
    url: str


class UptimeDayJson(TypedDict):
    date: str
    status: str | None
    status_label: str
    uptime: float | None
    uptime_label: str
    incidents: list[DayIncidentJson]


class UptimeComponentJson(TypedDict):
    id: str
    name: str


class UptimeDaysJson(TypedDict):
    component: UptimeComponentJson
    uptime_30: str
    uptime_90: str
    days: list[UptimeDayJson]


def _day_json(day: Day, base_url: str) -> UptimeDayJson:
    return {
        "date": day.date.isoformat(),
        "status": day.status.value if day.status else None,
        "status_label": STATUS_LABELS[day.status] if day.status else "No data",
        "uptime": None if day.uptime is None else round(day.uptime, 4),
        "uptime_label": day.uptime_label,
        "incidents": [{"id": code, "name": name, "url": f"{base_url}/incidents/{code}"}
                      for name, code in zip(day.incidents, day.incident_codes, strict=True)],
    }


def uptime_json(component: Component, figures: Uptime, base_url: str) -> UptimeDaysJson:
    """A component's days, oldest first as the bars are drawn, with its 30- and 90-day figures."""
    return {
        "component": {"id": component.code, "name": component.name},
        "uptime_30": figures.label_30,
        "uptime_90": figures.label_90,
        "days": [_day_json(day, base_url) for day in figures.days],
    }
