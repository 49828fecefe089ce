"""Sign-in and sign-out for responders, throttled against password guessing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_required, login_user, logout_user
from limits import parse

from statuspage.accounts import throttle
from statuspage.accounts.users import authenticate, end_sessions
from statuspage.db import utcnow
from statuspage.edge.extensions import login_manager
from statuspage.edge.session import db_session
from statuspage.models import User
from statuspage.probes.attention import waiting

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."


@login_manager.user_loader
def _load_user(cookie_id: str) -> User | None:
    """The user a session cookie names, if it was signed in under their current session version."""
    user_id, _sep, version = cookie_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None  # a cookie from before session versions: sign in again
    user = db_session().get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def throttle_limits() -> throttle.Limits:
    """The failures allowed per client address and email (STATUSPAGE_LOGIN_RATE_LIMIT, e.g. "10 per
    minute": ten failures, then a lock of one minute that doubles), five times that per address."""
    allowance = parse(current_app.config["STATUSPAGE"].login_rate_limit)
    return throttle.Limits(per_client_and_email=allowance.amount, per_client=5 * allowance.amount,
                           first_lock=timedelta(seconds=allowance.get_expiry()))


def _throttled(wait: int):
    response = make_response(render_template(
        "auth/login.html", error=f"Too many failed sign-ins from your address: try again in "
                                 f"{max(1, round(wait / 60))} minute{'s' if wait > 90 else ''}."), 429)
    response.headers["Retry-After"] = str(wait)
    return response


def local_target(target: str | None) -> str | None:
    """`target` if it is a path within this site, else None."""
    # Browsers read a backslash as a slash and drop tabs and newlines, so "/\\host" and
    # "/\t/host" would leave the site if a redirect ever passed them through unquoted.
    if (target and target.startswith("/") and not target.startswith("//")
            and not urlsplit(target).netloc and "\\" not in target and target.isprintable()):
        return target
    return None


def safe_next(target: str | None) -> str:
    """Only redirect within this site: `target` if it stays here, else the admin's dashboard."""
    return local_target(target) or url_for("admin.dashboard")


def landing() -> str:
    """Where sign-in leads when no page asked for it: the Incidents page while drafts or unexplained
    outages wait for a responder (it shows them first), else the dashboard."""
    if waiting(db_session()):
        return url_for("admin_incidents.incidents")
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("auth/login.html", error=None)
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    client = request.remote_addr or "unknown"
    session = db_session()
    now = utcnow()
    wait = throttle.wait_seconds(session, client, email, now)
    if wait:
        return _throttled(wait)
    user = authenticate(session, email, password) if email and password else None
    if user is None:
        throttle.record_failure(session, client, email, now, throttle_limits())
        session.commit()
        return render_template("auth/login.html", error="Wrong email or password."), 401
    session.commit()
    flask_session.permanent = True  # expires after STATUSPAGE_SESSION_IDLE_HOURS without a request
    login_user(user)
    return redirect(local_target(request.args.get("next")) or landing())


@bp.post("/logout")
@login_required
def logout():
    """Sign out here and everywhere: the session version moves, so every copy of the cookie dies."""
    end_sessions(current_user)
    db_session().commit()
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


def admin_required(view: Callable) -> Callable:
    """Allow only signed-in admins (responders get 403)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403, "Only an admin can do this.")
        return view(*args, **kwargs)

    return wrapper
