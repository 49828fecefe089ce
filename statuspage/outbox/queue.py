"""The outbox: events written in the change's own transaction, expanded into deliveries, leased to workers.

Protocol (DESIGN.md, "Delivery"):
1. A change writes an OutboxEvent in its own transaction, so a published update is never lost.
2. A worker claims the event with a lease (compare-and-set), inserts one Delivery per recipient
   with a unique key (event, recipient, channel), and marks the event expanded, in one transaction.
3. A worker claims due deliveries by compare-and-set on `lease_until`, commits, sends, then marks
   each sent only after success. Killed mid-send, its leases expire and another worker sends again:
   at most the batch in flight is repeated.
4. Temporary failures back off exponentially; permanent ones, and the last attempt, park the row
   as failed, visible and retryable in the admin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.db import rows_matched, utcnow
from statuspage.errors import InvalidInput
from statuspage.models import (
    AlertChannel,
    Delivery,
    DeliveryStatus,
    EventKind,
    Incident,
    IncidentUpdate,
    OutboxEvent,
    Subscriber,
    SubscriberMode,
)
from statuspage.page.record import get_page

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# A webhook that failed this many deliveries in a row is disabled and its owner told.
WEBHOOK_FAILURES_TO_DISABLE = 10
# Kinds addressed to one subscriber whatever their confirmation state: by email for email and webhook
# subscribers (a webhook's goes to its contact address), in their own channel for chat and SMS.
PERSONAL_KINDS = {EventKind.CONFIRMATION, EventKind.MANAGE_LINK}
# Kinds only webhooks receive: email subscribers hear about incidents, not every component flap.
WEBHOOK_KINDS = {EventKind.COMPONENT_UPDATE}


def enqueue(
    session: Session,
    kind: EventKind,
    payload: dict[str, Any],
    component_ids: Sequence[int],
    incident_id: int | None = None,
    now: datetime | None = None,
) -> OutboxEvent:
    """Write an event in the caller's transaction."""
    event = OutboxEvent(kind=kind, payload=payload, component_ids=list(component_ids),
                        incident_id=incident_id, created_at=now or utcnow())
    session.add(event)
    return event


def incident_event(
    session: Session, incident: Incident, update: IncidentUpdate, first: bool, kind: EventKind | None = None
) -> OutboxEvent:
    """Queue the notification of one published update, as it was written."""
    payload = {
        "incident": incident.code,
        "update": update.code,
        "name": incident.name,
        "kind": incident.kind.value,
        "status": update.status.value,
        "impact": incident.impact.value,
        "body": update.body,
        "display_at": update.display_at.isoformat(),
        "scheduled_for": incident.scheduled_for.isoformat() if incident.scheduled_for else None,
        "scheduled_until": incident.scheduled_until.isoformat() if incident.scheduled_until else None,
        "components": [c.name for c in incident.components],
        "affected": [dict(a) for a in update.affected_components],
        "first": first,
    }
    return enqueue(session, kind or EventKind(incident.kind.value), payload, [c.id for c in incident.components],
                   incident_id=incident.id, now=update.created_at)


# --- expansion ---------------------------------------------------------------------------------------


def claim_event(session: Session, now: datetime, hold: timedelta = timedelta(0)) -> OutboxEvent | None:
    """Lease the oldest unexpanded event (compare-and-set), or None.

    A component_update waits `hold` after it was queued, so that later changes of the same
    component can be merged into it (notify.component_updates) instead of flooding receivers.
    """
    ripe = or_(OutboxEvent.kind.not_in(WEBHOOK_KINDS), OutboxEvent.created_at <= now - hold)
    candidates = select(OutboxEvent.id).where(
        OutboxEvent.expanded_at.is_(None),
        or_(OutboxEvent.lease_until.is_(None), OutboxEvent.lease_until < now),
        ripe,
    ).order_by(OutboxEvent.id).limit(5)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    for event_id in session.scalars(candidates).all():
        claimed = rows_matched(
            session,
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id, OutboxEvent.expanded_at.is_(None),
                   or_(OutboxEvent.lease_until.is_(None), OutboxEvent.lease_until < now))
            .values(lease_until=now + LEASE)
            .execution_options(synchronize_session=False),
        )
        if claimed == 1:
            return session.get(OutboxEvent, event_id)
    return None


