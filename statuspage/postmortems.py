"""Postmortems: the sections of an honest write-up, a timeline drafted from what was recorded,
the figures the system knows (time to detect, acknowledge, mitigate, resolve), action items,
publishing (with revisions and a notification) and the Markdown export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .audit import Actor
from .components import SEVERITY, STATUS_LABELS, UNSET, clean_name
from .db import utcnow
from .errors import InvalidInput, NotFound
from .incidents import BODY_MAX, IncidentStatus
from .markdown import plain
from .models import (
    ActionItem,
    ActionStatus,
    Check,
    ComponentStatus,
    Delivery,
    DeliveryStatus,
    Incident,
    OutboxEvent,
    Postmortem,
    PostmortemRevision,
    Probe,
    ProbeKind,
    StatusChange,
)
from .notify import outbox
from .page import bump_version

SECTIONS: list[tuple[str, str]] = [
    ("summary", "Summary"),
    ("timeline", "Timeline of events"),
    ("root_cause", "Root cause"),
    ("impact", "Impact"),
    ("resolution", "Resolution and recovery"),
    ("lessons", "Lessons learned"),
    ("action_items", "Action items"),
    ("conclusion", "Conclusion"),
]
SECTION_KEYS = [key for key, _title in SECTIONS]
# The timeline and action items are drafted or tracked apart; these must be written by a person.
REQUIRED = ("summary", "root_cause", "impact", "resolution", "conclusion")
TEMPLATE = {
    "summary": "On {date}, at approximately {start}, {name}. The issue lasted for approximately {duration}. "
               "It was resolved at {end}, and normal operations have since resumed.",
    "root_cause": "",
    "impact": "1. Users: \n2. Business: \n3. Systems: ",
    "resolution": "- Immediate actions: \n- Long-term actions: ",
    "lessons": "1. Monitoring: \n2. Incident response: \n3. Testing: ",
    "action_items": "",
    "conclusion": "We apologize for the inconvenience caused and appreciate the understanding and patience "
                  "of our users during this incident.",
}
TIMELINE_LINE_MAX = 1000


def _hhmm(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "n/a"
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


# --- what the system recorded ---------------------------------------------------------------------


@dataclass
class Event:
    """One recorded moment for the timeline."""

    key: str
    at: datetime
    text: str


@dataclass
class Figures:
    """The incident's measured figures; None where the system has no record."""

    impact_start: datetime
    detected_at: datetime | None
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    restored_at: datetime | None
    resolved_at: datetime | None
    minutes_by_component: dict[str, dict[str, int]] = field(default_factory=dict)
    subscribers_notified: int = 0

    def _since(self, start: datetime | None, end: datetime | None) -> timedelta | None:
        return end - start if start and end else None

    @property
    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the admin and the Impact section."""
        return [
            ("Duration (impact start to resolution)", _duration(self._since(self.impact_start, self.resolved_at))),
            ("Time to detect", _duration(self._since(self.impact_start, self.detected_at))),
            ("Time to acknowledge (detection to first public update)",
             _duration(self._since(self.detected_at or self.impact_start, self.acknowledged_at))),
            ("Time to mitigate (to partial restoration)", _duration(self._since(self.impact_start, self.mitigated_at))),
            ("Time to full restoration", _duration(self._since(self.impact_start, self.restored_at))),
            ("Time to resolve", _duration(self._since(self.impact_start, self.resolved_at))),
            ("Subscribers notified", str(self.subscribers_notified)),
        ]


def _window(incident: Incident) -> tuple[datetime, datetime]:
    end = incident.resolved_at or utcnow()
    return incident.started_at - timedelta(hours=1), end + timedelta(minutes=1)


def _status_changes(session: Session, incident: Incident) -> list[StatusChange]:
    start, end = _window(incident)
    ids = [c.id for c in incident.components]
    if not ids:
        return []
    return list(session.scalars(
        select(StatusChange).where(StatusChange.component_id.in_(ids), StatusChange.at >= incident.started_at,
                                   StatusChange.at <= end, StatusChange.from_status.is_not(None))
        .order_by(StatusChange.at, StatusChange.id)))


def _failing_checks(session: Session, incident: Incident) -> tuple[Check | None, list[tuple[Check, Probe]]]:
    """The first failing check near the start, and the alerts received, of the affected components."""
    start, end = _window(incident)
    ids = [c.id for c in incident.components]
    if not ids:
        return None, []
    rows = session.execute(
        select(Check, Probe).join(Probe, Probe.id == Check.probe_id)
        .where(Probe.component_id.in_(ids), Check.at >= start, Check.at <= end, Check.ok.is_(False))
        .order_by(Check.at, Check.id))
    first: Check | None = None
    alerts: list[tuple[Check, Probe]] = []
    for check, probe in rows:
        if probe.kind == ProbeKind.ALERTMANAGER:
            alerts.append((check, probe))
        elif first is None:
            first = check
    return first, alerts


def _restorations(incident: Incident, changes: Sequence[StatusChange]) -> tuple[StatusChange | None, datetime | None]:
    """The first improvement after things got worse, and when every affected component was operational again."""
    current: dict[int, ComponentStatus] = {}
    got_worse = False
    first_improvement = None
    restored_at = None
    for change in changes:
        current[change.component_id] = change.to_status
        if SEVERITY[change.to_status] > SEVERITY[change.from_status]:
            got_worse = True
            restored_at = None
        elif got_worse and first_improvement is None:
            first_improvement = change
        if got_worse and restored_at is None and all(s == ComponentStatus.OPERATIONAL for s in current.values()):
            restored_at = change.at
    return first_improvement, restored_at


def recorded_events(session: Session, incident: Incident, zone: str) -> tuple[list[Event], Figures]:
    """Everything the timeline draws from, in order, and the figures they give."""
    names = {c.id: c.name for c in incident.components}
    events: list[Event] = []
    first_check, alerts = _failing_checks(session, incident)
    if first_check is not None:
        events.append(Event(f"check:{first_check.id}", first_check.at,
                            f"Monitoring detected the first failure: {first_check.reason or 'check failed'}."))
    for check, probe in alerts:
        events.append(Event(f"alert:{check.id}", check.at,
                            f"Alert received from {probe.name}: {check.reason or 'firing'}."))
    changes = _status_changes(session, incident)
    for change in changes:
        before = STATUS_LABELS[change.from_status] if change.from_status else "—"
        events.append(Event(f"status:{change.id}", change.at,
                            f"{names.get(change.component_id, 'A component')}: {before} → "
                            f"{STATUS_LABELS[change.to_status]}."))
    updates = sorted(incident.updates, key=lambda u: (u.display_at, u.id or 0))
    for number, update in enumerate(updates):
        first_line = (plain(update.body).splitlines() or [""])[0][:300]
        label = update.status.replace("_", " ").capitalize()
        prefix = "Incident opened, " if number == 0 else ""
        events.append(Event(f"update:{update.code}", update.display_at, f"{prefix}{label}: {first_line}".rstrip(": ")))
    improvement, restored_at = _restorations(incident, changes)
    if improvement is not None:
        events.append(Event("partial-restoration", improvement.at,
                            f"Partial restoration: {names.get(improvement.component_id, 'a component')} "
                            f"improved to {STATUS_LABELS[improvement.to_status]}."))
    if restored_at is not None:
        events.append(Event("full-restoration", restored_at, "Full restoration: all affected components operational."))
    if incident.resolved_at is not None:
        events.append(Event("resolved", incident.resolved_at, "Incident resolved."))
    events.sort(key=lambda e: e.at)

    detections = [e.at for e in events if e.key.startswith("alert:")]
    detected_at = min(detections) if detections else (first_check.at if first_check else None)
    figures = Figures(
        impact_start=incident.started_at,
        detected_at=detected_at,
        acknowledged_at=updates[0].display_at if updates else None,
        mitigated_at=improvement.at if improvement else None,
        restored_at=restored_at,
        resolved_at=incident.resolved_at,
        minutes_by_component=_minutes_by_component(session, incident, names),
        subscribers_notified=_notified(session, incident),
    )
    return events, figures


def _minutes_by_component(session: Session, incident: Incident, names: dict[int, str]) -> dict[str, dict[str, int]]:
    """Minutes each affected component spent in each non-operational status during the incident."""
    end = incident.resolved_at or utcnow()
    result: dict[str, dict[str, int]] = {}
    for component_id, name in names.items():
        before = session.scalars(
            select(StatusChange).where(StatusChange.component_id == component_id,
                                       StatusChange.at <= incident.started_at)
            .order_by(StatusChange.at.desc(), StatusChange.id.desc()).limit(1)).first()
        status = before.to_status if before else ComponentStatus.OPERATIONAL
        cursor = incident.started_at
        spent: dict[str, float] = {}
        changes = session.scalars(
            select(StatusChange).where(StatusChange.component_id == component_id,
                                       StatusChange.at > incident.started_at, StatusChange.at <= end)
            .order_by(StatusChange.at, StatusChange.id))
        for change in [*changes, None]:
            until = change.at if change is not None else end
            if status != ComponentStatus.OPERATIONAL:
                spent[status.value] = spent.get(status.value, 0) + (until - cursor).total_seconds() / 60
            if change is not None:
                status, cursor = change.to_status, change.at
        result[name] = {key: round(value) for key, value in spent.items() if value >= 0.5}
    return result


def _notified(session: Session, incident: Incident) -> int:
    return session.scalar(
        select(func.count(func.distinct(Delivery.address))).join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .where(OutboxEvent.incident_id == incident.id, Delivery.status == DeliveryStatus.SENT,
               OutboxEvent.kind.in_(["incident", "maintenance", "postmortem"]))) or 0


def figures(session: Session, incident: Incident, zone: str) -> Figures:
    """The incident's figures (shown in the admin for every incident)."""
    return recorded_events(session, incident, zone)[1]


