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
    wrapped_object,
)
from statuspage.audit import Actor
from statuspage.components import catalog, uptime
from statuspage.db import utcnow
from statuspage.edge.extensions import csrf
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.inputs import UNSET
from statuspage.page.profile import EDITABLE, FIXED_BECAUSE, READ_ONLY, update_profile
from statuspage.shapes import component_json, group_json, page_profile_json
from statuspage.timefmt import iso

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)

COMPONENT_FIELDS = {"name", "description", "status", "group_id", "showcase",
                    "only_show_if_degraded", "start_date", "position"}
# Everything GET shows may be sent back; update_profile refuses changes to what we do not offer.
PAGE_FIELDS = set(EDITABLE | READ_ONLY) | set(FIXED_BECAUSE)
GROUP_FIELDS = {"name", "description", "components", "position"}


def _actor() -> Actor:
    return Actor.for_user(api_user(), "api")


def _route(rule: str, **options):
    """Register a rule with and without the `.json` suffix older clients send."""

    def decorator(view):
        bp.add_url_rule(rule, view.__name__, view, **options)
        bp.add_url_rule(rule + ".json", view.__name__ + "_json", view, **options)
        return view

    return decorator


@_route("/pages", methods=["GET"])
def list_pages():
    raw = presented_token()
    if not raw:
        raise ApiError(401, "unauthorized", "An API key is required: 'Authorization: OAuth <key>'.")
    if user_for_token(db_session(), raw) is None:
        raise ApiError(401, "unauthorized", "Invalid API key.")
    return jsonify([page_profile_json(current_page(), current_app.config["STATUSPAGE"].base_url)])


@_route("/pages/<page_id>", methods=["GET"])
@api_auth()
def get_page(page):
    return jsonify(page_profile_json(page, current_app.config["STATUSPAGE"].base_url))


@_route("/pages/<page_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_page(page):
    require_admin()
    data = wrapped_object(request_body(), "page", PAGE_FIELDS)
    session = db_session()
    update_profile(session, _actor(), page, data, current_app.config["STATUSPAGE"].base_url)
    session.commit()
    return jsonify(page_profile_json(page, current_app.config["STATUSPAGE"].base_url))


# --- components -------------------------------------------------------------------------------


@_route("/pages/<page_id>/components", methods=["GET"])
@api_auth()
def list_components(page):
    return jsonify([component_json(c, page) for c in _ordered_components()])


def _ordered_components():
    return [c for item in catalog.component_tree(db_session()) for c in item.components]


@_route("/pages/<page_id>/components", methods=["POST"])
@api_auth()
def create_component(page):
    data = wrapped_object(request_body(), "component", COMPONENT_FIELDS)
    if data.get("group_id") is not None and not isinstance(data["group_id"], str):
        # comp.create_component looks the group up without checking its type; update_component checks.
        raise ApiError(422, "invalid", "group_id must be a component group id or null.", "group_id")
    session = db_session()
    component = catalog.create_component(
        session, _actor(),
        name=data.get("name"),
        description=data.get("description"),
        status=data.get("status", "operational"),
        group_code=data.get("group_id"),
        showcase=data.get("showcase", True),
        only_show_if_degraded=data.get("only_show_if_degraded", False),
        start_date=data.get("start_date"),
    )
    if "position" in data:
        catalog.update_component(session, _actor(), component, position=data["position"])
    session.commit()
    return jsonify(component_json(component, page)), 201


@_route("/pages/<page_id>/components/<component_id>", methods=["GET"])
@api_auth()
def get_component(page, component_id):
    return jsonify(component_json(catalog.get_component(db_session(), component_id), page))


@_route("/pages/<page_id>/components/<component_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_component(page, component_id):
    data = wrapped_object(request_body(), "component", COMPONENT_FIELDS)
    session = db_session()
    component = catalog.get_component(session, component_id)
    catalog.update_component(
        session, _actor(), component,
        **{("group_code" if key == "group_id" else key): value for key, value in data.items()},
    )
    session.commit()
    return jsonify(component_json(component, page))


@_route("/pages/<page_id>/components/<component_id>/uptime", methods=["GET"])
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
    return jsonify({
        "id": component.code,
        "name": component.name,
        "range_start": start.isoformat(),
        "range_end": end.isoformat(),
        "uptime_percentage": round(result.uptime, 4) if result.uptime is not None else None,
        "major_outage": result.major_outage_seconds,
        "partial_outage": result.partial_outage_seconds,
        "warnings": result.warnings,
        "related_events": {"incidents": [
            {"id": i.code, "name": i.name, "started_at": iso(i.started_at, page.time_zone),
             "resolved_at": iso(i.resolved_at, page.time_zone)} for i in result.incidents]},
    })


def _query_date(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a date like 2024-08-14.", name) from None


@_route("/pages/<page_id>/components/<component_id>", methods=["DELETE"])
@api_auth()
def delete_component(page, component_id):
    session = db_session()
    component = catalog.get_component(session, component_id)
    body = component_json(component, page)
    catalog.delete_component(session, _actor(), component)
    session.commit()
    return jsonify(body)


# --- component groups -------------------------------------------------------------------------


@_route("/pages/<page_id>/component-groups", methods=["GET"])
@api_auth()
def list_groups(page):
    return jsonify([group_json(g, page) for g in catalog.all_groups(db_session())])


def _group_fields(body: dict) -> dict:
    data = wrapped_object(body, "component_group", GROUP_FIELDS)
    # Statuspage puts the description beside the wrapped object.
    if "description" in body and "description" not in data:
        data = {**data, "description": body["description"]}
    unknown = sorted(set(body) - {"component_group", "description"})
    if unknown:
        raise ApiError(422, "invalid", f"Unknown field(s): {', '.join(unknown)}.", unknown[0])
    return data


@_route("/pages/<page_id>/component-groups", methods=["POST"])
@api_auth()
def create_group(page):
    data = _group_fields(request_body())
    session = db_session()
    group = catalog.create_group(session, _actor(), name=data.get("name"),
                                 description=data.get("description"),
                                 component_codes=data.get("components", []))
    if "position" in data:
        catalog.update_group(session, _actor(), group, position=data["position"])
    session.commit()
    session.refresh(group)
    return jsonify(group_json(group, page)), 201


@_route("/pages/<page_id>/component-groups/<group_id>", methods=["GET"])
@api_auth()
def get_group(page, group_id):
    return jsonify(group_json(catalog.get_group(db_session(), group_id, "id"), page))


@_route("/pages/<page_id>/component-groups/<group_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_group(page, group_id):
    data = _group_fields(request_body())
    session = db_session()
    group = catalog.get_group(session, group_id, "id")
    catalog.update_group(
        session, _actor(), group,
        name=data.get("name", UNSET),
        description=data.get("description", UNSET),
        position=data.get("position", UNSET),
        component_codes=data.get("components", UNSET),
    )
    session.commit()
    session.refresh(group)
    return jsonify(group_json(group, page))


@_route("/pages/<page_id>/component-groups/<group_id>", methods=["DELETE"])
@api_auth()
def delete_group(page, group_id):
    session = db_session()
    group = catalog.get_group(session, group_id, "id")
    body = group_json(group, page)
    catalog.delete_group(session, _actor(), group)
    session.commit()
    return jsonify(body)
