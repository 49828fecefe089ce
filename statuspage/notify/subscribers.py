"""Subscribers: double opt-in sign-up, preferences, removal, search, and who receives what (CSV: subscriber_csv)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from statuspage import audit
from statuspage.accounts.users import clean_email
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.incidents.rules import parse_component_codes
from statuspage.inputs import Flag
from statuspage.models import (
    CHAT_MODES,
    SUBSCRIBER_MODES,
    Component,
    Delivery,
    DeliveryStatus,
    EventKind,
    Subscriber,
    SubscriberMode,
    Subscription,
    subscriber_mode,
)
from statuspage.notify.channels import CHANNELS, addresses
from statuspage.notify.channels.sms import clean_phone
from statuspage.outbound import guard
from statuspage.outbox import queue

ENDPOINT_MAX = addresses.ENDPOINT_MAX


def clean_endpoint(value: object, field: str = "endpoint", policy: guard.Policy | None = None) -> str:
    """An http(s) URL for Statuspage webhook deliveries that the outbound address guard allows
    (the subscriber policy: see channels.addresses)."""
    return addresses.clean_url(value, field, policy or guard.Policy.for_subscribers())


def clean_flag(value: object, field: str) -> bool:
    """A JSON boolean, or "true"/"false"/"1"/"0"/1/0; anything else is refused rather than read as false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise InvalidInput(f"{field} must be true or false.", field)


def get(session: Session, code: str) -> Subscriber:
    """The subscriber with this public id, or NotFound."""
    subscriber = session.scalars(
        select(Subscriber).where(Subscriber.code == code).options(selectinload(Subscriber.components))
    ).first()
    if subscriber is None:
        raise NotFound(f"No subscriber with id {code!r}.", "subscriber_id")
    return subscriber


def by_email(session: Session, email: str) -> Subscriber | None:
    return session.scalars(
        select(Subscriber).where(Subscriber.mode == SubscriberMode.EMAIL, Subscriber.email == email)
    ).first()


def _set_components(subscriber: Subscriber, chosen: Sequence[Component]) -> None:
    subscriber.components = list(chosen)
    subscriber.all_components = not chosen


def _ask_to_confirm(session: Session, subscriber: Subscriber, chosen: Sequence[Component], now: datetime) -> None:
    """Queue a confirmation whose link carries this sign-up's component choice (applied when clicked)."""
    payload: dict[str, Any] = {"subscriber": subscriber.code, "components": [c.code for c in chosen]}
    if subscriber.mode == SubscriberMode.WEBHOOK:
        payload["endpoint"] = subscriber.endpoint
    queue.enqueue(session, EventKind.CONFIRMATION, payload, [], now=now)


def by_phone(session: Session, phone: str) -> Subscriber | None:
    """The SMS subscriber of this E.164 number, if any."""
    return session.scalars(
        select(Subscriber).where(Subscriber.mode == SubscriberMode.SMS, Subscriber.phone_number == phone)
    ).first()


def _sign_up(session: Session, existing: Subscriber | None, make: Callable[[], Subscriber],
             chosen: Sequence[Component], now: datetime) -> Subscriber:
    """A public sign-up: a manage link to a confirmed subscriber, else a new confirmation (for a new
    subscriber made by `make`). The caller answers the same either way."""
    if existing is not None and existing.confirmed_at is not None:
        queue.enqueue(session, EventKind.MANAGE_LINK, {"subscriber": existing.code}, [], now=now)
        return existing
    if existing is None:
        existing = make()
        _set_components(existing, chosen)
        session.add(existing)
        session.flush()
    _ask_to_confirm(session, existing, chosen, now)
    return existing


def subscribe_email(
    session: Session, email: str | None, component_codes: Sequence[str] | None = None,
    now: datetime | None = None
) -> Subscriber:
    """Start a double opt-in: queue a confirmation (or, when already confirmed, a link to manage).

    The caller shows the same answer either way, so the form never reveals
    whether an address was subscribed; a confirmed subscriber's choices
    change only through their own manage link, and an unconfirmed one's only
    through the confirmation link of the sign-up that made the choice (so
    someone else re-submitting the address changes nothing until clicked).
    """
    now = now or utcnow()
    email = clean_email(email)
    chosen = parse_component_codes(session, component_codes, "component_ids")
    return _sign_up(session, by_email(session, email),
                    lambda: Subscriber(mode=SubscriberMode.EMAIL, email=email, created_at=now), chosen, now)