def expand(
    session: Session,
    event: OutboxEvent,
    now: datetime,
    recipients_query: Callable[[Sequence[int]], Select[Subscriber]],
) -> int:
    """Insert one delivery per recipient of the event and mark it expanded; returns the count."""
    rows: list[tuple[int | None, SubscriberMode, str | None]]
    if event.kind == EventKind.ALERT:
        return _expand_alert(session, event, now)
    if event.kind in PERSONAL_KINDS:
        subscribers = session.scalars(select(Subscriber).where(Subscriber.code == event.payload["subscriber"]))
        rows = [(s.id, SubscriberMode.EMAIL, s.email) if s.mode.confirms_by_email else (s.id, s.mode, s.address)
                for s in subscribers]
    elif event.kind == EventKind.OWNER_NOTICE:
        rows = [(None, SubscriberMode.EMAIL, event.payload["to"])]
    else:
        query = recipients_query(event.component_ids).with_only_columns(
            Subscriber.id, Subscriber.mode, Subscriber.email, Subscriber.endpoint, Subscriber.phone_number)
        if event.kind in WEBHOOK_KINDS:
            query = query.where(Subscriber.mode == SubscriberMode.WEBHOOK)
        rows = [(sid, mode, {"email": email, "endpoint": endpoint, "phone_number": phone}[mode.address_column])
                for sid, mode, email, endpoint, phone in session.execute(query)]
    values = [
        {"event_id": event.id, "subscriber_id": sid, "channel": mode, "address": address,
         "key": f"{event.id}:{sid if sid is not None else address}:{mode.value}",
         "status": DeliveryStatus.QUEUED, "attempts": 0, "next_attempt_at": now}
        for sid, mode, address in rows if address
    ]
    for start in range(0, len(values), 5000):
        session.execute(insert(Delivery), values[start:start + 5000])
    event.expanded_at = now
    event.lease_until = None
    return len(values)


def _expand_alert(session: Session, event: OutboxEvent, now: datetime) -> int:
    """One delivery per alert route listening to the alert's event (routes chosen at send time, so a
    route added while the event waited hears it too)."""
    routes = session.scalars(select(AlertChannel).order_by(AlertChannel.id))
    values = [
        {"event_id": event.id, "subscriber_id": None, "alert_channel_id": route.id,
         "channel": SubscriberMode(route.kind.value), "address": route.target,
         "key": f"{event.id}:alert{route.id}:{route.kind.value}",
         "status": DeliveryStatus.QUEUED, "attempts": 0, "next_attempt_at": now}
        for route in routes
        # A test alert goes to its one route; the others to the routes listening to their event.
        if (route.code == event.payload["route"] if event.payload.get("route")
            else route.hears(event.payload.get("event", ""), event.payload.get("covered_by")))
    ]
    if values:
        session.execute(insert(Delivery), values)
    event.expanded_at = now
    event.lease_until = None
    return len(values)


# --- deliveries ------------------------------------------------------------------------------------