# --- the postmortem -----------------------------------------------------------------------------


def get(session: Session, incident: Incident) -> Postmortem | None:
    return session.scalars(select(Postmortem).where(Postmortem.incident_id == incident.id)).first()


def _impact_text(result: Figures, zone: str) -> str:
    lines = ["Figures recorded by the status page:", ""]
    lines += [f"- {label}: {value}" for label, value in result.rows]
    for name, minutes in result.minutes_by_component.items():
        spent = ", ".join(f"{STATUS_LABELS[ComponentStatus(k)].lower()} {v} min" for k, v in minutes.items())
        lines.append(f"- {name}: {spent or 'no time outside operational'}")
    return "\n".join(lines)


def start(session: Session, actor: Actor, incident: Incident, zone: str) -> Postmortem:
    """Open the postmortem of a resolved incident from the template, with its drafted timeline and figures."""
    if incident.is_maintenance:
        raise InvalidInput("Maintenance has no postmortem.", "incident_id")
    if incident.status not in (IncidentStatus.RESOLVED.value, IncidentStatus.POSTMORTEM.value):
        raise InvalidInput("Resolve the incident before writing its postmortem.", "status")
    existing = get(session, incident)
    if existing is not None:
        return existing
    events, result = recorded_events(session, incident, zone)
    end = incident.resolved_at or utcnow()
    sections = {key: TEMPLATE.get(key, "") for key in SECTION_KEYS if key != "timeline"}
    sections["summary"] = TEMPLATE["summary"].format(
        date=incident.started_at.astimezone(ZoneInfo(zone)).strftime("%B %d, %Y"),
        start=_hhmm(incident.started_at, zone), end=_hhmm(end, zone),
        name=incident.name[0].lower() + incident.name[1:] if incident.name else "",
        duration=_duration(end - incident.started_at))
    sections["impact"] = TEMPLATE["impact"] + "\n\n" + _impact_text(result, zone)
    postmortem = Postmortem(incident_id=incident.id, sections=sections,
                            timeline=[_auto_line(e) for e in events])
    session.add(postmortem)
    session.flush()
    audit.record(session, actor, "postmortem.start", "incident", incident.code, {})
    return postmortem


