"""The public history: incidents and maintenance that are over, newest first, a page at a time.

What is still going on (unresolved incidents, maintenance not yet completed) is on the front
page instead, so a customer reading the history sees only the record of the past.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from statuspage.models import Incident, IncidentStatus, MaintenanceStatus

PER_PAGE = 20
# Statuses that end an incident's or a maintenance's story (the two enums share no value).
OVER = (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM, MaintenanceStatus.COMPLETED)


def _is_over() -> ColumnElement[bool]:
    return Incident.status.in_(OVER)


def page_count(session: Session, per_page: int = PER_PAGE) -> int:
    """How many history pages there are; an empty history still has one (saying so)."""
    total = session.scalar(select(func.count(Incident.id)).where(_is_over())) or 0
    return max(1, -(-total // per_page))


def past_page(session: Session, number: int, per_page: int = PER_PAGE) -> tuple[list[Incident], int, int]:
    """One page of past incidents and maintenance (newest start first), with updates and components.

    Returns (items, the page number shown, the number of pages): a number below 1 shows the first
    page and one past the end the last, so an old link still lands somewhere useful.
    """
    pages = page_count(session, per_page)
    number = min(max(number, 1), pages)
    items = session.scalars(
        select(Incident).where(_is_over())
        .options(selectinload(Incident.updates), selectinload(Incident.components))
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .offset((number - 1) * per_page).limit(per_page)
    )
    return list(items), number, pages
