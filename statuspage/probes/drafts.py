"""Incidents that probes open: drafts for a responder to publish, or published at once.

A probe's `auto_incident` says what happens when its checks take a
component into an outage: `off` (nothing), `draft` (an IncidentDraft a
responder publishes with one click) or `publish` (an incident opened at
once). Either way the incident's `started_at` is the first failing check,
and no second draft or incident is opened while one is open for the
component. Every auto-opened incident is remembered as a draft row in
state "published", which is how recovery finds it to post "monitoring".
When the component is operational again, a draft still waiting is set
aside as "recovered" (no one should publish an outage that is over), and
the admin lists it as such.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from statuspage import audit
from statuspage.audit import Actor
from statuspage.components.status_rules import OUTAGES
from statuspage.db import utcnow
from statuspage.errors import Conflict, NotFound
from statuspage.incidents import lifecycle, rules
from statuspage.models import (
    AlertEvent,
    AutoIncident,
    Component,
    ComponentStatus,
    DraftState,
    Incident,
    IncidentComponent,
    IncidentDraft,
    IncidentKind,
    IncidentStatus,
    Probe,
    StatusChange,
)
from statuspage.models.base import NAME_MAX
from statuspage.outbox import alerts
from statuspage.page.record import local_time

# How long the admin keeps listing drafts whose component recovered before anyone published them.
RECOVERED_SHOWN = timedelta(days=1)


def title(component: Component) -> str:
    """The proposed incident's name, cut to fit a name (components may have long names)."""
    name = f"Elevated errors on {component.name}"
    return name if len(name) <= NAME_MAX else name[:NAME_MAX - 1] + "…"


def _body(session: Session, component: Component, started: datetime) -> str:
    local = local_time(session, started)
    return (f"We are investigating elevated errors on {component.name}. Our monitoring has seen failing "
            f"checks since {local:%H:%M %Z} on {local:%b %d}.")


def open_incident_for(session: Session, component: Component) -> Incident | None:
    """An unresolved incident that affects this component, if any."""
    return session.scalars(
        select(Incident)
        .join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(IncidentComponent.component_id == component.id, Incident.kind == IncidentKind.INCIDENT,
               Incident.status.in_([s.value for s in rules.UNRESOLVED]))
        .limit(1)
    ).first()


def open_draft_for(session: Session, component: Component) -> IncidentDraft | None:
    """The draft waiting for a responder for this component, if any."""
    return session.scalars(select(IncidentDraft).where(IncidentDraft.component_id == component.id,
                                                       IncidentDraft.state == DraftState.OPEN).limit(1)).first()


def after_status_change(
    session: Session,
    component: Component,
    before: ComponentStatus,
    after: ComponentStatus,
    *,
    probe: Probe | None,
    at: datetime,
) -> AlertEvent | None:
    """Open a draft or incident when probes start an outage; follow up when the component is operational
    again, whether it recovers at once or by way of degraded performance. Returns the alert event that
    told responders of the outage (a draft proposed, an incident opened), if one did."""
    if after in OUTAGES and before not in OUTAGES and probe is not None:
        return _auto_open(session, component, after, probe, at)
    if after == ComponentStatus.OPERATIONAL and before != ComponentStatus.OPERATIONAL:
        lifecycle.follow_up_recovery(session, component, at)
    return None


def _auto_open(session: Session, component: Component, status: ComponentStatus, probe: Probe,
               at: datetime) -> AlertEvent | None:
    mode = AutoIncident(probe.auto_incident)
    if mode == AutoIncident.OFF:
        return None
    if open_draft_for(session, component) or open_incident_for(session, component):
        return None
    started = min(probe.first_failure_at or at, at)
    draft = IncidentDraft(component_id=component.id, probe_id=probe.id, name=title(component),
                          body=_body(session, component, started), status=status, started_at=started, created_at=at)
    session.add(draft)
    if mode == AutoIncident.PUBLISH and probe.publish_after_minutes:
        # Customers hear once the outage has lasted this long; responders hear now (the alert below).
        draft.publish_at = max(at, started + timedelta(minutes=probe.publish_after_minutes))
    elif mode == AutoIncident.PUBLISH:
        _publish_now(session, draft, component, status, at)
    session.flush()
    if draft.state == DraftState.OPEN:
        alerts.draft_proposed(session, draft, component, at)
        return AlertEvent.DRAFT_PROPOSED
    return AlertEvent.INCIDENT_OPENED


def _publish_now(session: Session, draft: IncidentDraft, component: Component, status: ComponentStatus,
                 at: datetime) -> Incident:
    incident = lifecycle.open_incident(session, lifecycle.PROBES, name=draft.name, body=draft.body,
                                       status=IncidentStatus.INVESTIGATING,
                                       component_statuses={component.code: status.value},
                                       started_at=draft.started_at, now=at)
    draft.state, draft.incident_id = DraftState.PUBLISHED, incident.id
    return incident


