"""The incident lifecycle: opening, updates, corrections, deletion (maintenance windows add theirs in maintenance).

Each function is one state change written in the caller's transaction:
the incident, its update, the component statuses it sets (through
`components.set_status`, so history rows follow), the audit row and the
page version.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.components.status_rules import set_status
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.incidents import overlaps
from statuspage.incidents.lookups import get_incident, maintenances, unresolved_incidents
from statuspage.incidents.rules import (
    ACTIVE_MAINTENANCE,
    INCIDENT_NEXT,
    MAINTENANCE_NEXT,
    ComponentStatuses,
    clean_body,
    derive_impact,
    parse_component_codes,
    parse_component_statuses,
    parse_impact,
    parse_incident_status,
    parse_maintenance_status,
    parse_past_time,
)
from statuspage.inputs import UNSET, Flag, Moment, Unset, clean_name, parse_bool
from statuspage.models import (
    Component,
    ComponentStatus,
    DraftState,
    Impact,
    Incident,
    IncidentDraft,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceStatus,
    UpdateStatus,
)
from statuspage.outbox import alerts, queue
from statuspage.page.record import bump_version, local_time

# Who speaks when probes follow up an incident they opened.
PROBES = Actor.system("probe", "probes")


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


def add_update(
    session: Session,
    actor: Actor,
    incident: Incident,
    status: UpdateStatus,
    body: str,
    snapshot: list[dict[str, Any]],
    display_at: datetime,
    deliver_notifications: bool,
    now: datetime,
) -> IncidentUpdate:
    """Append an update to the incident's timeline, keeping the loaded timeline newest first."""
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
    name: str | None,
    body: str | None,
    status: IncidentStatus | str = IncidentStatus.INVESTIGATING,
    impact_override: Impact | str | None = None,
    component_statuses: ComponentStatuses | None = None,
    component_codes: Sequence[str] | None = None,
    started_at: Moment | None = None,
    deliver_notifications: Flag = True,
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

    incident = Incident(kind=IncidentKind.INCIDENT, name=name, status=first_status,
                        impact_override=override, started_at=started, created_at=now, updated_at=now)
    session.add(incident)
    session.flush()
    incident.components.extend(extra)
    snapshot = _apply_statuses(session, actor, incident, pairs, now)
    if first_status == IncidentStatus.MONITORING:
        incident.monitoring_at = now
    if first_status == IncidentStatus.RESOLVED:
        incident.resolved_at = now
    update = add_update(session, actor, incident, first_status, body, snapshot, now, notify, now)
    incident.impact = incident_impact(incident)
    session.flush()
    if notify:
        queue.incident_event(session, incident, update, first=True)
    alerts.incident_changed(session, incident, update, first=True)  # responders hear even of a quiet one
    audit.record(session, actor, "incident.open", "incident", incident.code,
                 {"name": name, "status": first_status.value, "impact": incident.impact.value})
    bump_version(session)
    return incident


def post_update(
    session: Session,
    actor: Actor,
    incident: Incident,
    *,
    status: UpdateStatus | str | None,
    body: str | None,
    component_statuses: ComponentStatuses | None = None,
    restore_components: Flag = True,
    deliver_notifications: Flag = True,
    display_at: Moment | None = None,
    impact_override: Impact | str | None | Unset = UNSET,
    name: str | Unset = UNSET,
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
    new_status: UpdateStatus
    allowed: Collection[UpdateStatus]
    if incident.is_maintenance:
        new_status = parse_maintenance_status(status)
        allowed = MAINTENANCE_NEXT[MaintenanceStatus(current)]
    else:
        new_status = parse_incident_status(status)
        allowed = INCIDENT_NEXT[IncidentStatus(current)]
    if new_status not in allowed:
        raise InvalidInput(f"A {incident.kind.value} that is {current} cannot become {new_status}.", "status")
    body = clean_body(body)
    pairs = parse_component_statuses(session, component_statuses)
    restore = parse_bool(restore_components, "restore_components")
    notify = parse_bool(deliver_notifications, "deliver_notifications")
    shown_at = parse_past_time(display_at, "display_at", now) if display_at not in (None, "") else now
    override = parse_impact(impact_override) if impact_override is not UNSET else incident.impact_override
    new_name = clean_name(name) if name is not UNSET else incident.name

    closing = new_status in (IncidentStatus.RESOLVED, MaintenanceStatus.COMPLETED)
    given_back: list[Component] = []
    if closing and restore:
        declared = {c.id for c, _s in pairs}
        given_back = [c for c in incident.components if c.id not in declared]
        pairs += _restore_pairs(session, incident, given_back)
    if new_status == MaintenanceStatus.IN_PROGRESS and current != new_status:
        declared = {c.id for c, _s in pairs}
        pairs += [(c, ComponentStatus.UNDER_MAINTENANCE) for c in incident.components if c.id not in declared]

    snapshot = _apply_statuses(session, actor, incident, pairs, now)
    update = add_update(session, actor, incident, new_status, body, snapshot, shown_at, notify, now)
    incident.status = new_status
    incident.name = new_name
    incident.impact_override = override
    if not incident.is_maintenance:
        incident.impact = incident_impact(incident)
    if new_status == IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = now
    if new_status == MaintenanceStatus.IN_PROGRESS and current == MaintenanceStatus.SCHEDULED:
        incident.started_at = now
    if closing and incident.resolved_at is None:
        incident.resolved_at = now
    if not closing and current in (IncidentStatus.RESOLVED, MaintenanceStatus.COMPLETED):
        incident.resolved_at = None
    session.flush()
    for component in overlaps.let_probes_decide(session, given_back, incident, now):
        follow_up_recovery(session, component, now)
    if notify:
        queue.incident_event(session, incident, update, first=False)
    alerts.incident_changed(session, incident, update, first=False)
    audit.record(session, actor, "incident.update", "incident", incident.code,
                 {"from": current.value, "to": new_status.value})
    bump_version(session)
    return update


def edit_update(
    session: Session,
    actor: Actor,
    update: IncidentUpdate,
    body: str | Unset = UNSET,
    display_at: Moment | Unset = UNSET,
    deliver_notifications: Flag | Unset = UNSET,
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
    session: Session, actor: Actor, incident: Incident, name: str | Unset = UNSET,
    impact_override: Impact | str | None | Unset = UNSET,
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


def follow_up_recovery(session: Session, component: Component, at: datetime) -> None:
    """Checks pass again on `component`: set aside its drafts still waiting, and post "monitoring" on
    the probe-opened incidents of it still being investigated."""
    for draft in session.scalars(select(IncidentDraft).where(IncidentDraft.component_id == component.id,
                                                             IncidentDraft.state == DraftState.OPEN)):
        draft.state = DraftState.RECOVERED
        alerts.draft_closed(session, draft, component, "recovered", at)
    codes = session.scalars(
        select(Incident.code).join(IncidentDraft, IncidentDraft.incident_id == Incident.id)
        .where(IncidentDraft.component_id == component.id, IncidentDraft.state == DraftState.PUBLISHED,
               Incident.status.in_([IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED]))
    )
    for code in list(dict.fromkeys(codes)):
        post_update(session, PROBES, get_incident(session, code), status=IncidentStatus.MONITORING,
                    body=f"Checks on {component.name} have been passing since "
                    f"{local_time(session, at):%H:%M %Z}. We are monitoring the recovery.", now=at)
