"""The management API v1 for subscribers (Statuspage's subset)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

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
from statuspage.api.schemas.base import Wrapped
from statuspage.api.schemas.subscribers import (
    BULK,
    MODES,
    REACTIVATE,
    STATES,
    SUBSCRIBER_COMPONENTS,
    SUBSCRIBER_CREATE,
    SUBSCRIBER_PAGING,
    TYPES,
    UNSUBSCRIBED_PAGING,
    SubscriberCreatedJson,
)
from statuspage.audit import Actor
from statuspage.edge.extensions import csrf
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.models import SubscriberMode
from statuspage.notify import subscribers
from statuspage.outbound import guard
from statuspage.shapes import subscriber_json

bp = Blueprint("api_v1_subscribers", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)


def _actor() -> Actor:
    return Actor.for_user(api_user(), "api")


def _type(value: Any) -> tuple[str | None, bool]:
    """(our mode or None for every mode, whether anyone can match) for Statuspage's `type`."""
    if value in (None, ""):
        return None, True
    if value not in TYPES:
        raise ApiError(422, "invalid", f"type must be one of: {', '.join(TYPES)}.", "type")
    return (value, True) if value in MODES else (None, False)


def _state(value: Any, default: str) -> str:
    state = default if value in (None, "") else value
    if state not in (*STATES, "all"):
        raise ApiError(422, "invalid", "state must be active, unconfirmed, quarantined or all.", "state")
    return state


def _filters() -> tuple[str, str, str | None, bool]:
    """q, state (default active, as Statuspage), mode, and whether the type can match anyone."""
    mode, offered = _type(request.args.get("type"))
    return query_text("q"), _state(request.args.get("state"), "active"), mode, offered


@route(bp, "/pages/<page_id>/subscribers", methods=["GET"])
@api_auth()
def list_subscribers(page):
    # Statuspage numbers these pages from 0: page=n skips n * limit subscribers.
    limit, number = SUBSCRIBER_PAGING.parse()
    q, state, mode, offered = _filters()
    if not offered:
        return jsonify([])
    found = subscribers.search(db_session(), q, state, mode, limit, number * limit)
    return jsonify([subscriber_json(s, page) for s in found])


@route(bp, "/pages/<page_id>/subscribers/count", methods=["GET"])
@api_auth()
def count_subscribers(page):
    q, state, mode, offered = _filters()
    counts = dict.fromkeys(TYPES, 0)
    if offered:
        for each in [mode] if mode else MODES:
            counts[each] = subscribers.count(db_session(), q, state, each)
    return jsonify(counts)


@route(bp, "/pages/<page_id>/subscribers/histogram_by_state", methods=["GET"])
@api_auth()
def histogram_by_state(page):
    session = db_session()
    histogram = {kind: {**dict.fromkeys(STATES, 0), "total": 0} for kind in TYPES}
    for state in (*STATES, "all"):
        for mode, number in subscribers.counts_by_mode(session, state).items():
            histogram[mode.value]["total" if state == "all" else state] = number
    return jsonify(histogram)


@route(bp, "/pages/<page_id>/subscribers/unsubscribed", methods=["GET"])
@api_auth()
def list_unsubscribed(page):
    UNSUBSCRIBED_PAGING.parse()
    # Unsubscribing removes a subscriber with their address (nothing is kept to list), so this
    # list is always empty; Statuspage's clients still get the shape they expect.
    return jsonify([])


