"""The page row: its profile and the version that keys the public cache."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from statuspage.db import utcnow
from statuspage.models import Page


def get_page(session: Session) -> Page | None:
    """The page, or None before the first `ensure_page`."""
    return session.scalars(select(Page).order_by(Page.id).limit(1)).first()


def ensure_page(session: Session, name: str, time_zone: str, url: str | None = None) -> Page:
    """The page, created from the settings the first time with the default saved messages."""
    # Imported here: incidents imports this module for bump_version.
    from statuspage.incidents.templates import seed_templates

    page = get_page(session)
    if page is None:
        page = Page(name=name, time_zone=time_zone, url=url, version=1)
        session.add(page)
        seed_templates(session)
        session.flush()
    return page


def bump_version(session: Session) -> None:
    """Mark public data changed, in the caller's transaction.

    An atomic UPDATE, so concurrent writers never lose a bump.
    """
    session.execute(update(Page).values(version=Page.version + 1, updated_at=utcnow()))


def current_version(session: Session) -> int:
    """The version public caches compare against (0 before the page exists)."""
    version = session.scalar(select(Page.version).order_by(Page.id).limit(1))
    return version or 0

