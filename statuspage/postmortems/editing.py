"""Postmortems: a timeline drafted from what was recorded, the figures the system knows (time to
detect, acknowledge, mitigate, resolve), editing, and publishing (with revisions and a notification).

The sections' text, its public view and the Markdown export are in `postmortem_text`; action items
in `action_items` (both re-exported here for callers that know only this module).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.components.catalog import SEVERITY, STATUS_LABELS, UNSET
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.incidents.lifecycle import BODY_MAX, IncidentStatus
from statuspage.markdown import plain
from statuspage.models import (
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
    User,
)
from statuspage.outbox import queue
from statuspage.page.record import bump_version
from statuspage.postmortems.action_items import add_item as add_item
from statuspage.postmortems.action_items import get_item as get_item
from statuspage.postmortems.action_items import items_for
from statuspage.postmortems.action_items import open_items as open_items
from statuspage.postmortems.action_items import update_item as update_item
from statuspage.postmortems.text import (
    FIGURES_HEADING,
    SECTION_KEYS,
    SECTIONS,
    TEMPLATE,
    drafted_summary,
    export_markdown,
    export_text,
    require_written,
)
from statuspage.postmortems.text import sections_from_markdown as sections_from_markdown

TIMELINE_LINE_MAX = 1000
# Postgres cannot store NUL, and no other control character belongs in a write-up; sections keep
# line breaks and tabs, timeline lines and item fields are single lines.
_CONTROL = frozenset(chr(code) for code in (*range(0x20), 0x7F))
_SECTION_CONTROL = _CONTROL - {"\n", "\t"}


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
                                   StatusChange.at <= end, StatusChange.from_status.is_not(None),
                                   # A row that changed nothing ("Major Outage → Major Outage") tells nothing.
                                   StatusChange.from_status != StatusChange.to_status)
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


@dataclass
class Restoration:
    """When service got better after the worst point: the first improvement (partial restoration,
    None when everything came back in one step) and when all affected components were operational."""

    partial_at: datetime | None = None
    improved: list[StatusChange] = field(default_factory=list)
    full_at: datetime | None = None


def _badness(current: dict[int, ComponentStatus]) -> tuple[int, int]:
    severities = [SEVERITY[status] for status in current.values()]
    return max(severities, default=0), sum(severities)


def _restorations(changes: Sequence[StatusChange]) -> Restoration:
    """Partial and full restoration, read from the status changes moment by moment.

    1. Walk the moments (changes at the same time count as one step) and note how bad things were
       after each: the worst status of any affected component, then the sum of their severities.
    2. The worst point is the last moment at the peak (a relapse moves it later).
    3. Partial restoration: the first later moment where a component improved while another (or
       the same) was still not operational. Full restoration: the last moment things went from
       not all operational to all operational, after the worst point.
    """
    current = {change.component_id: change.from_status for change in reversed(changes)}
    moments: list[tuple[datetime, list[StatusChange], tuple[int, int], bool]] = [
        (datetime.min.replace(tzinfo=UTC), [], _badness(current), False)]
    for at, group in groupby(changes, key=lambda change: change.at):
        steps = list(group)
        for change in steps:
            current[change.component_id] = change.to_status
        operational = all(status == ComponentStatus.OPERATIONAL for status in current.values())
        moments.append((at, steps, _badness(current), operational))
    peak = max(badness for _at, _steps, badness, _ok in moments)
    if peak == (0, 0):
        return Restoration()
    worst = max(index for index, moment in enumerate(moments) if moment[2] == peak)
    result = Restoration()
    was_operational = False
    for at, steps, _badness_now, operational in moments[worst + 1:]:
        improved = [c for c in steps if SEVERITY[c.to_status] < SEVERITY[c.from_status]]
        if improved and not operational and result.partial_at is None and result.full_at is None:
            result.partial_at, result.improved = at, improved
        if operational and not was_operational:
            result.full_at = at
        was_operational = operational
    if not was_operational:
        result.full_at = None
    return result


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
    restoration = _restorations(changes)
    if restoration.partial_at is not None:
        improved = ", ".join(f"{names.get(c.component_id, 'a component')} improved to {STATUS_LABELS[c.to_status]}"
                             for c in restoration.improved)
        events.append(Event("partial-restoration", restoration.partial_at,
                            f"Partial restoration: {improved}; not everything is operational yet."))
    if restoration.full_at is not None:
        step = "" if restoration.partial_at is not None else " in one step"
        events.append(Event("full-restoration", restoration.full_at,
                            f"Full restoration: all affected components operational{step}."))
    if incident.resolved_at is not None:
        events.append(Event("resolved", incident.resolved_at, "Incident resolved."))
    events.sort(key=lambda e: e.at)

    detections = [e.at for e in events if e.key.startswith("alert:")]
    detected_at = min(detections) if detections else (first_check.at if first_check else None)
    figures = Figures(
        impact_start=incident.started_at,
        detected_at=detected_at,
        acknowledged_at=updates[0].display_at if updates else None,
        # Coming back in one step mitigates and restores at once.
        mitigated_at=restoration.partial_at or restoration.full_at,
        restored_at=restoration.full_at,
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


def _impact_text(result: Figures) -> str:
    lines = [FIGURES_HEADING, ""]
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
    sections = {key: TEMPLATE.get(key, "").strip() for key in SECTION_KEYS if key != "timeline"}
    sections["summary"] = drafted_summary(incident, incident.resolved_at or utcnow(), zone)
    sections["impact"] = TEMPLATE["impact"].strip() + "\n\n" + _impact_text(result)
    postmortem = Postmortem(incident_id=incident.id, sections=sections,
                            timeline=[_auto_line(e) for e in events])
    session.add(postmortem)
    session.flush()
    audit.record(session, actor, "postmortem.start", "incident", incident.code, {})
    return postmortem


def _auto_line(event: Event) -> dict[str, Any]:
    return {"key": event.key, "at": event.at.astimezone(UTC).isoformat(), "text": event.text, "source": "auto",
            "removed": False}


def regenerate_timeline(session: Session, actor: Actor, incident: Incident, postmortem: Postmortem, zone: str) -> bool:
    """Draft the timeline again from what was recorded, keeping manual lines, edits and removals.

    Returns False (and writes nothing) when the record drafts the same timeline again.
    """
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
    if lines == postmortem.timeline:
        return False
    _save(session, actor, postmortem, timeline=lines)
    audit.record(session, actor, "postmortem.regenerate", "incident", incident.code, {})
    return True


def _clean_section(key: str, value: Any) -> str:
    title = dict(SECTIONS).get(key)
    if title is None or key == "timeline":
        raise InvalidInput(f"Unknown section {key!r}.", key)
    if not isinstance(value, str):
        raise InvalidInput(f"{title}: sections are Markdown text.", key)
    # Browsers send CRLF from a textarea; stored text uses LF so an unchanged form compares equal.
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(value) > BODY_MAX:
        raise InvalidInput(f"{title} can be at most {BODY_MAX:,} characters.", key)
    if not _SECTION_CONTROL.isdisjoint(value):
        raise InvalidInput(f"{title} contains a control character (such as NUL); remove it and save again.", key)
    return value.strip()


def _line_label(number: int, text: Any) -> str:
    """`Timeline line 3 ("The database team began…")`: enough to find the line in the form."""
    if isinstance(text, str) and text.strip():
        shown = text.strip()[:40] + ("…" if len(text.strip()) > 40 else "")
        return f'Timeline line {number} ("{shown}")'
    return f"Timeline line {number}"


def _line_text(line: dict[str, Any], number: int) -> str:
    text = line.get("text")
    label = _line_label(number, text)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{label} has a time but no text; write what happened, or remove the line.", "timeline")
    if len(text) > TIMELINE_LINE_MAX:
        raise InvalidInput(f"{label} is longer than {TIMELINE_LINE_MAX} characters.", "timeline")
    if not _CONTROL.isdisjoint(text):
        raise InvalidInput(f"{label} must be one line without control characters (line breaks, tabs, NUL).",
                           "timeline")
    return text.strip()


def parse_timeline(lines: Any, postmortem: Postmortem, incident: Incident, zone: str) -> list[dict[str, Any]]:
    """Timeline lines as edited by a responder: `{key?, at, text, removed?}`; new lines are manual.

    A line that is sent back unchanged is kept exactly as stored, so an unchanged form changes nothing.
    """
    if not isinstance(lines, list):
        raise InvalidInput("The timeline must be a list of lines.", "timeline")
    known = {line["key"]: line for line in postmortem.timeline}
    result = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            raise InvalidInput(f"Timeline line {number} is not an object.", "timeline")
        text = _line_text(line, number)
        # Stored in UTC so that lines sort by time whatever offset they were typed with.
        at = line_time(line.get("at"), number, incident, zone, line.get("text")).astimezone(UTC).isoformat()
        removed = bool(line.get("removed", False))
        previous = known.pop(str(line.get("key", "")), None)
        if previous is None:
            result.append({"key": f"manual:{secrets.token_hex(6)}", "at": at, "text": text, "source": "manual",
                           "removed": removed})
        elif (text, at, removed) == (previous["text"], previous["at"], bool(previous.get("removed"))):
            result.append(previous)
        else:
            changed = previous["source"] == "auto" and (text, at) != (previous["text"], previous["at"])
            edited = {"edited": True} if previous.get("edited") or changed else {}
            result.append({**previous, "at": at, "text": text, "removed": removed, **edited})
    result.sort(key=lambda entry: entry["at"])
    return result


def line_time(value: Any, number: int, incident: Incident, zone: str, text: Any = None) -> datetime:
    """A timeline line's time: ISO text or a datetime (no zone means the page's), within the incident's days."""
    label = _line_label(number, text)
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value.strip():
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{label} has no valid time.", "timeline") from None
    else:
        raise InvalidInput(f"{label} has no valid time; give it one, or remove the line.", "timeline")
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    earliest = incident.started_at - timedelta(days=7)
    if not earliest <= when <= utcnow() + timedelta(minutes=5):
        raise InvalidInput(f"{label} is dated outside the incident.", "timeline")
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


