"""The management API v1: Statuspage's subset for components and groups.

Any user's key manages components and groups (responders run the page during an
incident); changing the page profile needs an admin's key.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, jsonify, request

from statuspage.accounts.users import user_for_token
from statuspage.api.common import (
    ApiError,
    api_auth,
    api_user,
    presented_token,
    register_error_handlers,
    request_body,
    require_admin,
    route,
)
from statuspage.api.schemas.components import (
    COMPONENT_CREATE,
    COMPONENT_UPDATE,
    GROUP_CREATE,
    GROUP_UPDATE,
    ComponentUptimeJson,
)
from statuspage.api.schemas.pages import PAGE_UPDATE
from statuspage.audit import Actor
from statuspage.components import catalog, uptime
from statuspage.db import utcnow
from statuspage.edge.extensions import csrf
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.page.profile import update_profile
from statuspage.shapes import component_json, group_json, page_profile_json
from statuspage.shapes.base import at
from statuspage.timefmt import iso

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)


def _actor() -> Actor:
    return Actor.for_user(api_user(), "api")


@route(bp, "/pages", methods=["GET"])
def list_pages():
    raw = presented_token()
    if not raw:
        raise ApiError(401, "unauthorized", "An API key is required: 'Authorization: OAuth <key>'.")
    if user_for_token(db_session(), raw) is None:
        raise ApiError(401, "unauthorized", "Invalid API key.")
    return jsonify([_profile(current_page())])


@route(bp, "/pages/<page_id>", methods=["GET"])
@api_auth()
def get_page(page):
    return jsonify(_profile(page))


@route(bp, "/pages/<page_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_page(page):
    require_admin()
    changes = PAGE_UPDATE.parse(request_body()).sent()
    session = db_session()
    settings = current_app.config["STATUSPAGE"]
    update_profile(session, _actor(), page, changes, settings.base_url, sms_offered=settings.sms_offered)
    session.commit()
    return jsonify(_profile(page))


def _profile(page):
    """The page's profile as the API shows it; SMS sign-up is offered when the server has an SMS provider."""
    settings = current_app.config["STATUSPAGE"]
    return page_profile_json(page, settings.base_url, sms_offered=settings.sms_offered)


# --- components -------------------------------------------------------------------------------


@route(bp, "/pages/<page_id>/components", methods=["GET"])
@api_auth()
def list_components(page):
    return jsonify([component_json(c, page) for c in _ordered_components()])


def _ordered_components():
    return [c for item in catalog.component_tree(db_session()) for c in item.components]


@route(bp, "/pages/<page_id>/components", methods=["POST"])
@api_auth()
def create_component(page):
    new = COMPONENT_CREATE.parse(request_body())
    session = db_session()
    component = catalog.create_component(
        session, _actor(), name=new.name, description=new.description, status=new.status,
        group_code=new.group_id, showcase=new.showcase, only_show_if_degraded=new.only_show_if_degraded,
        start_date=new.start_date,
    )
    if "position" in new.sent():
        catalog.update_component(session, _actor(), component, position=new.position)
    session.commit()
    return jsonify(component_json(component, page)), 201


@route(bp, "/pages/<page_id>/components/<component_id>", methods=["GET"])
@api_auth()
def get_component(page, component_id):
    return jsonify(component_json(catalog.get_component(db_session(), component_id), page))


@route(bp, "/pages/<page_id>/components/<component_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_component(page, component_id):
    changes = COMPONENT_UPDATE.parse(request_body()).sent()
    session = db_session()
    component = catalog.get_component(session, component_id)
    catalog.update_component(
        session, _actor(), component,
        **{("group_code" if key == "group_id" else key): value for key, value in changes.items()},
    )
    session.commit()
    return jsonify(component_json(component, page))


@route(bp, "/pages/<page_id>/components/<component_id>/uptime", methods=["GET"])
@api_auth()
def component_uptime(page, component_id):
    component = catalog.get_component(db_session(), component_id)
    today = utcnow().date()
    start = _query_date("start", component.start_date or (today - timedelta(days=89)))
    end = _query_date("end", today)
    if end < start:
        raise ApiError(400, "bad_request", "end must not be before start.", "end")
    if (end - start).days > 365:
        raise ApiError(400, "bad_request", "A range can cover at most one year.", "start")
    if end > today:
        raise ApiError(400, "bad_request", "end cannot be in the future.", "end")
    result = uptime.for_range(db_session(), component, start, end, utcnow())
    answer: ComponentUptimeJson = {
        "id": component.code,
        "name": component.name,
        "range_start": start.isoformat(),
        "range_end": end.isoformat(),
        "uptime_percentage": round(result.uptime, 4) if result.uptime is not None else None,
        "major_outage": result.major_outage_seconds,
        "partial_outage": result.partial_outage_seconds,
        "warnings": result.warnings,
        "related_events": {"incidents": [
            {"id": i.code, "name": i.name, "started_at": at(i.started_at, page.time_zone),
             "resolved_at": iso(i.resolved_at, page.time_zone)} for i in result.incidents]},
    }
    return jsonify(answer)


def _query_date(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a date like 2024-08-14.", name) from None


@route(bp, "/pages/<page_id>/components/<component_id>", methods=["DELETE"])
@api_auth()
def delete_component(page, component_id):
    session = db_session()
    component = catalog.get_component(session, component_id)
    body = component_json(component, page)
    catalog.delete_component(session, _actor(), component)
    session.commit()
    return jsonify(body)


# --- component groups -------------------------------------------------------------------------


@route(bp, "/pages/<page_id>/component-groups", methods=["GET"])
@api_auth()
def list_groups(page):
    return jsonify([group_json(g, page) for g in catalog.all_groups(db_session())])


@route(bp, "/pages/<page_id>/component-groups", methods=["POST"])
@api_auth()
def create_group(page):
    new = GROUP_CREATE.parse(request_body())
    session = db_session()
    group = catalog.create_group(session, _actor(), name=new.name, description=new.description,
                                 component_codes=new.components)
    if "position" in new.sent():
        catalog.update_group(session, _actor(), group, position=new.position)
    session.commit()
    session.refresh(group)
    return jsonify(group_json(group, page)), 201


@route(bp, "/pages/<page_id>/component-groups/<group_id>", methods=["GET"])
@api_auth()
def get_group(page, group_id):
    return jsonify(group_json(catalog.get_group(db_session(), group_id, "id"), page))


@route(bp, "/pages/<page_id>/component-groups/<group_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_group(page, group_id):
    changes = GROUP_UPDATE.parse(request_body()).sent()
    session = db_session()
    group = catalog.get_group(session, group_id, "id")
    catalog.update_group(
        session, _actor(), group,
        **{("component_codes" if key == "components" else key): value for key, value in changes.items()},
    )
    session.commit()
    session.refresh(group)
    return jsonify(group_json(group, page))


@route(bp, "/pages/<page_id>/component-groups/<group_id>", methods=["DELETE"])
@api_auth()
def delete_group(page, group_id):
    session = db_session()
    group = catalog.get_group(session, group_id, "id")
    body = group_json(group, page)
    catalog.delete_group(session, _actor(), group)
    session.commit()
    return jsonify(body)