def _auto_line(event: Event) -> dict[str, Any]:
    return {"key": event.key, "at": event.at.astimezone(UTC).isoformat(), "text": event.text, "source": "auto",
            "removed": False}


def regenerate_timeline(session: Session, actor: Actor, incident: Incident, postmortem: Postmortem, zone: str) -> None:
    """Draft the timeline again from what was recorded, keeping manual lines, edits and removals."""
    events, _result = recorded_events(session, incident, zone)
    kept = {line["key"]: line for line in postmortem.timeline if line["source"] == "auto"}
    lines = [line for line in postmortem.timeline if line["source"] == "manual"]
    for event in events:
        previous = kept.get(event.key)
        if previous is not None and (previous.get("removed") or previous.get("edited")):
            lines.append(previous)
        else:
            lines.append(_auto_line(event))
    lines.sort(key=lambda line: line["at"])
    _save(session, actor, postmortem, timeline=lines)


def _clean_section(key: str, value: Any) -> str:
    if key not in SECTION_KEYS or key == "timeline":
        raise InvalidInput(f"Unknown section {key!r}.", key)
    if not isinstance(value, str):
        raise InvalidInput("Sections are Markdown text.", key)
    if len(value) > BODY_MAX:
        raise InvalidInput(f"A section can be at most {BODY_MAX:,} characters.", key)
    return value.strip()


