"""Writing a postmortem: started with a timeline drafted from the record, edited, published (with
revisions and a notification) and reverted.

The figures come from `figures`, the sections' text and its public view from `text`, action items
from `action_items`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.components.status_rules import STATUS_LABELS
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.incidents.rules import BODY_MAX
from statuspage.inputs import UNSET, Unset
from statuspage.models import (
    ComponentStatus,
    EventKind,
    Incident,
    IncidentStatus,
    Postmortem,
    PostmortemRevision,
    User,
)
from statuspage.outbox import queue
from statuspage.page.record import bump_version
from statuspage.postmortems.action_items import items_for
from statuspage.postmortems.document import (
    FIGURES_HEADING,
    SECTION_KEYS,
    SECTIONS,
    TEMPLATE,
    drafted_summary,
    export_markdown,
    export_text,
    require_written,
)
from statuspage.postmortems.recorded import Event, Figures, recorded_events

TIMELINE_LINE_MAX = 1000
# Postgres cannot store NUL, and no other control character belongs in a write-up; sections keep
# line breaks and tabs, timeline lines and item fields are single lines.
_CONTROL = frozenset(chr(code) for code in (*range(0x20), 0x7F))
_SECTION_CONTROL = _CONTROL - {"\n", "\t"}



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
    if incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM):
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


def _clean_section(key: str, value: object) -> str:
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


def _line_label(number: int, text: object) -> str:
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


def parse_timeline(lines: object, postmortem: Postmortem, incident: Incident, zone: str) -> list[dict[str, Any]]:
    """Timeline lines as edited by a responder: `{key?, at, text, removed?}`; new lines are manual.

    A line that is sent back unchanged is kept exactly as stored, so an unchanged form changes nothing.
    """
    if not isinstance(lines, list):
        raise InvalidInput("The timeline must be a list of lines.", "timeline")
    known = {line["key"]: line for line in postmortem.timeline}
    result: list[dict[str, Any]] = []
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


def line_time(value: object, number: int, incident: Incident, zone: str, text: object = None) -> datetime:
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
         sections: Mapping[str, str] | Unset = UNSET,
         timeline: list[dict[str, object]] | Unset = UNSET) -> bool:
    """Change sections and/or the timeline; validated before anything is written.

    Returns False, writing nothing (no revision, no audit row, no "updated" time), when the
    result is what is stored already. A published postmortem keeps its required sections.
    """
    stored = _stored_sections(postmortem)
    new_sections = dict(stored)
    if sections is not UNSET:
        if not isinstance(sections, Mapping):
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
    incident.status = IncidentStatus.POSTMORTEM
    incident.updated_at = now
    if notify:
        postmortem.notified_subscribers = True
        # The email's title already says "Postmortem: <name>"; the body starts with the sections.
        items = items_for(session, incident)
        queue.enqueue(session, EventKind.POSTMORTEM, {
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
    incident.status = IncidentStatus.RESOLVED
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