def _stored_sections(postmortem: Postmortem) -> dict[str, str]:
    """The sections as a save would store them (older rows may keep the template's trailing spaces)."""
    return {key: str(value).replace("\r\n", "\n").strip() for key, value in postmortem.sections.items()}


def edit(session: Session, actor: Actor, incident: Incident, postmortem: Postmortem, zone: str,
         sections: Any = UNSET, timeline: Any = UNSET) -> bool:
    """Change sections and/or the timeline; validated before anything is written.

    Returns False, writing nothing (no revision, no audit row, no "updated" time), when the
    result is what is stored already. A published postmortem keeps its required sections.
    """
    stored = _stored_sections(postmortem)
    new_sections = dict(stored)
    if sections is not UNSET:
        if not isinstance(sections, dict):
            raise InvalidInput("sections must map section names to Markdown.", "sections")
        for key, value in sections.items():
            new_sections[key] = _clean_section(key, value)
    new_timeline = parse_timeline(timeline, postmortem, incident, zone) if timeline is not UNSET else None
    if new_sections == stored and new_timeline in (None, postmortem.timeline):
        return False
    if postmortem.published_at is not None:
        require_written(new_sections, "A published postmortem needs these sections")
    _save(session, actor, postmortem, sections=new_sections, timeline=new_timeline)
    audit.record(session, actor, "postmortem.edit", "incident", incident.code, {})
    return True


