"""Maintenance windows: scheduling, rescheduling, and the worker moving a window across its edges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.incidents.lifecycle import add_update, post_update
from statuspage.incidents.lookups import with_timeline
from statuspage.incidents.rules import ACTIVE_MAINTENANCE, clean_body, parse_component_codes, parse_time, parse_window
from statuspage.inputs import Flag, Moment, clean_name, parse_bool
from statuspage.models import (
    Impact,
    Incident,
    IncidentKind,
    IncidentUpdate,
    MaintenanceStatus,
)
from statuspage.outbox import queue
from statuspage.page.record import bump_version

AUTO_MESSAGES = {
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is currently in progress. We will provide "
                                   "updates as necessary.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}


def schedule_maintenance(
    session: Session,
    actor: Actor,
    *,
    name: str | None,
    body: str | None,
    scheduled_for: Moment | None,
    scheduled_until: Moment | None,
    component_codes: Sequence[str] | None = None,
    auto_transition: Flag = True,
    deliver_notifications: Flag = True,
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

    maintenance = Incident(kind=IncidentKind.MAINTENANCE, name=name, status=MaintenanceStatus.SCHEDULED,
                           impact=Impact.MAINTENANCE, started_at=start, scheduled_for=start,
                           scheduled_until=end, auto_transition=auto, created_at=now, updated_at=now)
    session.add(maintenance)
    session.flush()
    maintenance.components.extend(affected)
    update = add_update(session, actor, maintenance, MaintenanceStatus.SCHEDULED, body,
                         [{"code": c.code, "name": c.name, "old_status": c.status.value,
                           "new_status": c.status.value} for c in affected], now, notify, now)
    session.flush()
    if notify:
        queue.incident_event(session, maintenance, update, first=True)
    audit.record(session, actor, "maintenance.schedule", "incident", maintenance.code,
                 {"name": name, "scheduled_for": start.isoformat(), "scheduled_until": end.isoformat()})
    bump_version(session)
    return maintenance


def reschedule_maintenance(
    session: Session,
    actor: Actor,
    maintenance: Incident,
    *,
    scheduled_for: Moment | None,
    scheduled_until: Moment | None,
    deliver_notifications: Flag = False,
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


def _window_end(maintenance: Incident) -> datetime:
    """When a maintenance window ends; scheduling, rescheduling and the importer always set it."""
    if maintenance.scheduled_until is None:
        raise ValueError(f"maintenance {maintenance.code} has no scheduled_until")
    return maintenance.scheduled_until


def due_maintenance(session: Session, now: datetime) -> Incident | None:
    """One maintenance whose window edge has passed and that moves on its own, or None."""
    return session.scalars(with_timeline(
        select(Incident).where(
            Incident.kind == IncidentKind.MAINTENANCE,
            Incident.auto_transition.is_(True),
            (
                (Incident.status == MaintenanceStatus.SCHEDULED) & (Incident.scheduled_for <= now)
            ) | (
                Incident.status.in_(ACTIVE_MAINTENANCE) & (Incident.scheduled_until <= now)
            ),
        ).order_by(Incident.scheduled_for, Incident.id).limit(1)
    )).first()


def advance_maintenance(session: Session, maintenance: Incident, now: datetime) -> IncidentUpdate:
    """Move a maintenance across the window edge it has reached."""
    actor = Actor.system("maintenance", "scheduled maintenance")
    if maintenance.status == MaintenanceStatus.SCHEDULED and now < _window_end(maintenance):
        target = MaintenanceStatus.IN_PROGRESS
    else:
        target = MaintenanceStatus.COMPLETED
    if target == MaintenanceStatus.COMPLETED and maintenance.status == MaintenanceStatus.SCHEDULED:
        # The whole window passed unseen (worker down): record both edges.
        post_update(session, actor, maintenance, status=MaintenanceStatus.IN_PROGRESS,
                    body=AUTO_MESSAGES[MaintenanceStatus.IN_PROGRESS], now=now)
    return post_update(session, actor, maintenance, status=target, body=AUTO_MESSAGES[target], now=now)
