"""The page a request is about: there is one per install, seeded by `db upgrade` or `create-user`."""

from __future__ import annotations

from flask import abort, g

from statuspage.edge.session import db_session
from statuspage.models import Page
from statuspage.page.record import get_page


def current_page() -> Page:
    """The page (read once per request); 503 until `db upgrade` has seeded it. A GET never creates it."""
    if "page" not in g:
        page = get_page(db_session())
        if page is None:
            abort(503, "This status page is not set up yet: run `flask --app app db upgrade`.")
        g.page = page
    return g.page


def page_zone() -> str:
    """The time zone times are shown in: the page's own (STATUSPAGE_TIMEZONE when it was created)."""
    return current_page().time_zone