def subscribe_chat(
    session: Session, mode: SubscriberMode | str | None, endpoint: str | None,
    component_codes: Sequence[str] | None = None,
    policy: guard.Policy | None = None, now: datetime | None = None,
) -> Subscriber:
    """The public form's chat sign-up (Slack, Mattermost, Teams, Discord): one message in the channel
    with a confirm link, and nothing else until it is followed; as `subscribe_email` otherwise."""
    now = now or utcnow()
    kind = chat_mode(mode)
    url = CHANNELS[kind].clean_address(endpoint, "endpoint", policy or guard.Policy.for_subscribers())
    chosen = parse_component_codes(session, component_codes, "component_ids")
    existing = session.scalars(select(Subscriber).where(Subscriber.mode == kind, Subscriber.endpoint == url)).first()
    return _sign_up(session, existing, lambda: Subscriber(mode=kind, endpoint=url, created_at=now), chosen, now)


def chat_mode(value: object) -> SubscriberMode:
    """One of the chat modes (slack, mattermost, teams, discord); InvalidInput otherwise."""
    if value in [m.value for m in CHAT_MODES]:
        return SubscriberMode(value)
    raise InvalidInput("Choose Slack, Mattermost, Microsoft Teams or Discord.", "mode")


def subscribe_webhook(
    session: Session, endpoint: str | None, email: str | None, component_codes: Sequence[str] | None = None,
    policy: guard.Policy | None = None, now: datetime | None = None,
) -> Subscriber | None:
    """The public form's webhook sign-up: double opt-in through the contact address.

    Nothing is POSTed until the contact clicks the emailed link, which also shows
    the signing secret. A URL already registered sends nothing unless the same
    contact asks again (a reminder to confirm, or a link to manage), so no one
    can obtain the secret of someone else's hook; the caller answers the same
    either way.
    """
    now = now or utcnow()
    url = clean_endpoint(endpoint, "endpoint", policy)
    contact = clean_email(email)
    chosen = parse_component_codes(session, component_codes, "component_ids")
    existing = session.scalars(select(Subscriber).where(Subscriber.mode == SubscriberMode.WEBHOOK,
                                                        Subscriber.endpoint == url)).first()
    if existing is not None:
        if existing.email != contact:
            return None
        if existing.confirmed_at is not None:
            queue.enqueue(session, EventKind.MANAGE_LINK, {"subscriber": existing.code}, [], now=now)
        else:
            _ask_to_confirm(session, existing, chosen, now)
        return existing
    subscriber = Subscriber(mode=SubscriberMode.WEBHOOK, endpoint=url, email=contact,
                            webhook_secret=secrets.token_hex(32), created_at=now)
    _set_components(subscriber, chosen)
    session.add(subscriber)
    session.flush()
    _ask_to_confirm(session, subscriber, chosen, now)
    return subscriber


def create(
    session: Session,
    actor: Actor,
    *,
    email: str | None = None,
    endpoint: str | None = None,
    component_codes: Sequence[str] | None = None,
    skip_confirmation: Flag | int = False,
    policy: guard.Policy | None = None,
    now: datetime | None = None,
    mode: SubscriberMode | str | None = None,
    phone_number: str | None = None,
    phone_country: str | None = None,
) -> Subscriber:
    """Add a subscriber for a responder or the API; all but Statuspage webhooks confirm unless skipped.

    `mode` defaults to `webhook` with an `endpoint`, `sms` with a `phone_number`, else `email`.
    `policy` is the operator's outbound policy for subscriber targets that URLs are checked
    against (public addresses only unless STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE).
    """
    now = now or utcnow()
    skip = clean_flag(skip_confirmation, "skip_confirmation_notification")
    chosen = parse_component_codes(session, component_codes, "component_ids")
    if component_codes is not None and isinstance(component_codes, list) and not component_codes:
        raise InvalidInput("component_ids, if given, must name at least one component.", "component_ids")
    subscriber = _new(session, _mode(mode, endpoint, phone_number), email, endpoint, phone_number, phone_country,
                      policy or guard.Policy.for_subscribers())
    subscriber.created_at = now
    if skip or subscriber.mode == SubscriberMode.WEBHOOK:
        subscriber.confirmed_at = now
    session.add(subscriber)
    _set_components(subscriber, chosen)
    session.flush()
    if subscriber.confirmed_at is None:
        _ask_to_confirm(session, subscriber, chosen, now)
    audit.record(session, actor, "subscriber.create", "subscriber", subscriber.code,
                 {"mode": subscriber.mode.value})
    return subscriber