def publish_one_due(session: Session, now: datetime) -> IncidentDraft | None:
    """Publish one delayed draft whose time has come (the worker's step); its component is still down,
    or the draft would have been set aside as recovered."""
    draft = session.scalars(
        select(IncidentDraft).where(IncidentDraft.state == DraftState.OPEN, IncidentDraft.publish_at <= now)
        .order_by(IncidentDraft.publish_at, IncidentDraft.id).limit(1)
    ).first()
    if draft is None:
        return None
    component = draft.component
    if open_incident_for(session, component) is not None:
        draft.state = DraftState.DISMISSED  # a responder opened one meanwhile: theirs speaks for it
        return draft
    status = component.status if component.status in OUTAGES else ComponentStatus(draft.status)
    _publish_now(session, draft, component, status, now)
    return draft


def resolve_one_recovered(session: Session, now: datetime) -> Incident | None:
    """Resolve one probe-opened incident in `monitoring` whose probe asks for it (`auto_resolve_minutes`)
    once its component has been operational that long (the worker's step)."""
    candidates = session.execute(
        select(IncidentDraft, Probe.auto_resolve_minutes)
        .join(Probe, Probe.id == IncidentDraft.probe_id)
        .join(Incident, Incident.id == IncidentDraft.incident_id)
        .where(IncidentDraft.state == DraftState.PUBLISHED, Probe.auto_resolve_minutes.is_not(None),
               Incident.status == IncidentStatus.MONITORING.value)
        .order_by(Incident.monitoring_at)
    ).all()
    for draft, minutes in candidates:
        component = draft.component
        if component.status != ComponentStatus.OPERATIONAL:
            continue
        since = session.scalar(select(func.max(StatusChange.at)).where(StatusChange.component_id == component.id))
        if since is not None and since > now - timedelta(minutes=minutes or 0):
            continue
        incident = session.get(Incident, draft.incident_id)
        if incident is None:
            continue
        lifecycle.post_update(
            session, lifecycle.PROBES, incident, status=IncidentStatus.RESOLVED, now=now,
            body=f"Checks on {component.name} have passed for {minutes} minutes. This incident is resolved.")
        return incident
    return None


# --- responders' side ----------------------------------------------------------------------------


def open_drafts(session: Session) -> list[IncidentDraft]:
    """Drafts waiting for a responder, newest first."""
    return list(session.scalars(
        select(IncidentDraft).options(selectinload(IncidentDraft.component))
        .where(IncidentDraft.state == DraftState.OPEN)
        .order_by(IncidentDraft.created_at.desc(), IncidentDraft.id.desc())
    ))


def recovered_drafts(session: Session, now: datetime) -> list[IncidentDraft]:
    """Drafts of the last day whose component recovered before anyone published them, newest first."""
    return list(session.scalars(
        select(IncidentDraft).options(selectinload(IncidentDraft.component))
        .where(IncidentDraft.state == DraftState.RECOVERED, IncidentDraft.created_at >= now - RECOVERED_SHOWN)
        .order_by(IncidentDraft.created_at.desc(), IncidentDraft.id.desc()).limit(20)
    ))


def get_draft(session: Session, code: str) -> IncidentDraft:
    """The draft with this public id, or NotFound."""
    draft = session.scalars(select(IncidentDraft).where(IncidentDraft.code == code)).first()
    if draft is None:
        raise NotFound(f"No incident draft with id {code!r}.", "draft_id")
    return draft


def _must_be_open(draft: IncidentDraft) -> None:
    if draft.state != DraftState.OPEN:
        raise Conflict(f"This draft was already {draft.state}.", "draft_id")


def publish_draft(session: Session, actor: Actor, draft: IncidentDraft, now: datetime, *,
                  notify: bool = True) -> Incident:
    """Open the drafted incident, started at the first failing check (one click in the admin).

    `notify=False` opens it without telling subscribers (the demo replay must never email anyone).
    """
    _must_be_open(draft)
    component = draft.component
    existing = open_incident_for(session, component)
    if existing is not None:
        raise Conflict(f"{existing.name!r} is already open for {component.name}; dismiss this draft or "
                       "update that incident.", "draft_id")
    down = component.status not in (ComponentStatus.OPERATIONAL, ComponentStatus.UNDER_MAINTENANCE)
    incident = lifecycle.open_incident(
        session, actor, name=draft.name, body=draft.body, status=IncidentStatus.INVESTIGATING,
        component_statuses={component.code: component.status.value} if down else None,
        component_codes=None if down else [component.code],
        started_at=min(draft.started_at, now), deliver_notifications=notify, now=now,
    )
    draft.state, draft.incident_id = DraftState.PUBLISHED, incident.id
    audit.record(session, actor, "incident_draft.publish", "incident_draft", draft.code,
                 {"incident": incident.code})
    return incident


def dismiss_draft(session: Session, actor: Actor, draft: IncidentDraft) -> None:
    """Set a draft aside without publishing it."""
    _must_be_open(draft)
    draft.state = DraftState.DISMISSED
    alerts.draft_closed(session, draft, draft.component, "dismissed", utcnow())
    audit.record(session, actor, "incident_draft.dismiss", "incident_draft", draft.code, {"name": draft.name})
