"""Alert routes, as the management API shows them (the signing secret is not part of the shape)."""

from __future__ import annotations

from typing import Annotated

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
        "the Events API v2 integration (routing) key."))]
    events: Annotated[list[AlertEvent], Field(min_length=1, description="What this route is told.")]
    created_at: Timestamp
    updated_at: Timestamp


def alert_channel_json(route: AlertChannel, page: Page) -> AlertChannelJson:
    """An alert route as the management API shows it."""
    tz = page.time_zone
    return {
        "id": route.code,
        "name": route.name,
        "kind": route.kind,
        "target": route.target,
        "events": [AlertEvent(event) for event in route.events],
        "created_at": at(route.created_at, tz),
        "updated_at": at(route.updated_at, tz),
    }
