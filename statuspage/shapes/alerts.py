"""Alert routes, as the management API shows them (the signing secret is not part of the shape).

A webhook URL or a PagerDuty routing key lets whoever holds it post into the team's channels, so it is
shown whole only to those who may change it (admins); everyone else sees it masked, as in the admin.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, with_config
from typing_extensions import TypedDict

from statuspage.models import AlertChannel, AlertEvent, AlertKind, Page
from statuspage.shapes.base import CLOSED, Id, Timestamp, at


@with_config(CLOSED)
class AlertChannelJson(TypedDict):
    """An alert route: where responders are alerted, and about what."""

    id: Id
    name: str
    kind: Annotated[AlertKind, Field(description=(
        "How responders are reached: `email`, `webhook` (signed JSON), `slack`, `teams`, `discord` (the service's "
        "incoming webhook) or `pagerduty` (Events API v2)."))]
    target: Annotated[str, Field(description=(
        "email: a responder's address; webhook, slack, teams, discord: the URL alerts are POSTed to; pagerduty: "
        "the Events API v2 integration (routing) key. Shown whole to admins' keys; responders' keys see URLs as "
        "their scheme and host (`https://hooks.slack.com/…`) and routing keys by their first and last four "
        "characters (`0123…cdef`), as the admin shows them."))]
    events: Annotated[list[AlertEvent], Field(min_length=1, description="What this route is told.")]
    created_at: Timestamp
    updated_at: Timestamp


def masked_target(route: AlertChannel) -> str:
    """A target as the admin lists it and responders' keys read it: an email address whole; of a URL its
    scheme and host, of a routing key its ends (both are secrets)."""
    if route.kind == AlertKind.EMAIL:
        return route.target
    if route.kind == AlertKind.PAGERDUTY:
        return f"{route.target[:4]}…{route.target[-4:]}"
    parts = urlsplit(route.target)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def alert_channel_json(route: AlertChannel, page: Page, *, whole_target: bool) -> AlertChannelJson:
    """An alert route as the management API shows it; `whole_target` for a reader who may change it."""
    tz = page.time_zone
    return {
        "id": route.code,
        "name": route.name,
        "kind": route.kind,
        "target": route.target if whole_target else masked_target(route),
        "events": [AlertEvent(event) for event in route.events],
        "created_at": at(route.created_at, tz),
        "updated_at": at(route.updated_at, tz),
    }
