"""The demo page: the components of a real web stack, grouped, with a full uptime history."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.components import catalog, uptime
from statuspage.config import Settings
from statuspage.db import utcnow
from statuspage.models import Component, ComponentGroup, StatusChange
from statuspage.tools.setup import setup_page

DEMO_STACK: list[tuple[str | None, list[tuple[str, str]]]] = [
    ("Web", [
        ("Website", "The public website and marketing pages."),
        ("Dashboard", "The signed-in web application."),
    ]),
    ("API", [
        ("REST API", "Public API at api.example.com."),
        ("Authentication", "Sign-in, single sign-on and API keys."),
        ("Webhooks", "Outgoing event deliveries."),
    ]),
    ("Data", [
        ("Database cluster", "The primary PostgreSQL cluster and its replicas."),
        ("Cache", "Session and page caches."),
    ]),
    (None, [
        ("Monitoring and alerting", "Our own monitoring, paging and alert routing."),
    ]),
]


def history_start(now: datetime) -> datetime:
    """When demo components begin: midnight UTC before the first of the page's uptime days."""
    return datetime.combine(now.astimezone(UTC).date() - timedelta(days=uptime.DAYS), time.min, tzinfo=UTC)


def _backdate(session: Session, component: Component, since: datetime) -> None:
    """Start a new component's record at `since`, so the page's uptime bars show a stack that has been
    running (operational) rather than 89 empty days before today."""
    component.created_at = since
    session.flush()
    first = session.scalars(select(StatusChange).where(StatusChange.component_id == component.id,
                                                       StatusChange.from_status.is_(None))).one()
    first.at = since


def seed_components(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Create whatever part of the demo stack is missing, as if created 90 days ago; returns how many
    components were made (existing ones are left alone)."""
    setup_page(session, settings.page_name, settings.timezone)
    actor = Actor.system("demo")
    since = history_start(now or utcnow())
    created = 0
    for group_name, members in DEMO_STACK:
        group = None
        if group_name:
            group = session.scalars(select(ComponentGroup).where(ComponentGroup.name == group_name)).first()
            if group is None:
                group = catalog.create_group(session, actor, group_name)
        for name, description in members:
            exists = session.scalars(select(Component).where(Component.name == name)).first()
            if exists is None:
                component = catalog.create_component(session, actor, name, description,
                                                         group_code=group.code if group else None)
                _backdate(session, component, since)
                created += 1
    return created