def parse_timeline(lines: Any, postmortem: Postmortem, incident: Incident, zone: str) -> list[dict[str, Any]]:
    """Timeline lines as edited by a responder: `{key?, at, text, removed?}`; new lines are manual."""
    if not isinstance(lines, list):
        raise InvalidInput("The timeline must be a list of lines.", "timeline")
    known = {line["key"]: line for line in postmortem.timeline}
    result = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            raise InvalidInput(f"Timeline line {number} is not an object.", "timeline")
        text = line.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > TIMELINE_LINE_MAX:
            raise InvalidInput(f"Timeline line {number} needs a text of at most {TIMELINE_LINE_MAX} characters.",
                               "timeline")
        # Stored in UTC so that lines sort by time whatever offset they were typed with.
        at = line_time(line.get("at"), number, incident, zone).astimezone(UTC)
        removed = bool(line.get("removed", False))
        previous = known.get(str(line.get("key", "")))
        if previous is not None and previous["source"] == "auto":
            changed = text.strip() != previous["text"] or at.isoformat() != previous["at"]
            edited = previous.get("edited", False) or changed
            result.append({**previous, "at": at.isoformat(), "text": text.strip(), "removed": removed,
                           "edited": edited})
        else:
            result.append({"key": f"manual:{number}:{abs(hash((text, at.isoformat()))) % 10**8}",
                           "at": at.isoformat(), "text": text.strip(), "source": "manual", "removed": removed})
    result.sort(key=lambda entry: entry["at"])
    return result


