"""Public subscription pages: sign up (double opt-in), confirm, manage, and one-click unsubscribe.

The sign-up form carries no CSRF token so the public page stays one cached
body for everyone; it only ever sends a confirmation to the address given,
and is rate-limited per IP and per address so it cannot mail-bomb anyone.
Links in emails are signed tokens; the unsubscribe POST is RFC 8058's
one-click (no session, no token but the link's).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy.exc import IntegrityError

from ..api.common import current_page
from ..components import all_components
from ..errors import DomainError
from ..extensions import csrf, limiter
from ..models import Subscriber
from ..notify import subscribers, tokens
from .session import db_session

bp = Blueprint("subscriptions", __name__)


def _address_key() -> str:
    return "subscribe:" + request.form.get("email", "").strip().lower()


def _secret() -> str:
    return current_app.config["STATUSPAGE"].secret_key


def _render(template: str, status: int = 200, **context):
    session = db_session()
    return render_template(template, page=current_page(), components=all_components(session),
                           **context), status


def _from_token(purpose: str, token: str) -> Subscriber | None:
    """The subscriber a valid link names; None when it was removed; 400 when the link is broken."""
    found = tokens.read(_secret(), purpose, token)
    if found is None:
        abort(400, "This link is broken or incomplete. Copy the whole link from the email.")
    code, nonce = found
    try:
        subscriber = subscribers.get(db_session(), code)
    except DomainError:
        return None
    return subscriber if subscriber.token_nonce == nonce else None


@bp.get("/subscribe")
def subscribe_form():
    return _render("public/subscribe.html", form={})


@bp.post("/subscribe")
@csrf.exempt
@limiter.limit("10 per hour")
@limiter.limit("3 per hour", key_func=_address_key)
def subscribe():
    page = current_page()
    if not page.allow_email_subscribers:
        abort(404, "This page does not take email subscribers.")
    session = db_session()
    try:
        subscribers.subscribe_email(session, request.form.get("email"), request.form.getlist("component_ids"))
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _render("public/subscribe.html", 422, form=request.form, error=exc.message)
    except IntegrityError:
        # The same address was signed up a moment ago by another request: answer as always.
        session.rollback()
    return _render("public/subscribed.html")


@bp.get("/subscribers/confirm/<token>")
def confirm(token: str):
    subscriber = _from_token("confirm", token)
    if subscriber is None:
        return _render("public/subscription_gone.html")
    first_time = subscribers.confirm(db_session(), subscriber)
    db_session().commit()
    manage = tokens.make(_secret(), "manage", subscriber.code, subscriber.token_nonce)
    return _render("public/confirmed.html", first_time=first_time, manage_token=manage)


@bp.route("/subscribers/manage/<token>", methods=["GET", "POST"])
def manage(token: str):
    subscriber = _from_token("manage", token)
    if subscriber is None:
        return _render("public/subscription_gone.html")
    unsubscribe = tokens.make(_secret(), "unsubscribe", subscriber.code, subscriber.token_nonce)
    saved = False
    if request.method == "POST":
        try:
            subscribers.set_components(db_session(), subscriber, request.form.getlist("component_ids"))
        except DomainError as exc:
            db_session().rollback()
            return _render("public/manage.html", 422, subscriber=subscriber, error=exc.message,
                           unsubscribe_token=unsubscribe)
        db_session().commit()
        saved = True
    return _render("public/manage.html", subscriber=subscriber, saved=saved, unsubscribe_token=unsubscribe)


@bp.route("/subscribers/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    subscriber = _from_token("unsubscribe", token)
    if request.method == "GET":
        if subscriber is None:
            return _render("public/subscription_gone.html")
        return _render("public/unsubscribe.html", subscriber=subscriber, token=token)
    if subscriber is not None:
        subscribers.remove(db_session(), subscriber)
        db_session().commit()
    return _render("public/unsubscribed.html")
