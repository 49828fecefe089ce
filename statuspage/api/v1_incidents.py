"""The management API v1 for incidents, maintenance, their updates and templates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select

from statuspage.api import incident_body as incoming
from statuspage.api.common import (
    ApiError,
    api_auth,
    api_user,
    object_id,
    query_text,
    register_error_handlers,
    request_body,
    require_admin,
    route,
)
from statuspage.api.schemas.incidents import (
    INCIDENT_CREATE,
    INCIDENT_PAGING,
    INCIDENT_UPDATE,
    TEMPLATE_CREATE,
    UPDATE_EDIT,
)
from statuspage.audit import Actor
from statuspage.edge.extensions import csrf
from statuspage.edge.session import db_session
from statuspage.incidents import lifecycle, lookups, rules, templates, windows
from statuspage.inputs import UNSET
from statuspage.models import Component, Incident, IncidentKind, IncidentTemplate, IncidentUpdate, MaintenanceStatus
from statuspage.shapes import managed_incident_json, managed_update_json, template_json

bp = Blueprint("api_v1_incidents", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)


def _actor() -> Actor:
    return Actor.for_user(api_user(), "api")


def _json(incident: Incident, page):
    return managed_incident_json(incident, page, current_app.config["STATUSPAGE"].base_url)


def _list(page, items):
    return jsonify([_json(i, page) for i in items])


@route(bp, "/pages/<page_id>/incidents", methods=["GET"])
@api_auth()
def list_incidents(page):
    limit, number = INCIDENT_PAGING.parse()
    query = select(Incident).order_by(Incident.started_at.desc(), Incident.id.desc())
    q = query_text("q").strip()
    if q:
        query = query.where(func.lower(Incident.name).contains(q.lower()))
    codes = db_session().scalars(query.with_only_columns(Incident.code).limit(limit)
                                 .offset((number - 1) * limit))
    return _list(page, [lookups.get_incident(db_session(), code) for code in codes])


@route(bp, "/pages/<page_id>/incidents/unresolved", methods=["GET"])
@api_auth()
def list_unresolved(page):
    return _list(page, lookups.unresolved_incidents(db_session()))


@route(bp, "/pages/<page_id>/incidents/upcoming", methods=["GET"])
@api_auth()
def list_upcoming(page):
    return _list(page, lookups.maintenances(db_session(), (MaintenanceStatus.SCHEDULED,)))


@route(bp, "/pages/<page_id>/incidents/scheduled", methods=["GET"])
@api_auth()
def list_scheduled(page):
    return _list(page, lookups.recent(db_session(), IncidentKind.MAINTENANCE, 100))


@route(bp, "/pages/<page_id>/incidents/active_maintenance", methods=["GET"])
@api_auth()
def list_active_maintenance(page):
    return _list(page, lookups.maintenances(db_session(), rules.ACTIVE_MAINTENANCE))


@route(bp, "/pages/<page_id>/incidents", methods=["POST"])
@api_auth()
def create_incident(page):
    data = INCIDENT_CREATE.parse(request_body()).sent()
    session = db_session()
    incident = _schedule(session, data) if incoming.is_maintenance(data) else _open(session, data)
    session.commit()
    return jsonify(_json(lookups.get_incident(session, incident.code), page)), 201


def _open(session, data: dict[str, Any]) -> Incident:
    incoming.check_new_incident(data)
    return lifecycle.open_incident(
        session, _actor(),
        name=data.get("name"), body=data.get("body"),
        status=data.get("status", "investigating"),
        impact_override=data.get("impact_override"),
        component_statuses=incoming.component_statuses(data.get("components")),
        component_codes=incoming.component_codes(data.get("component_ids")),
        started_at=data.get("started_at"),
        deliver_notifications=data.get("deliver_notifications", True),
    )


def _schedule(session, data: dict[str, Any]) -> Incident:
    incoming.check_new_maintenance(data)
    return windows.schedule_maintenance(
        session, _actor(),
        name=data.get("name"), body=data.get("body"),
        scheduled_for=data.get("scheduled_for"), scheduled_until=data.get("scheduled_until"),
        component_codes=incoming.maintenance_components(
            session, incoming.component_statuses(data.get("components")), data.get("component_ids")),
        auto_transition=incoming.auto_transition(data),
        deliver_notifications=data.get("deliver_notifications", True),
    )


@route(bp, "/pages/<page_id>/incidents/<incident_id>", methods=["GET"])
@api_auth()
def get_incident(page, incident_id):
    return jsonify(_json(lookups.get_incident(db_session(), object_id(incident_id)), page))


@route(bp, "/pages/<page_id>/incidents/<incident_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_incident(page, incident_id):
    data = INCIDENT_UPDATE.parse(request_body()).sent()
    session = db_session()
    incident = lookups.get_incident(session, object_id(incident_id))
    statuses = incoming.component_statuses(data.get("components"))
    posting = incoming.posts_update(data)
    incoming.check_update(data, incident, statuses, posting)
    if incident.is_maintenance:
        _reschedule(session, data, incident, posting)
    if posting:
        lifecycle.post_update(
            session, _actor(), incident,
            status=data.get("status", incident.status),
            body=data.get("body"),
            component_statuses=statuses,
            restore_components=data.get("restore_components", True),
            deliver_notifications=data.get("deliver_notifications", True),
            display_at=data.get("display_at"),
            impact_override=data.get("impact_override", UNSET),
            name=data.get("name", UNSET),
        )
    elif {"name", "impact_override"} & set(data):
        lifecycle.change_details(session, _actor(), incident, name=data.get("name", UNSET),
                                 impact_override=data.get("impact_override", UNSET))
    session.commit()
    return jsonify(_json(lookups.get_incident(session, incident.code), page))


def _reschedule(session, data: dict[str, Any], maintenance: Incident, posting: bool) -> None:
    """Move the window when the body sends an edge. Subscribers hear of it through the update posted with
    it, or, when none is, only if `deliver_notifications` is true."""
    window = incoming.window_change(data, maintenance)
    if window is None:
        return
    windows.reschedule_maintenance(session, _actor(), maintenance, scheduled_for=window[0],
                                     scheduled_until=window[1],
                                     deliver_notifications=not posting and data.get("deliver_notifications", False))


@route(bp, "/pages/<page_id>/incidents/<incident_id>", methods=["DELETE"])
@api_auth()
def delete_incident(page, incident_id):
    require_admin()
    session = db_session()
    incident = lookups.get_incident(session, object_id(incident_id))
    answer = _json(incident, page)
    lifecycle.delete_incident(session, _actor(), incident)
    session.commit()
    return jsonify(answer)


@route(bp, "/pages/<page_id>/incidents/<incident_id>/incident_updates/<update_id>",
       methods=["PATCH", "PUT"])
@api_auth()
def edit_update(page, incident_id, update_id):
    data = UPDATE_EDIT.parse(request_body()).sent()
    session = db_session()
    incident = lookups.get_incident(session, object_id(incident_id))
    update = next((u for u in incident.updates if u.code == object_id(update_id)), None)
    if update is None:
        raise ApiError(404, "not_found", f"No update {update_id!r} on this incident.", "incident_update_id")
    lifecycle.edit_update(session, _actor(), update, body=data.get("body", UNSET),
                          display_at=data.get("display_at", UNSET),
                          deliver_notifications=data.get("deliver_notifications", UNSET))
    session.commit()
    refreshed = session.get_one(IncidentUpdate, update.id)
    return jsonify(managed_update_json(refreshed, incident, page))


# --- templates ----------------------------------------------------------------------------------


@route(bp, "/pages/<page_id>/incident_templates", methods=["GET"])
@api_auth()
def list_templates(page):
    session = db_session()
    return jsonify([_template_json(session, t, page) for t in templates.list_templates(session)])


@route(bp, "/pages/<page_id>/incident_templates", methods=["POST"])
@api_auth()
def create_template(page):
    new = TEMPLATE_CREATE.parse(request_body())
    session = db_session()
    template = templates.save_template(session, _actor(), name=new.name, title=new.title, body=new.body,
                                       update_status=new.update_status, component_ids=new.component_ids,
                                       should_send_notifications=new.should_send_notifications)
    session.commit()
    return jsonify(_template_json(session, template, page)), 201


@route(bp, "/pages/<page_id>/incident_templates/<template_id>", methods=["DELETE"])
@api_auth()
def delete_template(page, template_id):
    session = db_session()
    template = templates.get_template(session, object_id(template_id))
    answer = _template_json(session, template, page)
    templates.delete_template(session, _actor(), template)
    session.commit()
    return jsonify(answer)


def _template_json(session, template: IncidentTemplate, page):
    """The template with those of its components that still exist, in its order."""
    codes = list(template.component_ids or [])
    found = {c.code: c for c in session.scalars(select(Component).where(Component.code.in_(codes)))} if codes else {}
    return template_json(template, page, [found[code] for code in codes if code in found])
