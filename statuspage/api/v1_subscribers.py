"""The management API v1 for subscribers (Statuspage's subset)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from .. import outbound
from ..audit import Actor
from ..errors import DomainError
from ..extensions import csrf
from ..notify import subscribers
from ..web.session import db_session
from .common import (
    ApiError,
    api_auth,
    api_user,
    object_id,
    parse_paging,
    query_text,
    register_error_handlers,
    request_body,
    route,
    wrapped_object,
)
from .shapes import subscriber_json

bp = Blueprint("api_v1_subscribers", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)

CREATE_FIELDS = {"email", "endpoint", "component_ids", "skip_confirmation_notification", "phone_country",
                 "phone_number", "page_access_user"}
BULK_FIELDS = {"subscribers", "type", "state", "skip_unsubscription_notification"}


def _actor() -> Actor:
    return Actor.for_user(api_user(), "api")


def _filters() -> tuple[str, str, str | None]:
    return query_text("q"), request.args.get("state", "active"), request.args.get("type") or None


@route(bp, "/pages/<page_id>/subscribers", methods=["GET"])
@api_auth()
def list_subscribers(page):
    limit, number = parse_paging(default_limit=100, max_limit=1000)
    q, state, mode = _filters()
    found = subscribers.search(db_session(), q, state, mode, limit, (number - 1) * limit)
    return jsonify([subscriber_json(s, page) for s in found])


@route(bp, "/pages/<page_id>/subscribers/count", methods=["GET"])
@api_auth()
def count_subscribers(page):
    q, state, mode = _filters()
    return jsonify({"count": subscribers.count(db_session(), q, state, mode)})


@route(bp, "/pages/<page_id>/subscribers", methods=["POST"])
@api_auth()
def create_subscriber(page):
    data = wrapped_object(request_body(), "subscriber", CREATE_FIELDS)
    if data.get("phone_number") or data.get("phone_country"):
        raise ApiError(422, "invalid", "SMS subscribers are not supported; use email or a webhook endpoint.",
                       "phone_number")
    session = db_session()
    skip = subscribers.clean_flag(data.get("skip_confirmation_notification", False), "skip_confirmation_notification")
    subscriber = subscribers.create(
        session, _actor(), email=data.get("email"), endpoint=data.get("endpoint"),
        component_codes=data.get("component_ids"), skip_confirmation=skip,
        policy=outbound.Policy.from_settings(current_app.config["STATUSPAGE"]),
    )
    session.commit()
    body = subscriber_json(subscriber, page) | {"skip_confirmation_notification": skip}
    if subscriber.webhook_secret:
        body["webhook_secret"] = subscriber.webhook_secret  # shown once, to sign-check deliveries
    return jsonify(body), 201


def _one(code: str):
    return subscribers.get(db_session(), object_id(code))


@route(bp, "/pages/<page_id>/subscribers/<subscriber_id>", methods=["GET"])
@api_auth()
def get_subscriber(page, subscriber_id):
    return jsonify(subscriber_json(_one(subscriber_id), page))


@route(bp, "/pages/<page_id>/subscribers/<subscriber_id>", methods=["PATCH"])
@api_auth()
def update_subscriber(page, subscriber_id):
    body = request_body()
    unknown = sorted(set(body) - {"component_ids"})
    if unknown:
        raise ApiError(422, "invalid", f"Unknown field(s): {', '.join(unknown)}.", unknown[0])
    session = db_session()
    subscriber = _one(subscriber_id)
    subscribers.set_components(session, subscriber, body.get("component_ids", []))
    session.commit()
    return jsonify(subscriber_json(subscriber, page))


@route(bp, "/pages/<page_id>/subscribers/<subscriber_id>", methods=["DELETE"])
@api_auth()
def delete_subscriber(page, subscriber_id):
    session = db_session()
    subscriber = _one(subscriber_id)
    body = subscriber_json(subscriber, page)
    subscribers.remove(session, subscriber, _actor())
    session.commit()
    return jsonify(body)


@route(bp, "/pages/<page_id>/subscribers/<subscriber_id>/resend_confirmation", methods=["POST"])
@api_auth()
def resend_one(page, subscriber_id):
    session = db_session()
    if not subscribers.resend_confirmation(session, _one(subscriber_id)):
        raise ApiError(422, "invalid", "This subscriber is already confirmed or is not an email subscriber.")
    session.commit()
    return jsonify({}), 201


def _bulk_targets(data: dict) -> list:
    """The subscribers a bulk call names: a list of ids, or "all" narrowed by type and state."""
    chosen = data.get("subscribers")
    session = db_session()
    if chosen == "all":
        return subscribers.search(session, "", data.get("state", "all"), data.get("type"), limit=10_000_000)
    if not isinstance(chosen, list) or not chosen or not all(isinstance(c, str) for c in chosen):
        raise ApiError(422, "invalid", 'subscribers must be a list of subscriber ids or "all".', "subscribers")
    try:
        return [subscribers.get(session, code) for code in dict.fromkeys(chosen)]
    except DomainError as exc:
        raise ApiError(404, "not_found", exc.message, "subscribers") from None


def _bulk_body() -> dict:
    body = request_body()
    unknown = sorted(set(body) - BULK_FIELDS)
    if unknown:
        raise ApiError(422, "invalid", f"Unknown field(s): {', '.join(unknown)}.", unknown[0])
    return body


@route(bp, "/pages/<page_id>/subscribers/unsubscribe", methods=["POST"])
@api_auth()
def bulk_unsubscribe(page):
    targets = _bulk_targets(_bulk_body())
    session = db_session()
    for subscriber in targets:
        subscribers.remove(session, subscriber, _actor())
    session.commit()
    return jsonify({"unsubscribed": len(targets)}), 202


@route(bp, "/pages/<page_id>/subscribers/resend_confirmation", methods=["POST"])
@api_auth()
def bulk_resend(page):
    targets = _bulk_targets(_bulk_body())
    session = db_session()
    sent = sum(subscribers.resend_confirmation(session, s) for s in targets)
    session.commit()
    return jsonify({"resent": sent}), 202
