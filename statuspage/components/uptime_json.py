"""The uptime bars as data: what a reader sees when tapping or tabbing to a day, one small JSON per component."""

from __future__ import annotations

from typing import Any

from statuspage.components.status_rules import STATUS_LABELS
from statuspage.components.uptime import Day, Uptime
from statuspage.models import Component


def _day_json(day: Day, base_url: str) -> dict[str, Any]:
    return {
        "date": day.date.isoformat(),
        "status": day.status.value if day.status else None,
        "status_label": STATUS_LABELS[day.status] if day.status else "No data",
        "uptime": None if day.uptime is None else round(day.uptime, 4),
        "uptime_label": day.uptime_label,
        "incidents": [{"id": code, "name": name, "url": f"{base_url}/incidents/{code}"}
                      for name, code in zip(day.incidents, day.incident_codes, strict=True)],
    }


def uptime_json(component: Component, figures: Uptime, base_url: str) -> dict[str, Any]:
    """A component's days, oldest first as the bars are drawn, with its 30- and 90-day figures."""
    return {
        "component": {"id": component.code, "name": component.name},
        "uptime_30": figures.label_30,
        "uptime_90": figures.label_90,
        "days": [_day_json(day, base_url) for day in figures.days],
    }
