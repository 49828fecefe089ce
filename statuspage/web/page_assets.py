"""The page's logo, favicon and brand colour as public files, cached and kept in the snapshot like any page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, url_for
from flask.typing import ResponseReturnValue

from statuspage.edge.page import current_page
from statuspage.edge.public_cache import cached_public
from statuspage.edge.session import db_session
from statuspage.page import settings

bp = Blueprint("page_assets", __name__)


@bp.get("/assets/<kind>")
@cached_public
def image(kind: str) -> ResponseReturnValue:
    found = settings.asset(db_session(), kind) if kind in settings.ASSET_KINDS else None
    if found is None:
        abort(404, "This page has no such image.")
    return current_app.response_class(found.body, mimetype=found.mimetype)


@bp.get("/assets/theme.css")
@cached_public
def theme() -> ResponseReturnValue:
    """The brand colour as a CSS variable: a file, because the CSP allows no inline style."""
    colour = current_page().brand_color
    body = f":root {{ --brand: {colour}; }}\n" if colour else ""
    return current_app.response_class(body, mimetype="text/css")


def asset_urls() -> dict[str, str]:
    """The address of each image the page has ("logo", "favicon"); its digest makes a new image a new URL."""
    return {kind: url_for("page_assets.image", kind=kind, v=digest[:12])
            for kind, digest in settings.digests(db_session()).items()}
