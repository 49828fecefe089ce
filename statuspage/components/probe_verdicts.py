"""What the probes of a component ask of it, and setting it to that.

Low in the layers on purpose: probes apply checks through it, and the
incident lifecycle hands components back to it when an incident ends,
without either package importing the other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.components.status_rules import set_status, worst_status
from statuspage.models import Component, ComponentStatus, Probe, ProbeKind, StatusChange

PROBE_ACTOR = Actor.system("probe", "probes")


def alert_statuses(probe: Probe, component_id: int) -> list[ComponentStatus]:
    """The statuses an alert webhook's firing alerts ask of one component."""
    firing = (probe.options or {}).get("firing") or {}
    return [ComponentStatus(a["status"]) for a in firing.values() if a.get("component_id") == component_id]


def desired_status(session: Session, component: Component) -> ComponentStatus:
    """The worst verdict of the component's active probes and of alerts firing for it."""
    verdicts = list(session.scalars(
        select(Probe.verdict).where(Probe.component_id == component.id, Probe.paused.is_(False),
                                    Probe.kind != ProbeKind.ALERTMANAGER.value)
    ))
    for probe in session.scalars(select(Probe).where(Probe.kind == ProbeKind.ALERTMANAGER.value,
                                                     Probe.paused.is_(False))):
        verdicts += alert_statuses(probe, component.id)
    return worst_status(ComponentStatus(v) for v in verdicts)


def follow_verdicts(
    session: Session, component: Component, *, at: datetime, cause: str, alert: bool = True
) -> tuple[ComponentStatus, StatusChange] | None:
    """Set the component to what its probes ask, unless it is pinned or under maintenance.

    1. Lock the component row (PostgreSQL), so two workers applying checks
       of two probes of one component combine each other's verdicts.
    2. Combine: the worst verdict of its probes and firing alerts.
    3. A pinned component (and one under maintenance) keeps its status:
       the checks and verdicts are recorded, nothing else changes.
    Returns the status before and the change, or None when nothing changed.
    """
    session.execute(select(Component.id).where(Component.id == component.id).with_for_update())
    desired = desired_status(session, component)
    if component.pinned or component.status == ComponentStatus.UNDER_MAINTENANCE:
        return None
    before = ComponentStatus(component.status)
    change = set_status(session, component, desired, PROBE_ACTOR, cause=cause[:255], at=at, alert=alert)
    return None if change is None else (before, change)
