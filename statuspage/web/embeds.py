"""Embeds for other sites: an SVG status badge and a one-script-tag widget."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from sqlalchemy.orm import Session

from statuspage.components.catalog import component_tree, get_component, get_group
from statuspage.components.status_rules import INDICATOR_DESCRIPTIONS, STATUS_LABELS, page_indicator, worst_status
from statuspage.edge.page import current_page
from statuspage.edge.public_cache import cached_public
from statuspage.edge.session import db_session
from statuspage.errors import NotFound
from statuspage.incidents import lookups
from statuspage.models import ComponentStatus

bp = Blueprint("embeds", __name__)

COLOURS = {
    "none": "#1b7f3b", "minor": "#8a6d00", "major": "#b35900", "critical": "#b3261e", "maintenance": "#2a5db0",
    ComponentStatus.OPERATIONAL: "#1b7f3b", ComponentStatus.DEGRADED_PERFORMANCE: "#8a6d00",
    ComponentStatus.PARTIAL_OUTAGE: "#b35900", ComponentStatus.MAJOR_OUTAGE: "#b3261e",
    ComponentStatus.UNDER_MAINTENANCE: "#2a5db0",
}
UNKNOWN_COLOUR = "#767676"
# Rough width of one character of 11px Verdana, as badge makers estimate it.
CHAR_WIDTH = 6.5


def _badge(label: str, value: str, colour: str, status: int = 200):
    left = int(len(label) * CHAR_WIDTH + 12)
    right = int(len(value) * CHAR_WIDTH + 12)
    body = render_template("embeds/badge.svg", label=label, value=value, colour=colour, left=left, right=right)
    return current_app.response_class(body, status=status, mimetype="image/svg+xml")


def _named_status(session: Session, code: str) -> tuple[str, ComponentStatus] | None:
    """The name and status of the component, or else the group, with this id; None when neither exists."""
    try:
        component = get_component(session, code)
    except NotFound:
        pass
    else:
        return component.name, component.status
    try:
        group = get_group(session, code)
    except NotFound:
        return None
    return group.name, worst_status(c.status for c in group.components)


@bp.get("/badge.svg")
@cached_public
def badge():
    """A README badge: the page's state, or one component's or group's with `?component=<id>`.

    An unknown id still answers an SVG (grey, "unknown", status 404), so a README shows a badge
    saying so rather than a broken image.
    """
    session = db_session()
    code = request.args.get("component")
    if code:
        found = _named_status(session, code)
        if found is None:
            return _badge("component", "unknown", UNKNOWN_COLOUR, 404)
        name, status = found
        return _badge(name, STATUS_LABELS[status], COLOURS[status])
    tree = component_tree(session)
    indicator, value = page_indicator([c.status for item in tree for c in item.components],
                                      lookups.page_impacts(session))
    return _badge("status", value, COLOURS[indicator])


@bp.get("/widget.js")
@cached_public
def widget():
    """The embeddable widget: one script tag, no framework; it reads /api/v2/status.json."""
    page = current_page()
    body = render_template("embeds/widget.js", page=page,
                           colours={k: v for k, v in COLOURS.items() if isinstance(k, str)
                                    and k in INDICATOR_DESCRIPTIONS})
    return current_app.response_class(body, mimetype="text/javascript")
