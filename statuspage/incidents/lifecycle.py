"""The incident and maintenance lifecycle: opening, updates, the window's edges.

Each function is one state change written in the caller's transaction:
the incident, its update, the component statuses it sets (through
`components.set_status`, so history rows follow), the audit row and the
page version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from statuspage import audit
from statuspage.audit import Actor
from statuspage.components.catalog import (
    UNSET,
    clean_name,
    get_component,
    is_unicode_text,
    parse_bool,
    parse_status,
    set_status,
)
from statuspage.db import utcnow
from statuspage.errors import InvalidInput, NotFound
from statuspage.incidents import overlaps
from statuspage.models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceStatus,
)
from statuspage.outbox import queue
from statuspage.page.record import bump_version

BODY_MAX = 25_000
# C0 controls and DEL, except the tab and line breaks a Markdown message is made of; NUL above all,
# which PostgreSQL cannot store.
BODY_CONTROL_CHARACTERS = frozenset(chr(code) for code in (*range(0x20), 0x7F)) - {"\t", "\n", "\r"}
# Clocks disagree a little; a "started at" this far ahead is still accepted as now.
CLOCK_SKEW = timedelta(minutes=2)
MAINTENANCE_MAX_WINDOW = timedelta(days=30)
MAINTENANCE_MAX_AHEAD = timedelta(days=366)
# Times outside these years are typing errors; before 1970 some zones' offsets have seconds (local mean
# time), which ISO 8601 output cannot show, and near year 1 or 9999 shifting to a zone overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)

UNRESOLVED = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)
ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
IMPACT_RANK = {Impact.NONE: 0, Impact.MAINTENANCE: 1, Impact.MINOR: 2, Impact.MAJOR: 3,
               Impact.CRITICAL: 4}
IMPACT_FOR_STATUS = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}
# Which status may follow which. Postmortem is set only by publishing a postmortem.
INCIDENT_NEXT = {
    **{s: set(UNRESOLVED) | {IncidentStatus.RESOLVED} for s in UNRESOLVED},
    IncidentStatus.RESOLVED: set(UNRESOLVED) | {IncidentStatus.RESOLVED},
    IncidentStatus.POSTMORTEM: {IncidentStatus.POSTMORTEM},
}
MAINTENANCE_NEXT = {
    MaintenanceStatus.SCHEDULED: {MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS,
                                  MaintenanceStatus.COMPLETED},
    MaintenanceStatus.IN_PROGRESS: {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING,
                                    MaintenanceStatus.COMPLETED},
    MaintenanceStatus.VERIFYING: {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING,
                                  MaintenanceStatus.COMPLETED},
    MaintenanceStatus.COMPLETED: {MaintenanceStatus.COMPLETED},
}
AUTO_MESSAGES = {
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is currently in progress. We will provide "
                                   "updates as necessary.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}


# --- input rules --------------------------------------------------------------------------------


def clean_body(value: Any, field: str = "body", required: bool = False) -> str:
    """A Markdown message of at most 25,000 characters, storable on every database."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput("The message must be text.", field)
    value = value.strip()
    if required and not value:
        raise InvalidInput("A message is required.", field)
    if len(value) > BODY_MAX:
        raise InvalidInput(f"The message must be at most {BODY_MAX:,} characters.", field)
    if not BODY_CONTROL_CHARACTERS.isdisjoint(value):
        raise InvalidInput("The message must not contain control characters (NUL, escape, ...); "
                           "line breaks and tabs are fine.", field)
    if not is_unicode_text(value):
        raise InvalidInput("The message must not contain unpaired surrogates (broken Unicode).", field)
    return value


