"""Public subscription pages: sign up by email or webhook (double opt-in), confirm, manage, and one-click unsubscribe.

The sign-up forms carry no CSRF token so the public page stays one cached
body for everyone; they only ever send a confirmation to the address given,
and are rate-limited per IP and per (normalized) address so they cannot
mail-bomb anyone. Links in emails are signed tokens. Opening a confirmation
link only shows a button: mail scanners that follow every link must not
confirm on their own, so confirming is a POST. The unsubscribe POST is
RFC 8058's one-click (no session, no token but the link's).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from statuspage.accounts.users import clean_email
from statuspage.components.catalog import all_components
from statuspage.edge.extensions import csrf, limiter
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.models import Subscriber, SubscriberMode
from statuspage.notify import subscribers, tokens
from statuspage.outbound import guard
from statuspage.web.forms import domain_form

bp = Blueprint("subscriptions", __name__)


def _address_key() -> str:
    """The per-address limit counts an address however it is spelled (case, Unicode or IDNA domain)."""
    raw = request.form.get("email", "")
    try:
        address = clean_email(raw)
    except DomainError:
        address = raw.strip().lower()
    return "subscribe:" + address


# Shared by both forms, so the webhook form is no second allowance of mail per IP or per address.
_per_ip = limiter.shared_limit("10 per hour", scope="subscribe-ip")
_per_address = limiter.shared_limit("3 per hour", scope="subscribe-address", key_func=_address_key)


def _settings():
    return current_app.config["STATUSPAGE"]


def _secret() -> str:
    return _settings().secret_key


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    return render_template(template, page=current_page(), components=all_components(session),
                           **context), status


def _from_token(purpose: str, token: str) -> tuple[Subscriber | None, tokens.Link]:
    """The subscriber a valid link names (None when it was removed) and the link; 400 when it is broken."""
    found = tokens.read(_secret(), purpose, token)
    if found is None:
        abort(400, "This link is broken or incomplete. Copy the whole link from the email.")
    try:
        subscriber = subscribers.get(db_session(), found.code)
    except DomainError:
        return None, found
    return (subscriber if subscriber.token_nonce == found.nonce else None), found


def _email_refused(exc: DomainError, **_view_args: Any) -> ResponseReturnValue:
    return _render("public/subscribe.html", 422, form=request.form, error=exc.message)


def _webhook_refused(exc: DomainError, **_view_args: Any) -> ResponseReturnValue:
    return _render("public/subscribe.html", 422, form={}, webhook_form=request.form, webhook_error=exc.message)


@bp.get("/subscribe")
def subscribe_form():
    return _render("public/subscribe.html", form={})


@bp.post("/subscribe")
@csrf.exempt
@_per_ip
@_per_address
@domain_form(_email_refused)
def subscribe():
    page = current_page()
    if not page.allow_email_subscribers:
        abort(404, "This page does not take email subscribers.")
    session = db_session()
    try:
        subscribers.subscribe_email(session, request.form.get("email"), request.form.getlist("component_ids"))
        session.commit()
    except IntegrityError:
        # The same address was signed up a moment ago by another request: answer as always.
        session.rollback()
    return _render("public/subscribed.html")


@bp.post("/subscribe/webhook")
@csrf.exempt
@_per_ip
@_per_address
@domain_form(_webhook_refused)
def subscribe_webhook():
    page = current_page()
    if not page.allow_webhook_subscribers:
        abort(404, "This page does not take webhook subscribers.")
    session = db_session()
    try:
        subscribers.subscribe_webhook(session, request.form.get("endpoint"), request.form.get("email"),
                                      request.form.getlist("component_ids"),
                                      guard.Policy.for_subscribers(_settings()))
        session.commit()
    except IntegrityError:
        session.rollback()
    return _render("public/subscribed.html", webhook=True)


@bp.get("/subscribers/confirm/<token>")
def confirm_form(token: str):
    subscriber, _link = _from_token("confirm", token)
    if subscriber is None:
        return _render("public/subscription_gone.html")
    if subscriber.confirmed_at is not None:
        return _confirmed(subscriber, first_time=False)
    return _render("public/confirm.html", subscriber=subscriber, token=token)


@bp.post("/subscribers/confirm/<token>")
@csrf.exempt
def confirm(token: str):
    subscriber, link = _from_token("confirm", token)
    if subscriber is None:
        return _render("public/subscription_gone.html")
    first_time = subscribers.confirm(db_session(), subscriber, link.components)
    db_session().commit()
    # The signing secret is shown once, to whoever confirms; a later click on the link shows none.
    return _confirmed(subscriber, first_time, show_secret=first_time)


def _confirmed(subscriber: Subscriber, first_time: bool, show_secret: bool = False):
    manage = tokens.make(_secret(), "manage", subscriber.code, subscriber.token_nonce)
    secret = subscriber.webhook_secret if show_secret and subscriber.mode == SubscriberMode.WEBHOOK else None
    return _render("public/confirmed.html", subscriber=subscriber, first_time=first_time, manage_token=manage,
                   webhook_secret=secret)


def _manage_page(subscriber: Subscriber, status: int = 200, **context: Any) -> ResponseReturnValue:
    unsubscribe = tokens.make(_secret(), "unsubscribe", subscriber.code, subscriber.token_nonce)
    return _render("public/manage.html", status, subscriber=subscriber, unsubscribe_token=unsubscribe, **context)


def _manage_refused(exc: DomainError, token: str) -> ResponseReturnValue:
    subscriber, _link = _from_token("manage", token)
    if subscriber is None:
        return _render("public/subscription_gone.html")
    return _manage_page(subscriber, 422, error=exc.message)


@bp.route("/subscribers/manage/<token>", methods=["GET", "POST"])
@domain_form(_manage_refused)
def manage(token: str):
    subscriber, _link = _from_token("manage", token)
    if subscriber is None:
        return _render("public/subscription_gone.html")
    if request.method == "POST":
        subscribers.set_components(db_session(), subscriber, request.form.getlist("component_ids"))
        db_session().commit()
    return _manage_page(subscriber, saved=request.method == "POST")


@bp.route("/subscribers/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    subscriber, _link = _from_token("unsubscribe", token)
    if request.method == "GET":
        if subscriber is None:
            return _render("public/subscription_gone.html")
        return _render("public/unsubscribe.html", subscriber=subscriber, token=token)
    if subscriber is not None:
        subscribers.remove(db_session(), subscriber)
        db_session().commit()
    return _render("public/unsubscribed.html")
