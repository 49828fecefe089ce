"""Alert routes: creating, changing, removing and testing where responders are alerted (models.alerts).

A route's target is checked by its channel's own address rules (notify.channels), with the
probes' address policy rather than the subscribers': responders choose these targets, so
private and loopback addresses are allowed and cloud metadata stays refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.errors import InvalidInput, NotFound
from statuspage.inputs import UNSET, Unset, clean_name, member_of
from statuspage.models import AlertChannel, AlertEvent, AlertKind, EventKind, SubscriberMode
from statuspage.notify.channels import CHANNELS
from statuspage.outbound import guard
from statuspage.outbox import queue

ALL_EVENTS = [event.value for event in AlertEvent]


# The events a route listens to: a list of names, or the form's comma-separated text.
Events = Sequence[str] | str


def parse_kind(value: object) -> AlertKind:
    kind = member_of(AlertKind, value)
    if kind is None:
        raise InvalidInput(f"kind must be one of: {', '.join(AlertKind)}.", "kind")
    return kind


def parse_events(value: object) -> list[str]:
    """The events a route listens to, in AlertEvent order; none given means all of them."""
    if value is None:
        return list(ALL_EVENTS)
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("events must be a list of event names.", "events")
    unknown = sorted(set(value) - set(ALL_EVENTS))
    if unknown:
        raise InvalidInput(f"Unknown event(s): {', '.join(unknown)}; use: {', '.join(ALL_EVENTS)}.", "events")
    if not value:
        raise InvalidInput("Choose at least one event, or leave events out for all of them.", "events")
    return [event for event in ALL_EVENTS if event in value]


def clean_target(kind: AlertKind, value: object, policy: guard.Policy) -> str:
    """The target in its stored form, by the rules of the channel that sends this kind."""
    if value in (None, ""):
        raise InvalidInput("target is required: an email address, a URL, or a PagerDuty routing key.", "target")
    return CHANNELS[SubscriberMode(kind.value)].clean_address(value, "target", policy)


def routes(session: Session) -> list[AlertChannel]:
    return list(session.scalars(select(AlertChannel).order_by(AlertChannel.name, AlertChannel.id)))


def get_route(session: Session, code: str) -> AlertChannel:
    route = session.scalars(select(AlertChannel).where(AlertChannel.code == code)).first()
    if route is None:
        raise NotFound(f"No alert channel with id {code!r}.", "alert_channel_id")
    return route


def create_route(session: Session, actor: Actor, *, name: str | None, kind: AlertKind | str | None,
                 target: str | None, events: Events | None = None,
                 policy: guard.Policy, now: datetime) -> AlertChannel:
    """Add a route; nothing is written unless every field is valid. A webhook route gets its signing secret."""
    route_kind = parse_kind(kind)
    route = AlertChannel(name=clean_name(name), kind=route_kind, target=clean_target(route_kind, target, policy),
                         events=parse_events(events), created_at=now, updated_at=now,
                         secret=secrets.token_hex(32) if route_kind == AlertKind.WEBHOOK else None)
    session.add(route)
    session.flush()
    audit.record(session, actor, "alert_channel.create", "alert_channel", route.code,
                 {"name": route.name, "kind": route_kind.value, "events": route.events})
    return route


def update_route(session: Session, actor: Actor, route: AlertChannel, *, name: str | Unset = UNSET,
                 kind: AlertKind | str | Unset = UNSET, target: str | None | Unset = UNSET,
                 events: Events | None | Unset = UNSET, policy: guard.Policy, now: datetime) -> AlertChannel:
    """Change a route's name, kind, target or events; a new kind needs a target of that kind."""
    new_kind = parse_kind(kind) if kind is not UNSET else route.kind
    if new_kind != route.kind and target is UNSET:
        raise InvalidInput("A new kind needs its own target.", "target")
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = clean_name(name)
    if target is not UNSET or new_kind != route.kind:
        changes["target"] = clean_target(new_kind, target, policy)
    if events is not UNSET:
        changes["events"] = parse_events(events)
    if new_kind != route.kind:
        changes["kind"] = new_kind
        route.secret = secrets.token_hex(32) if new_kind == AlertKind.WEBHOOK else None
    for key, value in changes.items():
        setattr(route, key, value)
    route.updated_at = now
    audit.record(session, actor, "alert_channel.update", "alert_channel", route.code,
                 {k: str(v) if k != "events" else v for k, v in changes.items() if k != "target"})
    return route


def delete_route(session: Session, actor: Actor, route: AlertChannel) -> None:
    """Remove a route; its messages still waiting fail as "alert route removed"."""
    audit.record(session, actor, "alert_channel.delete", "alert_channel", route.code, {"name": route.name})
    session.delete(route)


def send_test(session: Session, actor: Actor, route: AlertChannel, now: datetime) -> None:
    """Queue a test alert to this route only (the admin's "send a test alert" button)."""
    queue.enqueue(session, EventKind.ALERT, {
        "event": "test", "message": "test", "route": route.code, "title": "Test alert from your status page",
        "text": (f"{actor.label} sent this test to the alert route \u201c{route.name}\u201d. "
                 "Real alerts come when probes see trouble or an incident moves."),
        "link": "/admin/alerts", "incident": None, "draft": None, "component": None,
        "dedup_key": f"statuspage-test-{route.code}-{int(now.timestamp())}", "action": "trigger",
        "severity": "info", "details": {}, "at": now.isoformat(),
    }, [], now=now)
    audit.record(session, actor, "alert_channel.test", "alert_channel", route.code, {})


def event_labels() -> Iterable[tuple[str, str]]:
    """(event, how people read it) for forms."""
    return [(event, event.replace("_", " ").capitalize()) for event in ALL_EVENTS]
