"""Subscribers: double opt-in sign-up, preferences, removal, search, CSV, and who receives what."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVarTuple
from urllib.parse import urlsplit

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from statuspage import audit
from statuspage.accounts.users import clean_email
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.incidents.rules import parse_component_codes
from statuspage.models import (
    Component,
    Delivery,
    DeliveryStatus,
    EventKind,
    Subscriber,
    SubscriberMode,
    Subscription,
)
from statuspage.outbound import guard
from statuspage.outbox import queue

ENDPOINT_MAX = 2000


# How long registration waits for DNS before taking a name as it is (it is judged again at every send).
RESOLVE_TIMEOUT = 2.0
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _clean_host(host: str, field: str) -> str:
    """A literal IP address or a DNS name (IDNA allowed); InvalidInput otherwise."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return host
    except ValueError:
        pass
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_host = ""
    if not ascii_host or len(ascii_host) > 253 or not all(_LABEL.fullmatch(x) for x in ascii_host.split(".")):
        raise InvalidInput(f"The webhook URL's host {host!r} is not a valid host name.", field)
    return ascii_host


def clean_endpoint(value: object, field: str = "endpoint", policy: guard.Policy | None = None) -> str:
    """An http(s) URL for webhook deliveries that the outbound address guard allows.

    A literal address the subscriber policy refuses (link-local, cloud metadata, loopback or
    private unless the operator allows those) is refused at once; a name is resolved once and refused if it
    points there. A name that does not resolve now is taken as it is: the guard runs again
    on the address of every send, so it can never reach what the policy forbids.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("A webhook URL is required.", field)
    value = value.strip()
    if len(value) > ENDPOINT_MAX:
        raise InvalidInput(f"The webhook URL must be at most {ENDPOINT_MAX} characters.", field)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput("The webhook URL must not contain spaces or control characters.", field)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # e.g. an unclosed IPv6 bracket, a port out of range
        raise InvalidInput("The webhook URL is not a valid URL (is the port between 1 and 65535?).", field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("The webhook URL must start with http:// or https:// and name a host.", field)
    if port == 0:
        raise InvalidInput("The webhook URL's port must be between 1 and 65535.", field)
    host = _clean_host(parts.hostname, field)
    try:
        guard.guarded_addresses(host, port or (443 if parts.scheme == "https" else 80),
                                   policy or guard.Policy.for_subscribers(), RESOLVE_TIMEOUT)
    except guard.OutboundError as exc:
        if exc.permanent:
            reason = exc.message.removeprefix("refused: ").split(" (an operator", 1)[0]
            raise InvalidInput(f"The webhook URL is not allowed: {reason}.", field) from None
    return value


def clean_flag(value: Any, field: str) -> bool:
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


def subscribe_email(
    session: Session, email: Any, component_codes: Any = None, now: datetime | None = None
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
    subscriber = by_email(session, email)
    if subscriber is not None and subscriber.confirmed_at is not None:
        queue.enqueue(session, EventKind.MANAGE_LINK, {"subscriber": subscriber.code}, [], now=now)
        return subscriber
    if subscriber is None:
        subscriber = Subscriber(mode=SubscriberMode.EMAIL, email=email, created_at=now)
        _set_components(subscriber, chosen)
        session.add(subscriber)
        session.flush()
    _ask_to_confirm(session, subscriber, chosen, now)
    return subscriber


def subscribe_webhook(
    session: Session, endpoint: Any, email: Any, component_codes: Any = None,
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
    email: Any = None,
    endpoint: Any = None,
    component_codes: Any = None,
    skip_confirmation: Any = False,
    policy: guard.Policy | None = None,
    now: datetime | None = None,
) -> Subscriber:
    """Add a subscriber for a responder or the API; email subscribers confirm unless skipped.

    `policy` is the operator's outbound policy for subscriber targets that webhook URLs are checked
    against (public addresses only unless STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE).
    """
    now = now or utcnow()
    skip = clean_flag(skip_confirmation, "skip_confirmation_notification")
    chosen = parse_component_codes(session, component_codes, "component_ids")
    if component_codes is not None and isinstance(component_codes, list) and not component_codes:
        raise InvalidInput("component_ids, if given, must name at least one component.", "component_ids")
    if endpoint not in (None, ""):
        url = clean_endpoint(endpoint, "endpoint", policy)
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
        subscriber = Subscriber(mode=SubscriberMode.EMAIL, email=address, created_at=now,
                                confirmed_at=now if skip else None)
    session.add(subscriber)
    _set_components(subscriber, chosen)
    session.flush()
    if subscriber.confirmed_at is None:
        _ask_to_confirm(session, subscriber, chosen, now)
    audit.record(session, actor, "subscriber.create", "subscriber", subscriber.code,
                 {"mode": subscriber.mode.value})
    return subscriber


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


def set_components(session: Session, subscriber: Subscriber, component_codes: Any) -> None:
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


def resend_confirmation(session: Session, subscriber: Subscriber, now: datetime | None = None) -> bool:
    """Queue the confirmation again for an unconfirmed email subscriber."""
    if subscriber.confirmed_at is not None or subscriber.mode != SubscriberMode.EMAIL:
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


_Columns = TypeVarTuple("_Columns")


def _filtered(query: Select[*_Columns], q: str, state: str, mode: str | None) -> Select[*_Columns]:
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