def parse_time(value: Any, field: str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string with a UTC offset."""
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 time like 2024-08-14T14:30:00Z.",
                               field) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be an ISO 8601 time like 2024-08-14T14:30:00Z.", field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} needs a time zone (e.g. Z or +02:00).", field)
    if not EARLIEST <= value < LATEST:
        raise InvalidInput(f"{field} must be between 1970 and 2999.", field)
    return value


def parse_past_time(value: Any, field: str, now: datetime) -> datetime:
    """A time that is not in the future."""
    when = parse_time(value, field)
    if when > now + CLOCK_SKEW:
        raise InvalidInput(f"{field} cannot be in the future.", field)
    return min(when, now)


def parse_incident_status(value: Any, field: str = "status") -> IncidentStatus:
    try:
        status = IncidentStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in (*UNRESOLVED, IncidentStatus.RESOLVED))
        raise InvalidInput(f"Unknown incident status {value!r}; use one of: {allowed}.", field) from None
    return status


def parse_maintenance_status(value: Any, field: str = "status") -> MaintenanceStatus:
    try:
        return MaintenanceStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in MaintenanceStatus)
        raise InvalidInput(f"Unknown maintenance status {value!r}; use one of: {allowed}.",
                           field) from None


def parse_impact(value: Any, field: str = "impact_override") -> Impact | None:
    if value in (None, ""):
        return None
    try:
        return Impact(value)
    except ValueError:
        allowed = ", ".join(i.value for i in Impact)
        raise InvalidInput(f"Unknown impact {value!r}; use one of: {allowed}.", field) from None


def parse_component_statuses(
    session: Session, mapping: Any, field: str = "components"
) -> list[tuple[Component, ComponentStatus]]:
    """Components and their new statuses from `{component_id: status}`."""
    if mapping in (None, ""):
        return []
    if not isinstance(mapping, Mapping):
        raise InvalidInput("components must map component ids to statuses.", field)
    pairs = []
    for code, status in mapping.items():
        if not isinstance(code, str):
            raise InvalidInput("components must map component ids to statuses.", field)
        pairs.append((get_component(session, code), parse_status(status, f"{field}.{code}")))
    return pairs


def parse_component_codes(session: Session, codes: Any, field: str = "component_ids") -> list[Component]:
    """Components from a list of ids."""
    if codes in (None, ""):
        return []
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        raise InvalidInput("component_ids must be a list of component ids.", field)
    return [get_component(session, code) for code in dict.fromkeys(codes)]


def derive_impact(statuses: Sequence[ComponentStatus]) -> Impact:
    """The impact component statuses call for: the worst of them."""
    return max((IMPACT_FOR_STATUS[s] for s in statuses), key=IMPACT_RANK.__getitem__,
               default=Impact.NONE)


# --- lookups ----------------------------------------------------------------------------------


def _with_timeline(query):
    return query.options(selectinload(Incident.updates), selectinload(Incident.components))


def get_incident(session: Session, code: str) -> Incident:
    """The incident or maintenance with this public id, or NotFound."""
    incident = session.scalars(_with_timeline(select(Incident).where(Incident.code == code))).first()
    if incident is None:
        raise NotFound(f"No incident with id {code!r}.", "incident_id")
    return incident


def unresolved_incidents(session: Session) -> list[Incident]:
    """Open incidents, the most recently updated first."""
    return list(session.scalars(_with_timeline(
        select(Incident)
        .where(Incident.kind == IncidentKind.INCIDENT, Incident.status.in_([s.value for s in UNRESOLVED]))
        .order_by(Incident.updated_at.desc(), Incident.id.desc())
    )))


def maintenances(session: Session, statuses: Sequence[MaintenanceStatus]) -> list[Incident]:
    """Maintenance in the given states, soonest first."""
    return list(session.scalars(_with_timeline(
        select(Incident)
        .where(Incident.kind == IncidentKind.MAINTENANCE, Incident.status.in_([s.value for s in statuses]))
        .order_by(Incident.scheduled_for, Incident.id)
    )))


def recent(session: Session, kind: IncidentKind, limit: int = 50) -> list[Incident]:
    """The newest incidents (or maintenances), resolved ones included."""
    order = Incident.started_at if kind == IncidentKind.INCIDENT else Incident.scheduled_for
    return list(session.scalars(_with_timeline(
        select(Incident).where(Incident.kind == kind).order_by(order.desc(), Incident.id.desc()).limit(limit)
    )))


def history_page(session: Session, page: int, per_page: int = 20) -> tuple[list[Incident], int]:
    """One page of past incidents and maintenance (newest first) and the number of pages."""
    total = session.scalar(select(func.count(Incident.id))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = session.scalars(_with_timeline(
        select(Incident).order_by(Incident.started_at.desc(), Incident.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ))
    return list(items), pages


def for_component(session: Session, component: Component, limit: int = 50) -> list[Incident]:
    """The newest incidents and maintenances that affected one component."""
    return list(session.scalars(_with_timeline(
        select(Incident).where(Incident.components.contains(component))
        .order_by(Incident.started_at.desc(), Incident.id.desc()).limit(limit)
    )))


# --- writing the timeline -----------------------------------------------------------------------


def _apply_statuses(
    session: Session,
    actor: Actor,
    incident: Incident,
    pairs: Sequence[tuple[Component, ComponentStatus]],
    at: datetime,
) -> list[dict[str, Any]]:
    """Set each component's status for this incident; the snapshot Statuspage shows."""
    snapshot = []
    for component, status in pairs:
        snapshot.append({"code": component.code, "name": component.name,
                         "old_status": component.status.value, "new_status": status.value})
        set_status(session, component, status, actor, cause=f"{incident.kind.value} {incident.code}",
                   at=at, incident_id=incident.id)
        if component not in incident.components:
            incident.components.append(component)
    return snapshot


def _add_update(
    session: Session,
    actor: Actor,
    incident: Incident,
    status: str,
    body: str,
    snapshot: list[dict[str, Any]],
    display_at: datetime,
    deliver_notifications: bool,
    now: datetime,
) -> IncidentUpdate:
    update = IncidentUpdate(
        status=status, body=body, display_at=display_at, created_at=now,
        updated_at=now, deliver_notifications=deliver_notifications, user_id=actor.user_id,
        affected_components=snapshot,
    )
    # Keep the loaded timeline in its documented order (newest shown first).
    incident.updates.insert(0, update)
    incident.updates.sort(key=lambda u: u.display_at, reverse=True)
    incident.updated_at = now
    return update


def incident_impact(incident: Incident) -> Impact:
    """The override when one is set, else the worst impact the incident's declared statuses called for
    over its whole timeline (so clearing an override brings the derived impact back)."""
    if incident.impact_override is not None:
        return incident.impact_override
    return derive_impact(overlaps.declared_statuses(incident.updates))


def _restore_pairs(
    session: Session, closing: Incident, given_back: Sequence[Component]
) -> list[tuple[Component, ComponentStatus]]:
    """The components `closing` gives back, each with the status it returns to (when that is a change)."""
    if not given_back:
        return []
    open_incidents = unresolved_incidents(session)
    active = maintenances(session, ACTIVE_MAINTENANCE)
    targets = [(c, overlaps.restored_status(session, c, closing, open_incidents, active)) for c in given_back]
    return [(c, status) for c, status in targets if c.status != status]


def open_incident(
    session: Session,
    actor: Actor,
    *,
    name: Any,
    body: Any,
    status: Any = IncidentStatus.INVESTIGATING,
    impact_override: Any = None,
    component_statuses: Any = None,
    component_codes: Any = None,
    started_at: Any = None,
    deliver_notifications: Any = True,
    now: datetime | None = None,
) -> Incident:
    """Open an incident with its first update and the component statuses it declares."""
    now = now or utcnow()
    name = clean_name(name)
    body = clean_body(body)
    first_status = parse_incident_status(status)
    if first_status == IncidentStatus.POSTMORTEM:
        raise InvalidInput("An incident starts investigating, identified, monitoring or resolved.", "status")
    override = parse_impact(impact_override)
    pairs = parse_component_statuses(session, component_statuses)
    extra = [c for c in parse_component_codes(session, component_codes) if c not in [p[0] for p in pairs]]
    started = parse_past_time(started_at, "started_at", now) if started_at not in (None, "") else now
    notify = parse_bool(deliver_notifications, "deliver_notifications")

    incident = Incident(kind=IncidentKind.INCIDENT, name=name, status=first_status.value,
                        impact_override=override, started_at=started, created_at=now, updated_at=now)
    session.add(incident)
    session.flush()
    incident.components.extend(extra)
    snapshot = _apply_statuses(session, actor, incident, pairs, now)
    if first_status == IncidentStatus.MONITORING:
        incident.monitoring_at = now
    if first_status == IncidentStatus.RESOLVED:
        incident.resolved_at = now
    update = _add_update(session, actor, incident, first_status.value, body, snapshot, now, notify, now)
    incident.impact = incident_impact(incident)
    session.flush()
    if notify:
        queue.incident_event(session, incident, update, first=True)
    audit.record(session, actor, "incident.open", "incident", incident.code,
                 {"name": name, "status": first_status.value, "impact": incident.impact.value})
    bump_version(session)
    return incident


def post_update(
    session: Session,
    actor: Actor,
    incident: Incident,
    *,
    status: Any,
    body: Any,
    component_statuses: Any = None,
    restore_components: Any = True,
    deliver_notifications: Any = True,
    display_at: Any = None,
    impact_override: Any = UNSET,
    name: Any = UNSET,
    now: datetime | None = None,
) -> IncidentUpdate:
    """Add an update to an incident or maintenance, moving its status and components.

    Resolving an incident (or completing a maintenance) gives its affected
    components back, unless the update sets them itself or `restore_components`
    is false: each goes to what overlapping incidents and maintenance still
    declare (overlaps.restored_status), then probes decide for those they watch.
    Clearing the impact override (None or "") brings back the derived impact.
    """
    now = now or utcnow()
    current = incident.status
    if incident.is_maintenance:
        new_status: str = parse_maintenance_status(status).value
        allowed = {s.value for s in MAINTENANCE_NEXT[MaintenanceStatus(current)]}
    else:
        new_status = parse_incident_status(status).value
        allowed = {s.value for s in INCIDENT_NEXT[IncidentStatus(current)]}
    if new_status not in allowed:
        raise InvalidInput(f"A {incident.kind.value} that is {current} cannot become {new_status}.", "status")
    body = clean_body(body)
    pairs = parse_component_statuses(session, component_statuses)
    restore = parse_bool(restore_components, "restore_components")
    notify = parse_bool(deliver_notifications, "deliver_notifications")
    shown_at = parse_past_time(display_at, "display_at", now) if display_at not in (None, "") else now
    override = parse_impact(impact_override) if impact_override is not UNSET else incident.impact_override
    new_name = clean_name(name) if name is not UNSET else incident.name

    closing = new_status in (IncidentStatus.RESOLVED.value, MaintenanceStatus.COMPLETED.value)
    given_back: list[Component] = []
    if closing and restore:
        declared = {c.id for c, _s in pairs}
        given_back = [c for c in incident.components if c.id not in declared]
        pairs += _restore_pairs(session, incident, given_back)
    if new_status == MaintenanceStatus.IN_PROGRESS.value and current != new_status:
        declared = {c.id for c, _s in pairs}
        pairs += [(c, ComponentStatus.UNDER_MAINTENANCE) for c in incident.components if c.id not in declared]

    snapshot = _apply_statuses(session, actor, incident, pairs, now)
    update = _add_update(session, actor, incident, new_status, body, snapshot, shown_at, notify, now)
    incident.status = new_status
    incident.name = new_name
    incident.impact_override = override
    if not incident.is_maintenance:
        incident.impact = incident_impact(incident)
    if new_status == IncidentStatus.MONITORING.value and incident.monitoring_at is None:
        incident.monitoring_at = now
    if new_status == MaintenanceStatus.IN_PROGRESS.value and current == MaintenanceStatus.SCHEDULED.value:
        incident.started_at = now
    if closing and incident.resolved_at is None:
        incident.resolved_at = now
    if not closing and current in (IncidentStatus.RESOLVED.value, MaintenanceStatus.COMPLETED.value):
        incident.resolved_at = None
    session.flush()
    overlaps.let_probes_decide(session, given_back, incident, now)
    if notify:
        queue.incident_event(session, incident, update, first=False)
    audit.record(session, actor, "incident.update", "incident", incident.code,
                 {"from": current, "to": new_status})
    bump_version(session)
    return update


def schedule_maintenance(
    session: Session,
    actor: Actor,
    *,
    name: Any,
    body: Any,
    scheduled_for: Any,
    scheduled_until: Any,
    component_codes: Any = None,
    auto_transition: Any = True,
    deliver_notifications: Any = True,
    now: datetime | None = None,
) -> Incident:
    """Schedule a maintenance window over some components."""
    now = now or utcnow()
    name = clean_name(name)
    body = clean_body(body)
    start, end = parse_window(scheduled_for, scheduled_until, now)
    affected = parse_component_codes(session, component_codes)
    auto = parse_bool(auto_transition, "auto_transition")
    notify = parse_bool(deliver_notifications, "deliver_notifications")

    maintenance = Incident(kind=IncidentKind.MAINTENANCE, name=name, status=MaintenanceStatus.SCHEDULED.value,
                           impact=Impact.MAINTENANCE, started_at=start, scheduled_for=start,
                           scheduled_until=end, auto_transition=auto, created_at=now, updated_at=now)
    session.add(maintenance)
    session.flush()
    maintenance.components.extend(affected)
    update = _add_update(session, actor, maintenance, MaintenanceStatus.SCHEDULED.value, body,
                         [{"code": c.code, "name": c.name, "old_status": c.status.value,
                           "new_status": c.status.value} for c in affected], now, notify, now)
    session.flush()
    if notify:
        queue.incident_event(session, maintenance, update, first=True)
    audit.record(session, actor, "maintenance.schedule", "incident", maintenance.code,
                 {"name": name, "scheduled_for": start.isoformat(), "scheduled_until": end.isoformat()})
    bump_version(session)
    return maintenance


def parse_window(scheduled_for: Any, scheduled_until: Any, now: datetime) -> tuple[datetime, datetime]:
    """A maintenance window's edges, checked the same way when scheduling and rescheduling."""
    start = parse_time(scheduled_for, "scheduled_for")
    end = parse_time(scheduled_until, "scheduled_until")
    if end <= start:
        raise InvalidInput("The maintenance must end after it starts.", "scheduled_until")
    if end - start > MAINTENANCE_MAX_WINDOW:
        raise InvalidInput("A maintenance window can last at most 30 days.", "scheduled_until")
    if start > now + MAINTENANCE_MAX_AHEAD:
        raise InvalidInput("A maintenance can be scheduled at most a year ahead.", "scheduled_for")
    if end <= now:
        raise InvalidInput("The maintenance window is already over.", "scheduled_until")
    return start, end


def reschedule_maintenance(
    session: Session,
    actor: Actor,
    maintenance: Incident,
    *,
    scheduled_for: Any,
    scheduled_until: Any,
    deliver_notifications: Any = False,
    now: datetime | None = None,
) -> Incident:
    """Move a maintenance window's edges without posting an update.

    A scheduled window may move both edges; once it has begun only its end may
    move (and must stay ahead of now); a completed one is final. An unchanged
    window records nothing. With `deliver_notifications`, subscribers are sent
    the latest update again with the new window.
    """
    now = now or utcnow()
    if not maintenance.is_maintenance:
        raise InvalidInput("Only a maintenance has a window to reschedule.", "incident_id")
    status = MaintenanceStatus(maintenance.status)
    notify = parse_bool(deliver_notifications, "deliver_notifications")
    start, end = parse_time(scheduled_for, "scheduled_for"), parse_time(scheduled_until, "scheduled_until")
    if (start, end) == (maintenance.scheduled_for, maintenance.scheduled_until):
        return maintenance  # a client sending the window back as it read it asks for nothing
    if status == MaintenanceStatus.COMPLETED:
        raise InvalidInput("A completed maintenance cannot be rescheduled.", "status")
    if status != MaintenanceStatus.SCHEDULED and start != maintenance.scheduled_for:
        raise InvalidInput("The maintenance has begun: only scheduled_until can move.", "scheduled_for")
    start, end = parse_window(start, end, now)
    before = {"scheduled_for": _iso(maintenance.scheduled_for), "scheduled_until": _iso(maintenance.scheduled_until)}
    maintenance.scheduled_for, maintenance.scheduled_until = start, end
    if status == MaintenanceStatus.SCHEDULED:
        maintenance.started_at = start
    maintenance.updated_at = now
    session.flush()
    if notify and maintenance.updates:
        queue.incident_event(session, maintenance, maintenance.updates[0], first=False)
    audit.record(session, actor, "maintenance.reschedule", "incident", maintenance.code,
                 {"from": before, "to": {"scheduled_for": start.isoformat(), "scheduled_until": end.isoformat()}})
    bump_version(session)
    return maintenance


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def due_maintenance(session: Session, now: datetime) -> Incident | None:
    """One maintenance whose window edge has passed and that moves on its own, or None."""
    return session.scalars(_with_timeline(
        select(Incident).where(
            Incident.kind == IncidentKind.MAINTENANCE,
            Incident.auto_transition.is_(True),
            (
                (Incident.status == MaintenanceStatus.SCHEDULED.value) & (Incident.scheduled_for <= now)
            ) | (
                Incident.status.in_([s.value for s in ACTIVE_MAINTENANCE]) & (Incident.scheduled_until <= now)
            ),
        ).order_by(Incident.scheduled_for, Incident.id).limit(1)
    )).first()


def advance_maintenance(session: Session, maintenance: Incident, now: datetime) -> IncidentUpdate:
    """Move a maintenance across the window edge it has reached."""
    actor = Actor.system("maintenance", "scheduled maintenance")
    if maintenance.status == MaintenanceStatus.SCHEDULED.value and now < maintenance.scheduled_until:
        target = MaintenanceStatus.IN_PROGRESS
    else:
        target = MaintenanceStatus.COMPLETED
    if target == MaintenanceStatus.COMPLETED and maintenance.status == MaintenanceStatus.SCHEDULED.value:
        # The whole window passed unseen (worker down): record both edges.
        post_update(session, actor, maintenance, status=MaintenanceStatus.IN_PROGRESS,
                    body=AUTO_MESSAGES[MaintenanceStatus.IN_PROGRESS], now=now)
    return post_update(session, actor, maintenance, status=target, body=AUTO_MESSAGES[target], now=now)


def edit_update(
    session: Session,
    actor: Actor,
    update: IncidentUpdate,
    body: Any = UNSET,
    display_at: Any = UNSET,
    deliver_notifications: Any = UNSET,
    now: datetime | None = None,
) -> IncidentUpdate:
    """Correct a past update's text or shown time (its status and components stay)."""
    now = now or utcnow()
    if body is not UNSET:
        update.body = clean_body(body, required=True)
    if display_at is not UNSET:
        update.display_at = parse_past_time(display_at, "display_at", now)
    if deliver_notifications is not UNSET:
        update.deliver_notifications = parse_bool(deliver_notifications, "deliver_notifications")
    update.updated_at = now
    update.incident.updated_at = now
    audit.record(session, actor, "incident.edit_update", "incident_update", update.code, {})
    bump_version(session)
    return update


def change_details(
    session: Session, actor: Actor, incident: Incident, name: Any = UNSET, impact_override: Any = UNSET
) -> Incident:
    """Rename an incident or override its impact without posting an update."""
    changed: dict[str, Any] = {}
    if name is not UNSET:
        incident.name = changed["name"] = clean_name(name)
    if impact_override is not UNSET:
        override = parse_impact(impact_override)
        incident.impact_override = override
        if not incident.is_maintenance:
            incident.impact = incident_impact(incident)
        changed["impact_override"] = override.value if override else None
    incident.updated_at = utcnow()
    audit.record(session, actor, "incident.change", "incident", incident.code, changed)
    bump_version(session)
    return incident


def delete_incident(session: Session, actor: Actor, incident: Incident) -> None:
    """Delete an incident or maintenance and its timeline (component statuses stay as they are)."""
    audit.record(session, actor, "incident.delete", "incident", incident.code, {"name": incident.name})
    session.delete(incident)
    bump_version(session)


def page_impacts(
    session: Session,
    unresolved: Sequence[Incident] | None = None,
    active: Sequence[Incident] | None = None,
) -> list[str]:
    """Impacts that raise the page indicator: open incidents and maintenance in progress.

    A caller that has loaded `unresolved_incidents` and the active `maintenances`
    already passes them, so they are not read twice.
    """
    if unresolved is None:
        unresolved = unresolved_incidents(session)
    if active is None:
        active = maintenances(session, ACTIVE_MAINTENANCE)
    impacts = [i.impact.value for i in unresolved]
    if active:
        impacts.append("maintenance")
    return impacts
