"""Statuspage's postmortem endpoints, mapped onto our structured postmortem, plus our GET extension."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from statuspage.api.common import ApiError, api_auth, api_user, object_id, register_error_handlers, request_body, route
from statuspage.api.schemas.postmortems import DRAFT, PUBLISH
from statuspage.audit import Actor
from statuspage.edge.extensions import csrf
from statuspage.edge.page import page_zone
from statuspage.edge.session import db_session
from statuspage.incidents import lookups
from statuspage.models import Incident, Postmortem
from statuspage.postmortems import action_items, document, editing, recorded
from statuspage.timefmt import iso

bp = Blueprint("api_v1_postmortems", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)


def _actor() -> Actor:
    return Actor.for_user(api_user(), "api")


def _zone() -> str:
    return page_zone()


def _incident(code: str) -> Incident:
    return lookups.get_incident(db_session(), object_id(code))


def postmortem_json(incident: Incident, postmortem: Postmortem, page) -> dict[str, Any]:
    """Statuspage's postmortem fields, with our sections, timeline, figures and Markdown beside them."""
    tz = page.time_zone
    items = action_items.items_for(db_session(), incident)
    draft = document.export_markdown(incident, postmortem, tz, items=items)
    result = recorded.figures(db_session(), incident, tz)
    return {
        "incident_id": incident.code,
        "body": document.export_markdown(incident, postmortem, tz, public=True, items=items)
        if postmortem.published_at else None,
        "body_draft": draft,
        "body_updated_at": iso(postmortem.updated_at, tz),
        "body_draft_updated_at": iso(postmortem.updated_at, tz),
        "published_at": iso(postmortem.published_at, tz),
        "revised_at": iso(postmortem.revised_at, tz),
        "notify_subscribers": postmortem.notified_subscribers,
        "notify_twitter": False,
        "custom_tweet": None,
        "created_at": iso(postmortem.created_at, tz),
        "updated_at": iso(postmortem.updated_at, tz),
        "sections": {key: postmortem.sections.get(key, "") for key, _title in document.SECTIONS if key != "timeline"},
        "timeline": postmortem.timeline,
        "figures": dict(result.rows),
        "action_items": [{"id": i.code, "title": i.title, "owner": i.owner, "status": i.status.value,
                          "due_date": i.due_date.isoformat() if i.due_date else None, "link": i.link,
                          "public": i.public} for i in items],
        "markdown": draft,
    }


def _started(incident: Incident) -> Postmortem:
    postmortem = editing.start(db_session(), _actor(), incident, _zone())
    return postmortem


@route(bp, "/pages/<page_id>/incidents/<incident_id>/postmortem", methods=["GET"])
@api_auth()
def get_postmortem(page, incident_id):
    incident = _incident(incident_id)
    postmortem = editing.get(db_session(), incident)
    if postmortem is None:
        raise ApiError(404, "not_found", "This incident has no postmortem yet; PUT one first.", "incident_id")
    return jsonify(postmortem_json(incident, postmortem, page))


@route(bp, "/pages/<page_id>/incidents/<incident_id>/postmortem", methods=["PUT"])
@api_auth()
def put_postmortem(page, incident_id):
    data = DRAFT.parse(request_body()).sent()
    session = db_session()
    incident = _incident(incident_id)
    postmortem = _started(incident)
    sections = data.get("sections", {})
    if "body_draft" in data:
        drafted = document.sections_from_markdown(data["body_draft"], action_items.items_for(session, incident))
        sections = {**drafted, **sections}
    editing.edit(session, _actor(), incident, postmortem, _zone(), sections=sections,
                 **({"timeline": data["timeline"]} if "timeline" in data else {}))
    session.commit()
    return jsonify(postmortem_json(incident, postmortem, page))


@route(bp, "/pages/<page_id>/incidents/<incident_id>/postmortem", methods=["DELETE"])
@api_auth()
def delete_postmortem(page, incident_id):
    session = db_session()
    incident = _incident(incident_id)
    postmortem = editing.get(session, incident)
    if postmortem is None:
        raise ApiError(404, "not_found", "This incident has no postmortem.", "incident_id")
    if postmortem.published_at is not None:
        raise ApiError(422, "invalid", "Revert the published postmortem before deleting it.", "status")
    body = postmortem_json(incident, postmortem, page)
    session.delete(postmortem)
    session.commit()
    return jsonify(body)


@route(bp, "/pages/<page_id>/incidents/<incident_id>/postmortem/publish", methods=["PUT"])
@api_auth()
def publish_postmortem(page, incident_id):
    notify = PUBLISH.parse(request_body()).notify_subscribers
    session = db_session()
    incident = _incident(incident_id)
    postmortem = editing.get(session, incident)
    if postmortem is None:
        raise ApiError(404, "not_found", "This incident has no postmortem; PUT one first.", "incident_id")
    editing.publish(session, _actor(), incident, postmortem, _zone(), notify=notify)
    session.commit()
    return jsonify(postmortem_json(incident, postmortem, page))


@route(bp, "/pages/<page_id>/incidents/<incident_id>/postmortem/revert", methods=["PUT"])
@api_auth()
def revert_postmortem(page, incident_id):
    session = db_session()
    incident = _incident(incident_id)
    postmortem = editing.get(session, incident)
    if postmortem is None or postmortem.published_at is None:
        raise ApiError(422, "invalid", "This postmortem is not published.", "status")
    editing.revert(session, _actor(), incident, postmortem)
    session.commit()
    return jsonify(postmortem_json(incident, postmortem, page))
