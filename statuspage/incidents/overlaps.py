"""What a component returns to when one incident or maintenance ends while others still cover it.

Incidents and maintenance windows overlap: two incidents may declare the same
component down, a maintenance may start while an incident is open. Ending one
of them must not undo what the others still declare, so the status it leaves
behind is worked out here (docs/design-notes.md, "Overlapping incidents and
maintenance").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.components.probe_verdicts import follow_verdicts
from statuspage.components.status_rules import worst_status
from statuspage.models import Component, ComponentStatus, Incident, IncidentUpdate, Probe, StatusChange

STATUS_VALUES = frozenset(s.value for s in ComponentStatus)


def declared_statuses(updates: Iterable[IncidentUpdate]) -> list[ComponentStatus]:
    """Every component status these updates declared, as their snapshots recorded them."""
    return [ComponentStatus(entry["new_status"]) for update in updates for entry in update.affected_components
            if entry.get("new_status") in STATUS_VALUES]


def latest_declared(incident: Incident, component: Component) -> ComponentStatus | None:
    """The status the incident's most recent update naming this component declared for it, or None."""
    for update in sorted(incident.updates, key=lambda u: (u.created_at, u.id or 0), reverse=True):
        for entry in update.affected_components:
            if entry.get("code") == component.code and entry.get("new_status") in STATUS_VALUES:
                return ComponentStatus(entry["new_status"])
    return None


def restored_status(
    session: Session,
    component: Component,
    closing: Incident,
    open_incidents: Sequence[Incident],
    active_maintenance: Sequence[Incident],
) -> ComponentStatus:
    """The status a component goes to when `closing` resolves (incident) or completes (maintenance).

    1. The worst status the other unresolved incidents still declare for it
       (each one's latest declaration; declaring operational holds nothing).
    2. Else under maintenance, if another maintenance in progress covers it.
    3. Else, when a maintenance ends, the status it had as the window began,
       unless an incident or maintenance (closed by now) had set that status.
    4. Else operational.
    `open_incidents` and `active_maintenance` may include `closing`; it is skipped.
    """
    held = [latest_declared(i, component) for i in open_incidents if i.id != closing.id]
    held_down = [s for s in held if s not in (None, ComponentStatus.OPERATIONAL)]
    if held_down:
        return worst_status(held_down)
    if any(m.id != closing.id and component in m.components for m in active_maintenance):
        return ComponentStatus.UNDER_MAINTENANCE
    if closing.is_maintenance:
        return _status_before_window(session, component, closing)
    return ComponentStatus.OPERATIONAL


def _status_before_window(session: Session, component: Component, maintenance: Incident) -> ComponentStatus:
    """What the component was before this maintenance put it under maintenance (see restored_status, 3)."""
    went_under = session.scalars(
        select(StatusChange).where(StatusChange.component_id == component.id,
                                   StatusChange.incident_id == maintenance.id,
                                   StatusChange.to_status == ComponentStatus.UNDER_MAINTENANCE.value)
        .order_by(StatusChange.id).limit(1)
    ).first()
    if went_under is None:  # the window never held it (cancelled before it began): nothing to give back
        before = ComponentStatus(component.status)
    elif _set_by_an_incident(session, went_under):
        before = ComponentStatus.OPERATIONAL
    else:
        before = ComponentStatus(went_under.from_status or ComponentStatus.OPERATIONAL)
    # Another window that held it has ended too (rule 2 found none still active).
    return ComponentStatus.OPERATIONAL if before == ComponentStatus.UNDER_MAINTENANCE else before


def _set_by_an_incident(session: Session, change: StatusChange) -> bool:
    """Whether the status a change moved away from was itself set by an incident or maintenance."""
    previous = session.scalars(
        select(StatusChange.incident_id).where(StatusChange.component_id == change.component_id,
                                               StatusChange.id < change.id)
        .order_by(StatusChange.id.desc()).limit(1)
    ).first()
    return previous is not None


def let_probes_decide(
    session: Session, components: Sequence[Component], closing: Incident, at: datetime
) -> list[Component]:
    """Hand the components that probes watch back to them once `closing` has given them back.

    A pinned component, or one still under maintenance, keeps its status
    (components.probe_verdicts). Returns those that probes found operational again,
    for the lifecycle to follow up the probe-opened incidents still open for them.
    """
    ids = [c.id for c in components]
    if not ids:
        return []
    watched = set(session.scalars(
        select(Probe.component_id).where(Probe.component_id.in_(ids), Probe.paused.is_(False))
    ))
    recovered = []
    for component in components:
        if component.id not in watched:
            continue
        followed = follow_verdicts(session, component, at=at,
                                   cause=f"probes, after {closing.kind.value} {closing.code}")
        if followed and followed[1].to_status == ComponentStatus.OPERATIONAL:
            recovered.append(component)
    return recovered
