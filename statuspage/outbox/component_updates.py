"""component_update events for webhook subscribers, written with each status change and merged per component.

Statuspage posts a `component_update` to webhooks whenever a component's status
changes. A flapping probe could turn that into a flood, so changes of one
component are merged while its event waits to be expanded:

1. `components.set_status()` calls `queued()` in its own transaction (the outbox rule).
2. If no confirmed, active webhook exists, nothing is written (nobody would receive it).
3. If an event for the same component is still waiting (unexpanded and not leased), it is
   updated by compare-and-set to the latest status, keeping the status before the first change;
   if the component is back where it started, the event is deleted: nothing changed.
4. The worker expands such an event only once it is `hold` old (STATUSPAGE_COMPONENT_UPDATE_HOLD_SECONDS,
   outbox.claim_event), so a component sends at most one component_update per hold window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from statuspage.db import rows_matched, utcnow
from statuspage.models import EventKind, OutboxEvent, StatusChange, Subscriber, SubscriberMode
from statuspage.models.base import new_code
from statuspage.outbox import queue


def _free(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Still waiting: not expanded, and not leased by a worker expanding it right now."""
    return (OutboxEvent.expanded_at.is_(None),
            or_(OutboxEvent.lease_until.is_(None), OutboxEvent.lease_until < now))


def queued(session: Session, change: StatusChange) -> None:
    """Queue (or merge) the component_update of one status change, in the caller's transaction."""
    listening = select(Subscriber.id).where(
        Subscriber.mode == SubscriberMode.WEBHOOK, Subscriber.confirmed_at.is_not(None),
        Subscriber.quarantined_at.is_(None)).limit(1)
    if session.scalar(listening) is None:
        return
    component = change.component
    if component.id is None:
        session.flush()
    old_status = change.from_status.value if change.from_status else change.to_status.value
    payload: dict[str, Any] = {
        "id": new_code(),
        "component": component.code,
        "name": component.name,
        "component_created_at": component.created_at.isoformat(),
        "old_status": old_status,
        "new_status": change.to_status.value,
        "at": change.at.isoformat(),
    }
    now = utcnow()
    waiting = session.scalars(
        select(OutboxEvent).where(OutboxEvent.kind == EventKind.COMPONENT_UPDATE, *_free(now)).order_by(OutboxEvent.id)
    ).all()
    for event in waiting:
        if event.payload.get("component") != component.code:
            continue
        merged = {**payload, "id": event.payload["id"], "old_status": event.payload["old_status"]}
        if merged["old_status"] == merged["new_status"]:
            done = rows_matched(session, delete(OutboxEvent).where(OutboxEvent.id == event.id, *_free(now))
                                .execution_options(synchronize_session=False))
        else:
            done = rows_matched(session, update(OutboxEvent).where(OutboxEvent.id == event.id, *_free(now))
                                .values(payload=merged).execution_options(synchronize_session=False))
        if done == 1:
            if merged["old_status"] == merged["new_status"]:
                session.expunge(event)
            else:
                session.expire(event)
            return
    queue.enqueue(session, EventKind.COMPONENT_UPDATE, payload, [component.id], now=now)