def line_time(value: Any, number: int, incident: Incident, zone: str) -> datetime:
    """A timeline line's time: ISO text or a datetime (no zone means the page's), within the incident's days."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"Timeline line {number} has no valid time.", "timeline") from None
    else:
        raise InvalidInput(f"Timeline line {number} has no valid time.", "timeline")
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    earliest = incident.started_at - timedelta(days=7)
    if not earliest <= when <= utcnow() + timedelta(minutes=5):
        raise InvalidInput(f"Timeline line {number} is dated outside the incident.", "timeline")
    return when


def _save(session: Session, actor: Actor, postmortem: Postmortem, sections: dict[str, str] | None = None,
          timeline: list[dict[str, Any]] | None = None) -> None:
    """Store new content; a published postmortem keeps what it said before as a revision."""
    now = utcnow()
    if postmortem.published_at is not None:
        session.add(PostmortemRevision(postmortem=postmortem, user_id=actor.user_id, created_at=now,
                                       sections=dict(postmortem.sections), timeline=list(postmortem.timeline)))
        postmortem.revised_at = now
        bump_version(session)
    if sections is not None:
        postmortem.sections = sections
    if timeline is not None:
        postmortem.timeline = timeline
    postmortem.updated_at = now


def edit(session: Session, actor: Actor, incident: Incident, postmortem: Postmortem, zone: str,
         sections: Any = UNSET, timeline: Any = UNSET) -> Postmortem:
    """Change sections and/or the timeline; validated before anything is written."""
    new_sections = dict(postmortem.sections)
    if sections is not UNSET:
        if not isinstance(sections, dict):
            raise InvalidInput("sections must map section names to Markdown.", "sections")
        for key, value in sections.items():
            new_sections[key] = _clean_section(key, value)
    new_timeline = parse_timeline(timeline, postmortem, incident, zone) if timeline is not UNSET else None
    _save(session, actor, postmortem, sections=new_sections, timeline=new_timeline)
    audit.record(session, actor, "postmortem.edit", "incident", incident.code, {})
    return postmortem


def publish(session: Session, actor: Actor, incident: Incident, postmortem: Postmortem, zone: str,
            notify: bool = True) -> None:
    """Publish: the incident becomes `postmortem`, the page shows it, subscribers are told."""
    missing = [title for key, title in SECTIONS if key in REQUIRED and not postmortem.sections.get(key, "").strip()]
    if missing:
        raise InvalidInput(f"Write these sections before publishing: {', '.join(missing)}.", "sections")
    if postmortem.published_at is not None:
        raise InvalidInput("This postmortem is already published; edits are published as revisions.", "status")
    now = utcnow()
    postmortem.published_at = now
    postmortem.updated_at = now
    incident.status = IncidentStatus.POSTMORTEM.value
    incident.updated_at = now
    if notify:
        postmortem.notified_subscribers = True
        outbox.enqueue(session, "postmortem", {
            "incident": incident.code, "name": incident.name, "kind": "postmortem", "status": "postmortem",
            "impact": incident.impact.value, "body": export_markdown(incident, postmortem, zone, public=True),
            "display_at": now.isoformat(), "components": [c.name for c in incident.components],
            "affected": [], "first": False,
        }, [c.id for c in incident.components], incident_id=incident.id, now=now)
    audit.record(session, actor, "postmortem.publish", "incident", incident.code, {"notify": notify})
    bump_version(session)


def revert(session: Session, actor: Actor, incident: Incident, postmortem: Postmortem) -> None:
    """Unpublish: the incident is `resolved` again and the page stops showing the postmortem."""
    postmortem.published_at = None
    incident.status = IncidentStatus.RESOLVED.value
    incident.updated_at = utcnow()
    audit.record(session, actor, "postmortem.revert", "incident", incident.code, {})
    bump_version(session)


# --- action items -----------------------------------------------------------------------------------


def _clean_item(title: Any, owner: Any, due_date: Any, status: Any, link: Any) -> dict[str, Any]:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("An action item needs a title.", "title")
    values: dict[str, Any] = {"title": clean_name(title, "title")}
    owner = owner.strip() if isinstance(owner, str) else owner
    values["owner"] = clean_name(owner, "owner") if owner else None
    if due_date in (None, ""):
        values["due_date"] = None
    else:
        try:
            values["due_date"] = due_date if isinstance(due_date, date) else date.fromisoformat(str(due_date))
        except ValueError:
            raise InvalidInput("The due date must be a date like 2024-09-01.", "due_date") from None
        if not date(2000, 1, 1) <= values["due_date"] <= date.today() + timedelta(days=3 * 366):
            raise InvalidInput("The due date makes no sense.", "due_date")
    try:
        values["status"] = ActionStatus(status or "open")
    except ValueError:
        raise InvalidInput("Status must be open, in_progress or done.", "status") from None
    link = link.strip() if isinstance(link, str) else link
    if link:
        parts = urlsplit(str(link))
        if parts.scheme not in ("http", "https") or not parts.netloc or len(str(link)) > 2000:
            raise InvalidInput("The link must be an http(s) URL.", "link")
    values["link"] = link or None
    return values


def add_item(session: Session, actor: Actor, incident: Incident, *, title: Any, owner: Any = None,
             due_date: Any = None, status: Any = "open", link: Any = None, public: bool = False) -> ActionItem:
    """Track a follow-up of this incident."""
    item = ActionItem(incident_id=incident.id, public=bool(public), **_clean_item(title, owner, due_date, status, link))
    session.add(item)
    session.flush()
    audit.record(session, actor, "action_item.add", "action_item", item.code, {"title": item.title})
    if item.public:
        bump_version(session)
    return item


def update_item(session: Session, actor: Actor, item: ActionItem, *, title: Any, owner: Any = None,
                due_date: Any = None, status: Any = "open", link: Any = None, public: bool = False) -> ActionItem:
    """Change an action item (all fields at once, as the form sends them)."""
    values = _clean_item(title, owner, due_date, status, link)
    was_public = item.public
    for key, value in values.items():
        setattr(item, key, value)
    item.public = bool(public)
    item.updated_at = utcnow()
    audit.record(session, actor, "action_item.update", "action_item", item.code, {"status": item.status.value})
    if was_public or item.public:
        bump_version(session)
    return item


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


# --- export -------------------------------------------------------------------------------------------


def export_markdown(incident: Incident, postmortem: Postmortem, zone: str, public: bool = False,
                    items: Sequence[ActionItem] = ()) -> str:
    """The whole postmortem as one Markdown document."""
    tz = ZoneInfo(zone)
    parts = [f"# Postmortem: {incident.name}", ""]
    for key, title in SECTIONS:
        if key == "timeline":
            lines = [line for line in postmortem.timeline if not line.get("removed")]
            body = "\n".join(
                f"- {datetime.fromisoformat(line['at']).astimezone(tz).strftime('%H:%M %Z')}: {line['text']}"
                for line in lines)
        elif key == "action_items":
            shown = [i for i in items if i.public or not public]
            rows = [f"- [{'x' if i.status == ActionStatus.DONE else ' '}] {i.title}"
                    + (f" ({i.owner}" + (f", due {i.due_date.isoformat()}" if i.due_date else "") + ")"
                       if i.owner else "") for i in shown]
            body = "\n".join(filter(None, [postmortem.sections.get(key, "").strip(), "\n".join(rows)]))
        else:
            body = postmortem.sections.get(key, "").strip()
        if body:
            parts += [f"## {title}", "", body, ""]
    return "\n".join(parts).rstrip() + "\n"


def sections_from_markdown(text: Any) -> dict[str, str]:
    """Split a Markdown draft by `## <section title>` headings into our sections (Statuspage's body_draft).

    Text before the first known heading, or under an unknown one, goes to the summary; a
    `Timeline of events` heading is ignored here because the timeline is kept as lines.
    """
    if not isinstance(text, str):
        raise InvalidInput("body_draft must be Markdown text.", "body_draft")
    if len(text) > BODY_MAX * 4:
        raise InvalidInput("The postmortem is too long.", "body_draft")
    titles = {title.lower(): key for key, title in SECTIONS}
    sections: dict[str, list[str]] = {}
    current = "summary"
    for line in text.splitlines():
        heading = line.strip().lstrip("#").strip().lower() if line.lstrip().startswith("#") else None
        if heading is not None and heading in titles:
            current = titles[heading]
            continue
        if heading is not None and heading.startswith("postmortem"):
            continue
        sections.setdefault(current, []).append(line)
    sections.pop("timeline", None)
    return {key: "\n".join(lines).strip() for key, lines in sections.items()}
