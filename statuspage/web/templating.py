"""Jinja filters: display only (labels, local times); no decisions."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from statuspage.components.status_rules import INDICATOR_DESCRIPTIONS, STATUS_LABELS
from statuspage.db import utcnow
from statuspage.edge.page import page_zone
from statuspage.markdown import plain as plain_markdown
from statuspage.markdown import render as render_markdown
from statuspage.models import ComponentStatus
from statuspage.page.profile import status_title
from statuspage.postmortems.document import promise_kept, public_sections
from statuspage.timefmt import iso, local, utc_label
from statuspage.web.page_assets import asset_urls

STATUS_ICONS = {
    "operational": "✓",
    "degraded_performance": "◐",
    "partial_outage": "!",
    "major_outage": "✕",
    "under_maintenance": "⚒",
    "none": "✓",
    "minor": "!",
    "major": "!",
    "critical": "✕",
    "maintenance": "⚒",
}


def _page_tz() -> str:
    return page_zone()


def status_label(value: str) -> str:
    try:
        return STATUS_LABELS[ComponentStatus(value)]
    except ValueError:
        return INDICATOR_DESCRIPTIONS.get(value, str(value).replace("_", " ").title())


def localtime(value: datetime | None, fmt: str = "%b %d, %Y %H:%M %Z") -> str:
    if value is None:
        return ""
    return local(value, _page_tz()).strftime(fmt)


def recent_time(value: datetime | None) -> str:
    """A time of today (in the page's zone) as hours, any other with its date: a probe silent since
    yesterday evening must not look as if it checked this evening."""
    if value is None:
        return ""
    if local(value, _page_tz()).date() == local(utcnow(), _page_tz()).date():
        return localtime(value, "%H:%M:%S")
    return localtime(value, "%b %d, %Y %H:%M")


def counted(number: int, noun: str) -> str:
    """"1 subscriber", "2 subscribers", "0 subscribers"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        status_label=status_label,
        status_icon=lambda value: STATUS_ICONS.get(str(value), "•"),
        localtime=localtime,
        utc=lambda value: utc_label(value) if value else "",
        isotime=lambda value: iso(value) if value else "",
        markdown=render_markdown,
        plaintext=plain_markdown,
        linetime=lambda value: localtime(datetime.fromisoformat(value), "%H:%M %Z"),
        words=lambda value: str(value).replace("_", " ").capitalize(),
        status_title=status_title,
        recent_time=recent_time,
        counted=counted,
        promise_kept=promise_kept,
    )
    app.jinja_env.globals.update(asset_urls=asset_urls, component_statuses=[s.value for s in ComponentStatus],
                                 public_postmortem=public_sections)
