"""Subscribers: double opt-in sign-up, preferences, removal, search, CSV, and who receives what."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from .. import audit
from ..accounts import clean_email
from ..audit import Actor
from ..db import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..incidents import parse_component_codes
from ..models import Component, Subscriber, SubscriberMode, Subscription
from . import outbox

ENDPOINT_MAX = 2000


def clean_endpoint(value: Any, field: str = "endpoint") -> str:
    """An http(s) URL for webhook deliveries (the address guard runs again when sending)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("A webhook URL is required.", field)
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise InvalidInput("The webhook URL is not a valid URL.", field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("The webhook URL must start with http:// or https:// and name a host.", field)
    if len(value) > ENDPOINT_MAX:
        raise InvalidInput(f"The webhook URL must be at most {ENDPOINT_MAX} characters.", field)
    return value


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


def subscribe_email(
    session: Session, email: Any, component_codes: Any = None, now: datetime | None = None
) -> Subscriber:
    """Start a double opt-in: queue a confirmation (or, when already confirmed, a link to manage).

    The caller shows the same answer either way, so the form never reveals
    whether an address was subscribed; a confirmed subscriber's choices
    change only through their own manage link.
    """
    now = now or utcnow()
    email = clean_email(email)
    chosen = parse_component_codes(session, component_codes, "component_ids")
    subscriber = by_email(session, email)
    if subscriber is not None and subscriber.confirmed_at is not None:
        outbox.enqueue(session, "manage_link", {"subscriber": subscriber.code}, [], now=now)
        return subscriber
    if subscriber is None:
        subscriber = Subscriber(mode=SubscriberMode.EMAIL, email=email, created_at=now)
        session.add(subscriber)
    _set_components(subscriber, chosen)
    session.flush()
    outbox.enqueue(session, "confirmation", {"subscriber": subscriber.code}, [], now=now)
    return subscriber


def create(
    session: Session,
    actor: Actor,
    *,
    email: Any = None,
    endpoint: Any = None,
    component_codes: Any = None,
    skip_confirmation: Any = False,
    now: datetime | None = None,
) -> Subscriber:
    """Add a subscriber for a responder or the API; email subscribers confirm unless skipped."""
    now = now or utcnow()
    chosen = parse_component_codes(session, component_codes, "component_ids")
    if component_codes is not None and isinstance(component_codes, list) and not component_codes:
        raise InvalidInput("component_ids, if given, must name at least one component.", "component_ids")
    if endpoint not in (None, ""):
        url = clean_endpoint(endpoint)
        contact = clean_email(email) if email not in (None, "") else None
        clash = session.scalar(select(Subscriber.id).where(Subscriber.mode == SubscriberMode.WEBHOOK,
                                                           Subscriber.endpoint == url))
        if clash is not None:
            raise Conflict("That webhook URL is already subscribed.", "endpoint")
        subscriber = Subscriber(mode=SubscriberMode.WEBHOOK, endpoint=url, email=contact,
                                webhook_secret=secrets.token_hex(32), confirmed_at=now, created_at=now)
    else:
        address = clean_email(email)
        if by_email(session, address) is not None:
            raise Conflict(f"{address} is already subscribed.", "email")
        skip = skip_confirmation is True or str(skip_confirmation).lower() in {"true", "1", "on"}
        subscriber = Subscriber(mode=SubscriberMode.EMAIL, email=address, created_at=now,
                                confirmed_at=now if skip else None)
    session.add(subscriber)
    _set_components(subscriber, chosen)
    session.flush()
    if subscriber.confirmed_at is None:
        outbox.enqueue(session, "confirmation", {"subscriber": subscriber.code}, [], now=now)
    audit.record(session, actor, "subscriber.create", "subscriber", subscriber.code,
                 {"mode": subscriber.mode.value})
    return subscriber


def confirm(session: Session, subscriber: Subscriber, now: datetime | None = None) -> bool:
    """Confirm an address; False when it already was (clicking twice is fine)."""
    if subscriber.confirmed_at is not None:
        return False
    subscriber.confirmed_at = now or utcnow()
    return True


def set_components(session: Session, subscriber: Subscriber, component_codes: Any) -> None:
    """Change which components a subscriber hears about (none chosen = all)."""
    _set_components(subscriber, parse_component_codes(session, component_codes, "component_ids"))


def remove(session: Session, subscriber: Subscriber, actor: Actor | None = None) -> None:
    """Delete a subscriber; every link sent to them stops working."""
    if actor is not None:
        audit.record(session, actor, "subscriber.delete", "subscriber", subscriber.code,
                     {"mode": subscriber.mode.value})
    session.delete(subscriber)


def resend_confirmation(session: Session, subscriber: Subscriber, now: datetime | None = None) -> bool:
    """Queue the confirmation again for an unconfirmed email subscriber."""
    if subscriber.confirmed_at is not None or subscriber.mode != SubscriberMode.EMAIL:
        return False
    outbox.enqueue(session, "confirmation", {"subscriber": subscriber.code}, [], now=now or utcnow())
    return True


# --- who receives an event ------------------------------------------------------------------------


def recipients(component_ids: Sequence[int]) -> Select:
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


def _filtered(query: Select, q: str, state: str, mode: str | None) -> Select:
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(or_(func.lower(Subscriber.email).like(pattern),
                                func.lower(Subscriber.endpoint).like(pattern)))
    if mode:
        try:
            query = query.where(Subscriber.mode == SubscriberMode(mode))
        except ValueError:
            raise InvalidInput("type must be email or webhook.", "type") from None
    if state == "active":
        query = query.where(Subscriber.confirmed_at.is_not(None), Subscriber.quarantined_at.is_(None))
    elif state == "unconfirmed":
        query = query.where(Subscriber.confirmed_at.is_(None))
    elif state == "quarantined":
        query = query.where(Subscriber.quarantined_at.is_not(None))
    elif state != "all":
        raise InvalidInput("state must be active, unconfirmed, quarantined or all.", "state")
    return query


# --- CSV -------------------------------------------------------------------------------------------

CSV_FIELDS = ["email", "endpoint", "confirmed", "components", "created_at"]


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(session: Session) -> str:
    """Every subscriber as CSV (components by name, `;`-separated; empty means all)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for subscriber in search(session, limit=10_000_000):
        writer.writerow([_cell(value) for value in (
            subscriber.email or "", subscriber.endpoint or "",
            "yes" if subscriber.confirmed_at else "no",
            ";".join(c.name for c in subscriber.components),
            subscriber.created_at.isoformat(),
        )])
    return out.getvalue()


def import_csv(session: Session, actor: Actor, text: str, now: datetime | None = None) -> dict[str, Any]:
    """Add confirmed email subscribers from CSV (an `email` column, optional `components` by name).

    The whole file is checked first; one bad row rejects the import so nothing is half-done.
    Rows of our own export that are webhooks (an `endpoint`) or say `confirmed` = no are left
    out: a webhook needs a new secret, and no one is confirmed on their behalf.
    """
    now = now or utcnow()
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in reader.fieldnames:
        raise InvalidInput("The CSV needs a header row with an 'email' column.", "file")
    names = {c.name.lower(): c for c in session.scalars(select(Component))}
    rows: list[tuple[str, list[Component]]] = []
    errors: list[str] = []
    seen: set[str] = set()
    left_out = 0
    for number, row in enumerate(reader, start=2):
        if (row.get("endpoint") or "").strip() or (row.get("confirmed") or "").strip().lower() == "no":
            left_out += 1
            continue
        raw = row.get("email") or ""
        if raw[:1] == "'" and raw[1:2] in ("=", "+", "-", "@"):
            raw = raw[1:]  # written so by our own export
        try:
            email = clean_email(raw)
        except InvalidInput as exc:
            errors.append(f"line {number}: {exc.message}")
            continue
        wanted = [n.strip() for n in (row.get("components") or "").split(";") if n.strip()]
        unknown = [n for n in wanted if n.lower() not in names]
        if unknown:
            errors.append(f"line {number}: unknown component {unknown[0]!r}")
            continue
        if email not in seen:
            seen.add(email)
            rows.append((email, [names[n.lower()] for n in wanted]))
    if errors:
        raise InvalidInput("Nothing imported. " + "; ".join(errors[:5]), "file")
    created = skipped = 0
    for email, chosen in rows:
        if by_email(session, email) is not None:
            skipped += 1
            continue
        subscriber = Subscriber(mode=SubscriberMode.EMAIL, email=email, confirmed_at=now, created_at=now)
        _set_components(subscriber, chosen)
        session.add(subscriber)
        created += 1
    session.flush()
    audit.record(session, actor, "subscriber.import", "subscriber", None,
                 {"created": created, "skipped": skipped, "left_out": left_out})
    return {"created": created, "skipped": skipped, "left_out": left_out}