def publish(session: Session, actor: Actor, incident: Incident, postmortem: Postmortem, zone: str,
            notify: bool = True) -> None:
    """Publish: the incident becomes `postmortem`, the page shows it, subscribers are told."""
    require_written(postmortem.sections, "Write these sections before publishing")
    if postmortem.published_at is not None:
        raise InvalidInput("This postmortem is already published; edits are published as revisions.", "status")
    now = utcnow()
    postmortem.published_at = now
    postmortem.updated_at = now
    incident.status = IncidentStatus.POSTMORTEM.value
    incident.updated_at = now
    if notify:
        postmortem.notified_subscribers = True
        # The email's title already says "Postmortem: <name>"; the body starts with the sections.
        items = items_for(session, incident)
        queue.enqueue(session, "postmortem", {
            "incident": incident.code, "name": incident.name, "kind": "postmortem", "status": "postmortem",
            "impact": incident.impact.value,
            "body": export_markdown(incident, postmortem, zone, public=True, items=items, heading=False),
            "text": export_text(incident, postmortem, zone, items),
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


@dataclass(frozen=True)
class RevisionEntry:
    """One edit of a published postmortem, for the admin's list."""

    at: datetime
    by: str


def revisions(session: Session, postmortem: Postmortem) -> list[RevisionEntry]:
    """Edits after publishing, newest first, with who made them."""
    rows = session.execute(
        select(PostmortemRevision.created_at, User.email)
        .outerjoin(User, User.id == PostmortemRevision.user_id)
        .where(PostmortemRevision.postmortem_id == postmortem.id)
        .order_by(PostmortemRevision.created_at.desc(), PostmortemRevision.id.desc()))
    return [RevisionEntry(at, email or "an automated process") for at, email in rows]
