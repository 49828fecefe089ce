"""Component status rules: severity, labels, the page indicator, and `set_status`, the one writer of a status.

The StatusChange row `set_status` appends is the history, the uptime input and the timeline event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.inputs import member_of
from statuspage.models import Component, ComponentStatus, StatusChange
from statuspage.outbox import alerts, component_updates
from statuspage.page.record import bump_version

# Worse statuses sort later; maintenance is planned, so it ranks below any outage.
SEVERITY = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}

STATUS_LABELS = {
    ComponentStatus.OPERATIONAL: "Operational",
    ComponentStatus.DEGRADED_PERFORMANCE: "Degraded Performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial Outage",
    ComponentStatus.MAJOR_OUTAGE: "Major Outage",
    ComponentStatus.UNDER_MAINTENANCE: "Under Maintenance",
}

INDICATOR_DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
# The statuses of a component that is down, in part or wholly.
OUTAGES = (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE)
# The impact of an incident in `monitoring` whose components are all operational again: the fix is out and
# holding, so it raises the page to `minor` at most, and when nothing worse is wrong the page says so.
RECOVERING = "recovering"
RECOVERING_DESCRIPTION = "Recovering from an Incident"


def parse_status(value: object, field: str = "status") -> ComponentStatus:
    """A component status from its Statuspage name."""
    status = member_of(ComponentStatus, value)
    if status is not None:
        return status
    allowed = ", ".join(s.value for s in ComponentStatus)
    raise InvalidInput(f"Unknown status {value!r}; use one of: {allowed}.", field)



def worst_status(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    """The most severe status of several (operational when there are none)."""
    return max(statuses, key=SEVERITY.__getitem__, default=ComponentStatus.OPERATIONAL)


def indicator_for_components(statuses: Sequence[ComponentStatus]) -> str:
    """The page indicator the component statuses alone call for.

    Any degradation or partial outage is `minor`; a major outage of some
    components is `major` ("Partial System Outage"); of every component,
    `critical`. Maintenance alone is `maintenance`.
    """
    if not statuses:
        return "none"
    worst = worst_status(statuses)
    if worst == ComponentStatus.MAJOR_OUTAGE:
        all_down = all(s == ComponentStatus.MAJOR_OUTAGE for s in statuses)
        return "critical" if all_down else "major"
    if worst in (ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.DEGRADED_PERFORMANCE):
        return "minor"
    if worst == ComponentStatus.UNDER_MAINTENANCE:
        return "maintenance"
    return "none"


def page_indicator(
    statuses: Sequence[ComponentStatus], incident_impacts: Iterable[str] = ()
) -> tuple[str, str]:
    """(indicator, description): the worst of component states and unresolved incident impacts.

    An impact of RECOVERING counts as `minor`; when it is the worst thing on the page (every component
    operational or in maintenance, no other incident as bad), the description says the page is recovering.
    """
    indicator = indicator_for_components(statuses)
    recovering = False
    for impact in incident_impacts:
        if impact == RECOVERING:
            recovering = True
        elif impact in INDICATOR_RANK and INDICATOR_RANK[impact] > INDICATOR_RANK[indicator]:
            indicator = impact
    if recovering and INDICATOR_RANK[indicator] < INDICATOR_RANK["minor"]:
        return "minor", RECOVERING_DESCRIPTION
    return indicator, INDICATOR_DESCRIPTIONS[indicator]


def set_status(
    session: Session,
    component: Component,
    status: ComponentStatus,
    actor: Actor,
    cause: str | None = None,
    at: datetime | None = None,
    incident_id: int | None = None,
    alert: bool = True,
) -> StatusChange | None:
    """Change a component's status and append its history row; None if unchanged.

    `alert=False` leaves telling responders to the caller (probes, which may tell them with a draft)."""
    if component.status == status:
        return None
    when = at or utcnow()
    change = StatusChange(
        component=component,
        from_status=component.status,
        to_status=status,
        at=when,
        user_id=actor.user_id,
        source=actor.source,
        cause=cause or actor.label,
        incident_id=incident_id,
    )
    component.status = status
    component.updated_at = when
    session.add(change)
    component_updates.queued(session, change)  # webhooks' component_update, in this transaction
    if alert:
        alerts.component_changed(session, change)  # responders, when no incident update tells them
    bump_version(session)
    return change
