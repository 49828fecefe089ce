"""The management API's alert channels (our extension): routes that alert responders, and their test alert.

Any key reads them and sends a test alert; an admin's key creates, changes and deletes them, and is the
only one shown the whole target (a responder's sees it masked, as in the admin: it is a secret).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from statuspage.api.common import (
    api_actor,
    api_auth,
    api_user,
    object_id,
    probe_policy,
    register_error_handlers,
    request_body,
    route,
)
from statuspage.api.schemas.alert_channels import ALERT_CHANNEL_CREATE, ALERT_CHANNEL_UPDATE, AlertChannelWrittenJson
from statuspage.db import utcnow
from statuspage.edge.extensions import csrf
from statuspage.edge.session import db_session
from statuspage.models import AlertChannel, Page
from statuspage.notify import alert_routes
from statuspage.shapes import alert_channel_json

bp = Blueprint("api_v1_alert_channels", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)


def _route(code: str) -> AlertChannel:
    return alert_routes.get_route(db_session(), object_id(code))


def _written(alert_channel: AlertChannel, page: Page, secret_before: str | None) -> AlertChannelWrittenJson:
    """The route as saved, with its signing secret when this request made it (it is shown this once)."""
    body: AlertChannelWrittenJson = {**alert_channel_json(alert_channel, page, whole_target=True)}
    if alert_channel.secret and alert_channel.secret != secret_before:
        body["secret"] = alert_channel.secret
    return body


@route(bp, "/pages/<page_id>/alert_channels", methods=["GET"])
@api_auth()
def list_alert_channels(page):
    whole = api_user().is_admin
    return jsonify([alert_channel_json(r, page, whole_target=whole) for r in alert_routes.routes(db_session())])


@route(bp, "/pages/<page_id>/alert_channels", methods=["POST"])
@api_auth(admin_only=True)
def create_alert_channel(page):
    new = ALERT_CHANNEL_CREATE.parse(request_body())
    session = db_session()
    created = alert_routes.create_route(session, api_actor(), name=new.name, kind=new.kind, target=new.target,
                                        events=new.events, policy=probe_policy(), now=utcnow())
    session.commit()
    return jsonify(_written(created, page, None)), 201


@route(bp, "/pages/<page_id>/alert_channels/<alert_channel_id>", methods=["GET"])
@api_auth()
def get_alert_channel(page, alert_channel_id):
    return jsonify(alert_channel_json(_route(alert_channel_id), page, whole_target=api_user().is_admin))


@route(bp, "/pages/<page_id>/alert_channels/<alert_channel_id>", methods=["PATCH", "PUT"])
@api_auth(admin_only=True)
def update_alert_channel(page, alert_channel_id):
    changes = ALERT_CHANNEL_UPDATE.parse(request_body()).sent()
    session = db_session()
    changed = _route(alert_channel_id)
    secret_before = changed.secret
    alert_routes.update_route(session, api_actor(), changed, **changes, policy=probe_policy(), now=utcnow())
    session.commit()
    return jsonify(_written(changed, page, secret_before))


@route(bp, "/pages/<page_id>/alert_channels/<alert_channel_id>", methods=["DELETE"])
@api_auth(admin_only=True)
def delete_alert_channel(page, alert_channel_id):
    session = db_session()
    removed = _route(alert_channel_id)
    body = alert_channel_json(removed, page, whole_target=True)
    alert_routes.delete_route(session, api_actor(), removed)
    session.commit()
    return jsonify(body)


@route(bp, "/pages/<page_id>/alert_channels/<alert_channel_id>/test", methods=["POST"])
@api_auth()
def test_alert_channel(page, alert_channel_id):
    session = db_session()
    alert_routes.send_test(session, api_actor(), _route(alert_channel_id), utcnow())
    session.commit()
    return jsonify({}), 201