@route(bp, "/pages/<page_id>/subscribers", methods=["POST"])
@api_auth()
def create_subscriber(page):
    new = SUBSCRIBER_CREATE.parse(request_body())
    session = db_session()
    settings = current_app.config["STATUSPAGE"]
    skip = new.skip_confirmation_notification
    if skip:
        require_admin()  # opting someone in without their consent is an admin's call
    if new.mode == SubscriberMode.SMS and not settings.sms_offered:
        raise ApiError(422, "invalid", "SMS subscribers cannot be added: texts are not set up on this server "
                                       "(STATUSPAGE_SMS_PROVIDER).", "phone_number")
    subscriber = subscribers.create(
        session, _actor(), mode=new.mode, email=new.email, endpoint=new.endpoint, phone_number=new.phone_number,
        phone_country=new.phone_country, component_codes=new.component_ids, skip_confirmation=skip,
        policy=guard.Policy.for_subscribers(settings),
    )
    session.commit()
    # What was applied: a subscriber opted in without a confirmation (webhooks never get one).
    applied = skip and subscriber.mode != SubscriberMode.WEBHOOK and subscriber.confirmed_at is not None
    body: SubscriberCreatedJson = {**subscriber_json(subscriber, page), "skip_confirmation_notification": applied}
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
    chosen = SUBSCRIBER_COMPONENTS.parse(request_body()).sent()
    session = db_session()
    subscriber = _one(subscriber_id)
    subscribers.set_components(session, subscriber, chosen.get("component_ids", []))
    session.commit()
    return jsonify(subscriber_json(subscriber, page))


@route(bp, "/pages/<page_id>/subscribers/<subscriber_id>", methods=["DELETE"])
@api_auth(admin_only=True)
def delete_subscriber(page, subscriber_id):
    subscribers.clean_flag(request.args.get("skip_unsubscription_notification", False),
                           "skip_unsubscription_notification")  # we send no such mail either way
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
        raise ApiError(422, "invalid", "This subscriber is already confirmed, or is a webhook or SMS subscriber "
                                       "(who confirm through their own sign-up).")
    session.commit()
    return jsonify({}), 201


def _bulk_targets(data: dict, default_state: str) -> list:
    """The subscribers a bulk call names: a list of ids, or "all" narrowed by type and state."""
    chosen = data.get("subscribers")
    session = db_session()
    mode, offered = _type(data.get("type"))
    state = _state(data.get("state"), default_state)
    if chosen == "all":
        return subscribers.search(session, "", state, mode, limit=10_000_000) if offered else []
    if not isinstance(chosen, list) or not chosen or not all(isinstance(c, str) for c in chosen):
        raise ApiError(422, "invalid", 'subscribers must be a list of subscriber ids or "all".', "subscribers")
    try:
        return [subscribers.get(session, code) for code in dict.fromkeys(chosen)]
    except DomainError as exc:
        raise ApiError(404, "not_found", exc.message, "subscribers") from None


def _bulk_body(declared: Wrapped = BULK) -> dict:
    """The body of a bulk call, checked (`skip_unsubscription_notification` is read and ignored: we send no
    such mail either way)."""
    return declared.parse(request_body()).sent()


@route(bp, "/pages/<page_id>/subscribers/unsubscribe", methods=["POST"])
@api_auth(admin_only=True)
def bulk_unsubscribe(page):
    targets = _bulk_targets(_bulk_body(), default_state="active")
    session = db_session()
    for subscriber in targets:
        subscribers.remove(session, subscriber, _actor())
    session.commit()
    return jsonify({"unsubscribed": len(targets)}), 201


@route(bp, "/pages/<page_id>/subscribers/resend_confirmation", methods=["POST"])
@api_auth()
def bulk_resend(page):
    targets = _bulk_targets(_bulk_body(), default_state="unconfirmed")
    session = db_session()
    sent = sum(subscribers.resend_confirmation(session, s) for s in targets)
    session.commit()
    return jsonify({"resent": sent}), 201


@route(bp, "/pages/<page_id>/subscribers/reactivate", methods=["POST"])
@api_auth()
def bulk_reactivate(page):
    targets = _bulk_targets(_bulk_body(REACTIVATE), default_state="quarantined")
    session = db_session()
    actor = _actor()
    reactivated = sum(subscribers.reactivate(session, s, actor) for s in targets)
    session.commit()
    return jsonify({"reactivated": reactivated}), 201
