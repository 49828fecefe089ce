"""The public site: the status page, incident pages, history, feeds and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for

from statuspage.components import uptime
from statuspage.components.catalog import component_tree, get_component
from statuspage.components.status_rules import page_indicator
from statuspage.db import utcnow
from statuspage.edge import health
from statuspage.edge.page import current_page
from statuspage.edge.public_cache import cached_public
from statuspage.edge.session import db_session
from statuspage.feeds import FEED_SIZE, atom_bytes, build_feed, rss_bytes
from statuspage.incidents import lookups, rules
from statuspage.incidents.history import past_page as past_incidents
from statuspage.models import IncidentKind, MaintenanceStatus
from statuspage.probes.chart import public_charts
from statuspage.shapes.uptime import uptime_json
from statuspage.web.forms import or_404

bp = Blueprint("public", __name__)


def _base_url() -> str:
    return current_app.config["STATUSPAGE"].base_url


@bp.get("/")
@cached_public
def index():
    session = db_session()
    tree = component_tree(session)
    statuses = [c.status for item in tree for c in item.components]
    unresolved = lookups.unresolved_incidents(session)
    active = lookups.maintenances(session, rules.ACTIVE_MAINTENANCE)
    indicator, description = page_indicator(statuses, lookups.page_impacts(session, unresolved, active))
    showcased = [c for item in tree for c in item.components if c.showcase]
    return render_template(
        "public/index.html",
        uptime=uptime.for_components(session, showcased, utcnow()),
        charts=public_charts(session, [c for item in tree for c in item.components], utcnow()),
        page=current_page(),
        tree=tree,
        indicator=indicator,
        description=description,
        unresolved=unresolved,
        active=active,
        upcoming=lookups.maintenances(session, (MaintenanceStatus.SCHEDULED,)),
        recent=[i for i in lookups.recent(session, IncidentKind.INCIDENT, 5 + len(unresolved))
                if i.status not in rules.UNRESOLVED][:5],
        base_url=_base_url(),
    )


@bp.get("/uptime/<code>.json")
@cached_public
def uptime_days(code: str):
    """The 90 days behind a component's uptime bars, for the details a reader taps or tabs to."""
    session = db_session()
    component = or_404(get_component, session, code, message="There is no component with that id.")
    if not component.showcase:
        abort(404, "This component does not show its uptime.")
    figures = uptime.for_components(session, [component], utcnow())[component.id]
    return jsonify(uptime_json(component, figures, _base_url()))


@bp.get("/incidents/<code>")
@cached_public
def incident(code: str):
    item = or_404(lookups.get_incident, db_session(), code, message="There is no incident at this address.")
    return render_template("public/incident.html", page=current_page(), incident=item,
                           base_url=_base_url())


@bp.get("/history")
@cached_public
def history():
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        abort(400, "page must be a whole number.")
    items, number, pages = past_incidents(db_session(), number)
    return render_template("public/history.html", page=current_page(), incidents=items,
                           number=number, pages=pages, base_url=_base_url())


def _feed(kind: str):
    session = db_session()
    page = current_page()
    if not page.allow_rss_atom_feeds:
        abort(404, "This page does not publish feeds.")
    component = None
    code = request.args.get("component")
    if code:
        component = or_404(get_component, session, code, message="There is no component with that id.")
        items = lookups.for_component(session, component, FEED_SIZE)
    else:
        items = lookups.history_page(session, 1, FEED_SIZE)[0]
    query: dict[str, Any] = {"component": code} if code else {}
    self_url = _base_url() + url_for(f"public.feed_{kind}", **query)
    feed = build_feed(page, _base_url(), items, self_url, component)
    if kind == "rss":
        return current_app.response_class(rss_bytes(feed), mimetype="application/rss+xml")
    return current_app.response_class(atom_bytes(feed), mimetype="application/atom+xml")


@bp.get("/history.rss")
@cached_public
def feed_rss():
    return _feed("rss")


@bp.get("/history.atom")
@cached_public
def feed_atom():
    return _feed("atom")


@bp.get("/healthz")
def healthz():
    """ok, or degraded (503) with the reason: the database refuses, hangs, or is not migrated."""
    status, body = health.check(current_app.extensions["statuspage.db"])
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