def _mode(value: object, endpoint: object, phone_number: object) -> SubscriberMode:
    if value in (None, ""):
        return (SubscriberMode.WEBHOOK if endpoint not in (None, "") else
                SubscriberMode.SMS if phone_number not in (None, "") else SubscriberMode.EMAIL)
    try:
        return subscriber_mode(value)
    except ValueError:
        raise InvalidInput(f"mode must be one of: {', '.join(m.value for m in SUBSCRIBER_MODES)}.", "mode") from None


def _new(session: Session, mode: SubscriberMode, email: object, endpoint: object, phone_number: object,
         phone_country: object,
         policy: guard.Policy) -> Subscriber:
    """An unsaved subscriber of `mode` from checked input; Conflict when its address is subscribed already."""
    if mode == SubscriberMode.EMAIL:
        address = clean_email(email)
        if by_email(session, address) is not None:
            raise Conflict(f"{address} is already subscribed.", "email")
        return Subscriber(mode=mode, email=address)
    if mode == SubscriberMode.SMS:
        phone, country = clean_phone(phone_number, phone_country)
        if by_phone(session, phone) is not None:
            raise Conflict("That phone number is already subscribed.", "phone_number")
        return Subscriber(mode=mode, phone_number=phone, phone_country=country)
    url = CHANNELS[mode].clean_address(endpoint, "endpoint", policy)
    if session.scalar(select(Subscriber.id).where(Subscriber.mode == mode, Subscriber.endpoint == url)) is not None:
        raise Conflict(f"That {CHANNELS[mode].label} URL is already subscribed.", "endpoint")
    if mode != SubscriberMode.WEBHOOK:
        return Subscriber(mode=mode, endpoint=url)
    contact = clean_email(email) if email not in (None, "") else None
    return Subscriber(mode=mode, endpoint=url, email=contact, webhook_secret=secrets.token_hex(32))


def confirm(
    session: Session, subscriber: Subscriber, components: Sequence[str] | None = None, now: datetime | None = None
) -> bool:
    """Confirm a subscriber, applying the component choice its link carries; False when already confirmed.

    Clicking twice is fine and changes nothing (a confirmed subscriber changes components
    through the manage link). Components removed since the sign-up are skipped; if none of
    the chosen ones is left, the choice stored at sign-up stays.
    """
    if subscriber.confirmed_at is not None:
        return False
    if components is not None:
        chosen = list(session.scalars(select(Component).where(Component.code.in_(list(components)))))
        if chosen or not components:
            _set_components(subscriber, chosen)
    subscriber.confirmed_at = now or utcnow()
    return True


def set_components(session: Session, subscriber: Subscriber, component_codes: Sequence[str] | None) -> None:
    """Change which components a subscriber hears about (none chosen = all)."""
    _set_components(subscriber, parse_component_codes(session, component_codes, "component_ids"))


def remove(session: Session, subscriber: Subscriber, actor: Actor | None = None) -> None:
    """Delete a subscriber; every link sent to them stops working and nothing pending is sent.

    Their delivery rows stay (without the subscriber), so past counts of sent messages hold.
    """
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber.id,
               Delivery.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.RETRYING.value]))
        .values(status=DeliveryStatus.FAILED, lease_until=None, last_error="subscriber removed")
        .execution_options(synchronize_session=False)
    )
    if actor is not None:
        audit.record(session, actor, "subscriber.delete", "subscriber", subscriber.code,
                     {"mode": subscriber.mode.value})
    session.delete(subscriber)


def remove_gone(session: Session, subscriber: Subscriber, reason: str) -> None:
    """Remove a subscriber whose address no longer exists (a chat webhook answering 404 or 410), audited."""
    audit.record(session, Actor.system("worker"), "subscriber.delete", "subscriber", subscriber.code,
                 {"mode": subscriber.mode.value, "reason": f"the address is gone ({reason})"})
    remove(session, subscriber)


def resend_confirmation(session: Session, subscriber: Subscriber, now: datetime | None = None) -> bool:
    """Queue the confirmation again for an unconfirmed email or chat subscriber (an SMS subscriber asks
    for a new code on the page; a Statuspage webhook confirms through its contact's sign-up)."""
    if subscriber.confirmed_at is not None or subscriber.mode in (SubscriberMode.WEBHOOK, SubscriberMode.SMS):
        return False
    _ask_to_confirm(session, subscriber, subscriber.components, now or utcnow())
    return True


