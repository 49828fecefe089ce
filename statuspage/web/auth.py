"""Sign-in and sign-out for responders, throttled against password guessing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from statuspage.accounts.users import authenticate
from statuspage.edge.extensions import limiter, login_manager
from statuspage.edge.session import db_session
from statuspage.models import User

bp = Blueprint("auth", __name__)
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db_session().get(User, int(user_id))
    return user if user is not None and user.active else None


def _login_rate() -> str:
    return current_app.config["STATUSPAGE"].login_rate_limit


def _email_key() -> str:
    return "login-email:" + request.form.get("email", "").strip().lower()


def _failed_sign_in(response) -> bool:
    """Only a refused password counts against the allowance; signing in costs nothing."""
    return response.status_code == 401


def safe_next(target: str | None) -> str:
    """Only redirect within this site after sign-in."""
    # Browsers read a backslash as a slash and drop tabs and newlines, so "/\\host" and
    # "/\t/host" would leave the site if a redirect ever passed them through unquoted.
    if (target and target.startswith("/") and not target.startswith("//")
            and not urlsplit(target).netloc and "\\" not in target and target.isprintable()):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
# Per client address and per email address. With deduct_when the limiter only tests the
# allowance before the view and takes one from it when the answer is a refusal (401).
@limiter.limit(_login_rate, methods=["POST"], deduct_when=_failed_sign_in)
@limiter.limit(_login_rate, methods=["POST"], key_func=_email_key, deduct_when=_failed_sign_in)
def login():
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        session = db_session()
        user = authenticate(session, email, password) if email and password else None
        if user is not None:
            session.commit()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        error = "Wrong email or password."
    return render_template("auth/login.html", error=error), 401 if error else 200


@bp.post("/logout")
@login_required
def logout():
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
