"""Setting up a page: the page row and the saved messages every new page starts with.

`db upgrade` and `create-user` call this, never a request: a GET must not write.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from statuspage.incidents.templates import seed_templates
from statuspage.models import Page
from statuspage.page.record import get_page, new_page


def setup_page(session: Session, name: str, time_zone: str, url: str | None = None) -> Page:
    """The page, created with the default saved messages the first time (idempotent)."""
    page = get_page(session)
    if page is None:
        page = new_page(session, name, time_zone, url)
        seed_templates(session)
    return page
