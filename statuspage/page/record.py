"""The page row: its profile and the version that keys the public cache."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from statuspage.db import utcnow
from statuspage.models import Page


def get_page(session: Session) -> Page | None:
    """The page, or None before `db upgrade` (or `create-user`) set it up."""
    return session.scalars(select(Page).order_by(Page.id).limit(1)).first()


def new_page(session: Session, name: str, time_zone: str, url: str | None = None) -> Page:
    """Create the page row (tools.setup.setup_page adds what a new page starts with)."""
    page = Page(name=name, time_zone=time_zone, url=url, version=1)
    session.add(page)
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


def version_tag(page_version: int, day: date) -> str:
    """What public pages are rendered for: the page version and the UTC date ("12-2026-12-06").

    Uptime bars end today, so a new day is a new page; the ETags, the shared snapshot and the
    published copies all name it."""
    return f"{page_version}-{day.isoformat()}"


def local_time(session: Session, at: datetime) -> datetime:
    """`at` in the page's time zone, as customers read every other time on the page."""
    page = get_page(session)
    return at.astimezone(ZoneInfo(page.time_zone if page else "Etc/UTC"))
