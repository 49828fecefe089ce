"""Action items: the follow-ups of an incident, tracked until done (title, owner, due date,
status, link), public or internal."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import InvalidInput, NotFound
from statuspage.inputs import clean_name, member_of
from statuspage.models import ActionItem, ActionStatus, Incident
from statuspage.outbox import alerts
from statuspage.page.record import bump_version, get_page

_CONTROL = frozenset(chr(code) for code in (*range(0x20), 0x7F))


def _started_on(session: Session, incident: Incident) -> date:
    """The day the incident started, in the page's time zone (a due date cannot be earlier)."""
    page = get_page(session)
    return incident.started_at.astimezone(ZoneInfo(page.time_zone if page else "UTC")).date()


def _clean_due_date(due_date: object, started_on: date) -> date | None:
    if due_date in (None, ""):
        return None
    try:
        value = due_date if isinstance(due_date, date) else date.fromisoformat(str(due_date).strip())
    except ValueError:
        raise InvalidInput("The due date must be a date like 2024-09-01.", "due_date") from None
    if value < started_on:
        raise InvalidInput(f"The due date is before the incident started ({started_on.isoformat()}); "
                           "a follow-up cannot be due before its incident.", "due_date")
    if value > date.today() + timedelta(days=3 * 366):
        raise InvalidInput("The due date makes no sense: it is more than three years away.", "due_date")
    return value


def _clean_link(link: object) -> str | None:
    link = link.strip() if isinstance(link, str) else link
    if not link:
        return None
    text = str(link)
    parts = urlsplit(text)
    if (parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 2000
            or any(c.isspace() or c in _CONTROL or c in "<>" for c in text)):
        raise InvalidInput("The link must be an http(s) URL without spaces or control characters.", "link")
    return text


def _clean_item(title: object, owner: object, due_date: object, status: object, link: object,
                started_on: date) -> dict[str, Any]:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("An action item needs a title.", "title")
    values: dict[str, Any] = {"title": clean_name(title, "title")}
    owner = owner.strip() if isinstance(owner, str) else owner
    values["owner"] = clean_name(owner, "owner") if owner else None
    values["due_date"] = _clean_due_date(due_date, started_on)
    values["status"] = member_of(ActionStatus, status or ActionStatus.OPEN)
    if values["status"] is None:
        raise InvalidInput("Status must be open, in_progress or done.", "status")
    values["link"] = _clean_link(link)
    return values


def add_item(session: Session, actor: Actor, incident: Incident, *, title: str | None, owner: str | None = None,
             due_date: date | str | None = None, status: ActionStatus | str | None = ActionStatus.OPEN,
             link: str | None = None, public: bool = False) -> ActionItem:
    """Track a follow-up of this incident."""
    values = _clean_item(title, owner, due_date, status, link, _started_on(session, incident))
    item = ActionItem(incident_id=incident.id, public=bool(public), **values)
    session.add(item)
    session.flush()
    audit.record(session, actor, "action_item.add", "action_item", item.code, {"title": item.title})
    if item.public:
        bump_version(session)
    return item


def update_item(session: Session, actor: Actor, item: ActionItem, *, title: str | None, owner: str | None = None,
                due_date: date | str | None = None, status: ActionStatus | str | None = ActionStatus.OPEN,
                link: str | None = None, public: bool = False) -> bool:
    """Change an action item (all fields at once, as the form sends them); False when nothing changed."""
    incident = session.get_one(Incident, item.incident_id)
    values = _clean_item(title, owner, due_date, status, link, _started_on(session, incident))
    values["public"] = bool(public)
    if all(getattr(item, key) == value for key, value in values.items()):
        return False
    was_public = item.public
    if values.get("due_date") != item.due_date:
        item.overdue_alerted_at = None  # a new due date can fall overdue again
    for key, value in values.items():
        setattr(item, key, value)
    item.updated_at = utcnow()
    audit.record(session, actor, "action_item.update", "action_item", item.code, {"status": item.status.value})
    if was_public or item.public:
        bump_version(session)
    return True


def get_item(session: Session, code: str) -> ActionItem:
    item = session.scalars(select(ActionItem).where(ActionItem.code == code)).first()
    if item is None:
        raise NotFound(f"No action item {code!r}.", "action_item_id")
    return item


def items_for(session: Session, incident: Incident, public_only: bool = False) -> list[ActionItem]:
    query = select(ActionItem).where(ActionItem.incident_id == incident.id)
    if public_only:
        query = query.where(ActionItem.public.is_(True))
    return list(session.scalars(query.order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)))


def open_items(session: Session) -> list[tuple[ActionItem, Incident]]:
    """Open and in-progress items across incidents, the soonest due first."""
    rows = session.execute(
        select(ActionItem, Incident).join(Incident, Incident.id == ActionItem.incident_id)
        .where(ActionItem.status != ActionStatus.DONE)
        .order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id))
    return [(item, incident) for item, incident in rows]


def alert_one_overdue(session: Session, now: datetime) -> ActionItem | None:
    """Alert responders of one action item that fell overdue (due before today in the page's zone, not
    done, not yet alerted for this due date): the worker's step."""
    page = get_page(session)
    today = now.astimezone(ZoneInfo(page.time_zone if page else "UTC")).date()
    row = session.execute(
        select(ActionItem, Incident).join(Incident, Incident.id == ActionItem.incident_id)
        .where(ActionItem.status != ActionStatus.DONE, ActionItem.due_date < today,
               ActionItem.overdue_alerted_at.is_(None))
        .order_by(ActionItem.due_date, ActionItem.id).limit(1)
    ).first()
    if row is None:
        return None
    item, incident = row
    item.overdue_alerted_at = now
    alerts.action_item_overdue(session, item, incident, now)
    return item
