"""Public subscription pages: sign up by email, webhook, chat webhook (double opt-in) or SMS (a texted code),
confirm, manage, and one-click unsubscribe.

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

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from statuspage.accounts.users import clean_email
from statuspage.components.catalog import all_components
from statuspage.edge.extensions import csrf, limiter
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.models import CHAT_MODES, Subscriber, SubscriberMode
from statuspage.notify import phone, subscribers, tokens
from statuspage.notify.channels import CHANNELS
from statuspage.notify.channels.sms import clean_phone
from statuspage.outbound import guard
from statuspage.web.forms import domain_form

bp = Blueprint("subscriptions", __name__)
CHAT_CHOICES = [(mode.value, CHANNELS[mode].label) for mode in CHAT_MODES]


def _address_key() -> str:
    """The per-address limit counts an address however it is spelled (case, Unicode or IDNA domain; a
    phone number's spacing); a chat sign-up counts its URL, an SMS sign-up its number."""
    if "phone_number" in request.form:
        try:
            return "subscribe:" + clean_phone(request.form["phone_number"], request.form.get("phone_country"))[0]
        except DomainError:
            return "subscribe:" + "".join(c for c in request.form["phone_number"] if c.isdigit())
    if "mode" in request.form:
        return "subscribe:" + request.form.get("endpoint", "").strip()
    raw = request.form.get("email", "")
    try:
        address = clean_email(raw)
    except DomainError:
        address = raw.strip().lower()
    return "subscribe:" + address


# Shared by every form, so no form is a second allowance of messages per IP or per address.
_per_ip = limiter.shared_limit("10 per hour", scope="subscribe-ip")
_per_address = limiter.shared_limit("3 per hour", scope="subscribe-address", key_func=_address_key)
# Typing SMS codes: a few wrong tries void a code (notify.phone); this bounds the guessing per client.
_codes_per_ip = limiter.shared_limit("30 per hour", scope="sms-code-ip")


def _settings():
    return current_app.config["STATUSPAGE"]


def _secret() -> str:
    return _settings().secret_key


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    return render_template(template, page=current_page(), components=all_components(session),
                           sms_offered=_settings().sms_offered, chat_modes=CHAT_CHOICES, **context), status


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


def _chat_refused(exc: DomainError, **_view_args: Any) -> ResponseReturnValue:
    return _render("public/subscribe.html", 422, form={}, chat_form=request.form, chat_error=exc.message)


def _sms_refused(exc: DomainError, **_view_args: Any) -> ResponseReturnValue:
    return _render("public/subscribe.html", 422, form={}, sms_form=request.form, sms_error=exc.message)


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


@bp.post("/subscribe/chat")
@csrf.exempt
@_per_ip
@_per_address
@domain_form(_chat_refused)
def subscribe_chat():
    if not current_page().allow_webhook_subscribers:
        abort(404, "This page does not take webhook subscribers.")
    session = db_session()
    try:
        subscribers.subscribe_chat(session, request.form.get("mode"), request.form.get("endpoint"),
                                   request.form.getlist("component_ids"), guard.Policy.for_subscribers(_settings()))
        session.commit()
    except IntegrityError:
        session.rollback()
    return _render("public/subscribed.html", chat=True)


def _sms_on() -> None:
    if not _settings().sms_offered:
        abort(404, "This page does not send texts.")


def _sms_token() -> str:
    """The sign-up token a code form carries (404 when texts are off)."""
    _sms_on()
    return request.form.get("token", "")


@bp.post("/subscribe/sms")
@csrf.exempt
@_per_ip
@_per_address
@domain_form(_sms_refused)
def subscribe_sms():
    _sms_on()
    session = db_session()
    number = request.form.get("phone_number")
    token = phone.subscribe_sms(session, number, request.form.get("phone_country"),
                                request.form.getlist("component_ids"), _secret())
    session.commit()
    return _render("public/sms_code.html", token=token, number=phone.masked_number(number,
                                                                                  request.form.get("phone_country")))


@bp.post("/subscribe/sms/resend")
@csrf.exempt
@_per_ip
def resend_sms_code():
    token = _sms_token()
    session = db_session()
    if not phone.resend(session, token, _secret()):
        return _render("public/sms_code.html", 422, token="", error=SMS_CODE_REFUSED)
    session.commit()
    return _render("public/sms_code.html", token=token, resent=True)


# One message for every reason a code is refused, so the page never tells whether a number is known.
SMS_CODE_REFUSED = "That code is not right or has expired. Check it, or ask for a new one."


@bp.post("/subscribe/sms/verify")
@csrf.exempt
@_codes_per_ip
def verify_sms_code():
    token = _sms_token()
    session = db_session()
    verified = phone.verify_sms(session, token, request.form.get("code"), _secret())
    session.commit()  # a wrong try is counted either way
    if verified is None:
        return _render("public/sms_code.html", 422, token=token, error=SMS_CODE_REFUSED)
    subscriber, first_time = verified
    return _confirmed(subscriber, first_time)


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
    return _unsubscribe(subscriber, url_for("subscriptions.unsubscribe", token=token))


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_short(token: str):
    """The short unsubscribe link of a text message (tokens.short)."""
    found = tokens.read_short(token)
    if found is None:
        abort(400, "This link is broken or incomplete. Copy the whole link from the message.")
    try:
        subscriber: Subscriber | None = subscribers.get(db_session(), found[0])
    except DomainError:
        subscriber = None
    if subscriber is not None and not tokens.short_matches(_secret(), subscriber.code, subscriber.token_nonce,
                                                           found[1]):
        subscriber = None
    return _unsubscribe(subscriber, url_for("subscriptions.unsubscribe_short", token=token))


def _unsubscribe(subscriber: Subscriber | None, action: str) -> ResponseReturnValue:
    """GET asks (link scanners must not unsubscribe anyone); POST removes (RFC 8058's one-click)."""
    if request.method == "GET":
        if subscriber is None:
            return _render("public/subscription_gone.html")
        return _render("public/unsubscribe.html", subscriber=subscriber, action=action)
    if subscriber is not None:
        subscribers.remove(db_session(), subscriber)
        db_session().commit()
    return _render("public/unsubscribed.html")
