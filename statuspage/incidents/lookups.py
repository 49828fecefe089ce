"""Reading incidents and maintenance: by id, the open ones, the recent ones, a history page, the page impacts,
and the outages no incident explains."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from statuspage.components.status_rules import INDICATOR_RANK, OUTAGES, RECOVERING
from statuspage.errors import NotFound
from statuspage.incidents.rules import ACTIVE_MAINTENANCE, UNRESOLVED
from statuspage.models import (
    Component,
    ComponentStatus,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    MaintenanceStatus,
)


def with_timeline(query: Select[Incident]) -> Select[Incident]:
    """The query with each incident's updates and components loaded in one go."""
    return query.options(selectinload(Incident.updates), selectinload(Incident.components))


def get_incident(session: Session, code: str) -> Incident:
    """The incident or maintenance with this public id, or NotFound."""
    incident = session.scalars(with_timeline(select(Incident).where(Incident.code == code))).first()
    if incident is None:
        raise NotFound(f"No incident with id {code!r}.", "incident_id")
    return incident


def unresolved_incidents(session: Session) -> list[Incident]:
    """Open incidents, the most recently updated first."""
    return list(session.scalars(with_timeline(
        select(Incident)
        .where(Incident.kind == IncidentKind.INCIDENT, Incident.status.in_(UNRESOLVED))
        .order_by(Incident.updated_at.desc(), Incident.id.desc())
    )))


def maintenances(session: Session, statuses: Sequence[MaintenanceStatus]) -> list[Incident]:
    """Maintenance in the given states, soonest first."""
    return list(session.scalars(with_timeline(
        select(Incident)
        .where(Incident.kind == IncidentKind.MAINTENANCE, Incident.status.in_(statuses))
        .order_by(Incident.scheduled_for, Incident.id)
    )))


def recent(session: Session, kind: IncidentKind, limit: int = 50) -> list[Incident]:
    """The newest incidents (or maintenances), resolved ones included."""
    order = Incident.started_at if kind == IncidentKind.INCIDENT else Incident.scheduled_for
    return list(session.scalars(with_timeline(
        select(Incident).where(Incident.kind == kind).order_by(order.desc(), Incident.id.desc()).limit(limit)
    )))


def history_page(session: Session, page: int, per_page: int = 20) -> tuple[list[Incident], int]:
    """One page of past incidents and maintenance (newest first) and the number of pages."""
    total = session.scalar(select(func.count(Incident.id))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = session.scalars(with_timeline(
        select(Incident).order_by(Incident.started_at.desc(), Incident.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ))
    return list(items), pages


def for_component(session: Session, component: Component, limit: int = 50) -> list[Incident]:
    """The newest incidents and maintenances that affected one component."""
    return list(session.scalars(with_timeline(
        select(Incident).where(Incident.components.contains(component))
        .order_by(Incident.started_at.desc(), Incident.id.desc()).limit(limit)
    )))


def page_impacts(
    session: Session,
    unresolved: Sequence[Incident] | None = None,
    active: Sequence[Incident] | None = None,
) -> list[str]:
    """Impacts that raise the page indicator: open incidents and maintenance in progress.

    An incident in `monitoring` whose components are all operational again counts as RECOVERING
    (`status_rules.page_indicator` ranks it as minor and says the page is recovering).

    A caller that has loaded `unresolved_incidents` and the active `maintenances`
    already passes them, so they are not read twice.
    """
    if unresolved is None:
        unresolved = unresolved_incidents(session)
    if active is None:
        active = maintenances(session, ACTIVE_MAINTENANCE)
    impacts = [RECOVERING if _recovering(i) else i.impact.value for i in unresolved]
    if active:
        impacts.append("maintenance")
    return impacts


def _recovering(incident: Incident) -> bool:
    """In `monitoring` with every component it affects operational again, and an impact of minor or worse
    (an impact of none raises nothing, recovering or not)."""
    return (incident.status == IncidentStatus.MONITORING
            and INDICATOR_RANK.get(incident.impact.value, 0) >= INDICATOR_RANK["minor"]
            and all(c.status == ComponentStatus.OPERATIONAL for c in incident.components))


def unexplained_outages(session: Session) -> list[Component]:
    """Components in a partial or major outage that no unresolved incident affects, in the order of the
    admin's component list: customers see them down with no word of why."""
    explained = (select(IncidentComponent.component_id)
                 .join(Incident, Incident.id == IncidentComponent.incident_id)
                 .where(Incident.kind == IncidentKind.INCIDENT, Incident.status.in_(UNRESOLVED)))
    return list(session.scalars(
        select(Component)
        .where(Component.status.in_(OUTAGES), Component.id.not_in(explained))
        .order_by(Component.group_id, Component.position, Component.id)
    ))