def claim_deliveries(session: Session, now: datetime, limit: int, lease: timedelta = LEASE) -> list[int]:
    """Lease up to `limit` due deliveries, one compare-and-set each; returns the ids won.

    Without SKIP LOCKED (SQLite) two workers see the same candidates and the slower one loses
    them all; it then looks again past the rows it tried, rather than idling while work is due.
    """
    due = (Delivery.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.RETRYING.value]),
           Delivery.next_attempt_at <= now,
           or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
           Delivery.sent_at.is_(None))
    won: list[int] = []
    tried: list[int] = []
    for _round in range(3):
        candidates = select(Delivery.id).where(*due).order_by(Delivery.next_attempt_at, Delivery.id)
        if tried:
            candidates = candidates.where(Delivery.id.not_in(tried))
        candidates = candidates.limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        ids = session.scalars(candidates).all()
        for delivery_id in ids:
            claimed = rows_matched(
                session,
                update(Delivery).where(Delivery.id == delivery_id, *due).values(lease_until=now + lease)
                .execution_options(synchronize_session=False),
            )
            if claimed == 1:
                won.append(delivery_id)
        tried += ids
        if won or not ids:
            break
    return won


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, 1 min, 2 min ... at most an hour."""
    factor: int = 2 ** max(attempts - 1, 0)
    return min(BACKOFF_BASE * factor, BACKOFF_MAX)


def record_sent(session: Session, delivery: Delivery, now: datetime, message_id: str | None) -> None:
    """Mark a delivery sent (only ever after the transport accepted it)."""
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = now
    delivery.attempts += 1
    delivery.lease_until = None
    delivery.last_error = None
    delivery.message_id = message_id
    if delivery.subscriber is not None:
        delivery.subscriber.consecutive_failures = 0


def record_failure(
    session: Session, delivery: Delivery, now: datetime, error: str, permanent: bool, *,
    retry_at: datetime | None = None, quarantines: bool | None = None,
) -> None:
    """Schedule a retry with backoff, or park the delivery as failed.

    `retry_at` is when a rate-limited service asked to be tried again: the row waits until then
    and the attempt is not counted (a rate limit never parks a message). `quarantines` says
    whether failures in a row disable the subscriber (default: webhooks only).
    """
    delivery.lease_until = None
    if retry_at is not None and not permanent:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = max(retry_at, now)
        delivery.last_error = error[:500]
        return
    delivery.attempts += 1
    subscriber = delivery.subscriber
    if quarantines is None:
        quarantines = delivery.channel == SubscriberMode.WEBHOOK
    if subscriber is not None and quarantines:
        subscriber.consecutive_failures += 1
        if subscriber.consecutive_failures >= WEBHOOK_FAILURES_TO_DISABLE and subscriber.quarantined_at is None:
            quarantine_webhook(session, subscriber, now)
        # A disabled webhook is not tried again (its other pending deliveries were parked too).
        permanent = permanent or subscriber.quarantined_at is not None
    delivery.last_error = error[:500]
    if permanent or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = now + backoff(delivery.attempts)


def hold_back(session: Session, channel: SubscriberMode, address: str | None, until: datetime, now: datetime) -> int:
    """Move the due deliveries a service's rate limit covers (one address, or the whole channel when
    `address` is None) to `until`, so a 429 pauses them all rather than each finding out for itself.

    Rows leased by a worker are left alone: they are in flight and will learn from their own answer.
    """
    query = (update(Delivery)
             .where(Delivery.channel == channel,
                    Delivery.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.RETRYING.value]),
                    Delivery.sent_at.is_(None), Delivery.next_attempt_at < until,
                    or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
             .values(next_attempt_at=until)
             .execution_options(synchronize_session=False))
    if address is not None:
        query = query.where(Delivery.address == address)
    return rows_matched(session, query)


def quarantine_webhook(session: Session, subscriber: Subscriber, now: datetime) -> None:
    """Disable a failing webhook and tell the page owner (and the hook's contact) by email."""
    subscriber.quarantined_at = now
    # Park what is still pending for it, so a disabled hook is not called again on a retry.
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber.id, Delivery.channel == subscriber.mode,
               Delivery.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.RETRYING.value]),
               Delivery.sent_at.is_(None))
        .values(status=DeliveryStatus.FAILED, lease_until=None, last_error="webhook disabled after repeated failures")
        .execution_options(synchronize_session="fetch")
    )
    page = get_page(session)
    text = (f"The webhook {subscriber.endpoint} failed {subscriber.consecutive_failures} deliveries in a row "
            "and has been disabled. Subscribe it again once it answers.")
    for address in {a for a in (page.owner_email if page else None, subscriber.email) if a}:
        enqueue(session, EventKind.OWNER_NOTICE, {"to": address, "subject": "Webhook disabled", "text": text}, [],
                now=now)


def retry(session: Session, actor: Actor, delivery: Delivery, now: datetime | None = None) -> None:
    """Send a failed delivery again (the admin's retry button); InvalidInput says why it cannot be.

    A sent row keeps its `sent_at` and could never be claimed again, so requeueing
    one (a stale page, a double click) would leave it "queued" for ever. A disabled
    webhook is not called again until it is subscribed anew, and a removed
    subscriber's message has no one to go to.
    """
    if delivery.status != DeliveryStatus.FAILED:
        raise InvalidInput("Only a failed delivery can be retried.", "delivery")
    subscriber = delivery.subscriber
    if delivery.event.kind == EventKind.ALERT and delivery.alert_channel is None:
        raise InvalidInput("The alert route was removed; there is no one to send this to.", "delivery")
    if subscriber is None and delivery.event.kind not in (EventKind.OWNER_NOTICE, EventKind.ALERT):
        raise InvalidInput("The subscriber was removed; there is no one to send this to.", "delivery")
    if subscriber is not None and delivery.channel == subscriber.mode and subscriber.quarantined_at:
        raise InvalidInput("This webhook is disabled after repeated failures; it is not called again "
                           "until it is subscribed anew.", "delivery")
    delivery.status = DeliveryStatus.QUEUED
    delivery.next_attempt_at = now or utcnow()
    delivery.attempts = 0
    delivery.lease_until = None
    audit.record(session, actor, "delivery.retry", "delivery", str(delivery.id), {})