def reactivate(session: Session, subscriber: Subscriber, actor: Actor) -> bool:
    """Lift a quarantine (Statuspage's reactivate): deliveries start again from the next event."""
    if subscriber.quarantined_at is None:
        return False
    subscriber.quarantined_at = None
    subscriber.consecutive_failures = 0
    audit.record(session, actor, "subscriber.reactivate", "subscriber", subscriber.code,
                 {"mode": subscriber.mode.value})
    return True


# --- who receives an event ------------------------------------------------------------------------


def recipients(component_ids: Sequence[int]) -> Select[Subscriber]:
    """Confirmed, active subscribers of any of these components (or of all)."""
    query = select(Subscriber).where(Subscriber.confirmed_at.is_not(None), Subscriber.quarantined_at.is_(None))
    if component_ids:
        chose_one = select(Subscription.subscriber_id).where(Subscription.component_id.in_(component_ids))
        query = query.where(or_(Subscriber.all_components.is_(True), Subscriber.id.in_(chose_one)))
    return query


def recipient_count(session: Session, component_ids: Sequence[int]) -> int:
    """How many subscribers an update about these components would reach."""
    subquery = recipients(component_ids).with_only_columns(Subscriber.id).subquery()
    return session.scalar(select(func.count()).select_from(subquery)) or 0


def reach(session: Session, component_codes: Sequence[str] = (), also: Sequence[Component] = ()) -> int:
    """How many confirmed subscribers a notification about these components (codes, plus `also`,
    e.g. an incident's current ones) would reach; none named means everyone confirmed."""
    ids = {c.id for c in also}
    codes = [code for code in component_codes if isinstance(code, str)]
    if codes:
        ids |= set(session.scalars(select(Component.id).where(Component.code.in_(codes))))
    return recipient_count(session, sorted(ids))


def component_counts(session: Session) -> dict[int, int]:
    """Confirmed, active subscribers who chose each component (those on "all" are counted apart)."""
    rows = session.execute(
        select(Subscription.component_id, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscriber.confirmed_at.is_not(None), Subscriber.quarantined_at.is_(None))
        .group_by(Subscription.component_id)
    )
    return {component_id: count for component_id, count in rows}


def search(
    session: Session, q: str = "", state: str = "all", mode: str | None = None, limit: int = 100, offset: int = 0
) -> list[Subscriber]:
    """Subscribers matching a text, a state (active, unconfirmed, quarantined, all) and a mode."""
    query = _filtered(select(Subscriber), q, state, mode)
    return list(session.scalars(
        query.options(selectinload(Subscriber.components)).order_by(Subscriber.created_at.desc(), Subscriber.id)
        .limit(limit).offset(offset)
    ))


def count(session: Session, q: str = "", state: str = "all", mode: str | None = None) -> int:
    return session.scalar(_filtered(select(func.count(Subscriber.id)), q, state, mode)) or 0


def counts_by_mode(session: Session, state: str = "active") -> dict[SubscriberMode, int]:
    """How many subscribers of each mode are in `state` (every mode present, 0 when none)."""
    query = _filtered(select(Subscriber.mode, func.count(Subscriber.id)), "", state, None).group_by(Subscriber.mode)
    found = {SubscriberMode(mode): number for mode, number in session.execute(query)}
    return {mode: found.get(mode, 0) for mode in SUBSCRIBER_MODES}


_Columns = TypeVarTuple("_Columns")


def _filtered(query: Select[*_Columns], q: str, state: str, mode: str | None) -> Select[*_Columns]:
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(or_(func.lower(Subscriber.email).like(pattern),
                                func.lower(Subscriber.endpoint).like(pattern),
                                Subscriber.phone_number.like(pattern)))
    if mode:
        try:
            query = query.where(Subscriber.mode == subscriber_mode(mode))
        except ValueError:
            raise InvalidInput(f"type must be one of: {', '.join(m.value for m in SUBSCRIBER_MODES)}.",
                               "type") from None
    if state == "active":
        query = query.where(Subscriber.confirmed_at.is_not(None), Subscriber.quarantined_at.is_(None))
    elif state == "unconfirmed":
        query = query.where(Subscriber.confirmed_at.is_(None))
    elif state == "quarantined":
        query = query.where(Subscriber.quarantined_at.is_not(None))
    elif state != "all":
        raise InvalidInput("state must be active, unconfirmed, quarantined or all.", "state")
    return query
