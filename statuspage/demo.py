"""The demo page: the components of a real web stack, grouped."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import components
from .audit import Actor
from .config import Settings
from .models import Component, ComponentGroup
from .page import ensure_page

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


def seed_components(session: Session, settings: Settings) -> int:
    """Create whatever part of the demo stack is missing; returns how many components were made."""
    ensure_page(session, settings.page_name, settings.timezone)
    actor = Actor.system("demo")
    created = 0
    for group_name, members in DEMO_STACK:
        group = None
        if group_name:
            group = session.scalars(select(ComponentGroup).where(ComponentGroup.name == group_name)).first()
            if group is None:
                group = components.create_group(session, actor, group_name)
        for name, description in members:
            exists = session.scalars(select(Component).where(Component.name == name)).first()
            if exists is None:
                components.create_component(session, actor, name, description,
                                            group_code=group.code if group else None)
                created += 1
    return created
