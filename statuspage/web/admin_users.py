"""People and keys in the admin: admins manage users and sign-in throttles; everyone manages their own
password and API keys. Every change is audited by the domain (accounts)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user

from statuspage.accounts import throttle, users
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.models import User
from statuspage.web.auth import admin_required, throttle_limits
from statuspage.web.forms import confirm_delete, domain_form, flashed, or_404, refusal

bp = Blueprint("admin_users", __name__, url_prefix="/admin")


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _commit_keeping_me_signed_in(user: User) -> None:
    """Commit a change that ended `user`'s sessions; when it is the current user, sign them in again
    here (their other sessions stay ended)."""
    db_session().commit()
    if user.id == current_user.id:
        login_user(user)


# --- users (admins) --------------------------------------------------------------------------------


def _users_page(status: int = 200, **context: object) -> ResponseReturnValue:
    session = db_session()
    people = users.all_users(session)
    keys = {u.id: sum(1 for t in users.tokens_of(session, u) if t.revoked_at is None) for u in people}
    return render_template("admin/users.html", page=current_page(), users=people, keys=keys,
                           throttles=throttle.current(session, utcnow(), throttle_limits()),
                           now=utcnow(), **{"form": {}, **context}), status


@bp.get("/users")
@admin_required
def user_list() -> ResponseReturnValue:
    return _users_page()


def _create_refused(exc: DomainError, **_args: object) -> ResponseReturnValue:
    return _users_page(exc.status_code, **refusal(exc))


@bp.post("/users")
@admin_required
@domain_form(_create_refused, race="A user with that email address already exists.")
def create_user() -> ResponseReturnValue:
    user = users.create_user(db_session(), request.form.get("email", ""), request.form.get("password", ""),
                             request.form.get("role", ""), _actor())
    db_session().commit()
    flash(f"Created {user.role.value} {user.email}. Give them their password in person or over a channel "
          "you trust; they can change it under Account.")
    return redirect(url_for("admin_users.user_list"))


def _user(user_id: str) -> User:
    return or_404(users.get_user, db_session(), user_id)


def _user_page(user: User, status: int = 200, **context: object) -> ResponseReturnValue:
    return render_template("admin/user.html", page=current_page(), user=user,
                           tokens=users.tokens_of(db_session(), user), **{"form": {}, **context}), status


@bp.get("/users/<user_id>")
@admin_required
def user(user_id: str) -> ResponseReturnValue:
    return _user_page(_user(user_id))


def _user_refused(exc: DomainError, user_id: str) -> ResponseReturnValue:
    return _user_page(_user(user_id), exc.status_code, **refusal(exc))


@bp.post("/users/<user_id>/role")
@admin_required
@domain_form(_user_refused)
def change_role(user_id: str) -> ResponseReturnValue:
    person = users.change_role(db_session(), _actor(), _user(user_id), request.form.get("role"))
    _commit_keeping_me_signed_in(person)
    flash(f"{person.email} is now {person.role.value}; their sessions have ended.")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.post("/users/<user_id>/password")
@admin_required
@domain_form(_user_refused)
def reset_password(user_id: str) -> ResponseReturnValue:
    person = users.set_password(db_session(), _actor(), _user(user_id), request.form.get("password"))
    _commit_keeping_me_signed_in(person)
    flash(f"New password set for {person.email}; their sessions have ended.")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.post("/users/<user_id>/active")
@admin_required
@domain_form(_user_refused)
def set_active(user_id: str) -> ResponseReturnValue:
    active = request.form.get("active") == "true"
    person = users.set_active(db_session(), _actor(), _user(user_id), active)
    db_session().commit()
    flash(f"{'Reactivated' if active else 'Deactivated'} {person.email}.")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.route("/users/<user_id>/delete", methods=["GET", "POST"])
@admin_required
def delete_user(user_id: str) -> ResponseReturnValue:
    person = _user(user_id)
    return confirm_delete("user", person.email, lambda: users.delete_user(db_session(), _actor(), person),
                          done=url_for("admin_users.user_list"), message=f"Deleted {person.email}.",
                          note="Their API keys go with them; what they did stays in the history.")


@bp.post("/users/<user_id>/tokens/<token_id>/revoke")
@admin_required
@domain_form(flashed("admin_users.user", "user_id"))
def revoke_user_token(user_id: str, token_id: str) -> ResponseReturnValue:
    session = db_session()
    token = users.revoke_token(session, _actor(), users.get_token(session, token_id, owner=_user(user_id)))
    session.commit()
    flash(f"Revoked the key {token.name}.")
    return redirect(url_for("admin_users.user", user_id=user_id))


@bp.post("/throttles/<throttle_id>/clear")
@admin_required
@domain_form(flashed("admin_users.user_list"))
def clear_throttle(throttle_id: str) -> ResponseReturnValue:
    throttle.clear(db_session(), _actor(), throttle_id)
    db_session().commit()
    flash("Sign-in throttle cleared.")
    return redirect(url_for("admin_users.user_list"))


# --- my account (everyone) -------------------------------------------------------------------------


def _account_page(status: int = 200, **context: object) -> ResponseReturnValue:
    return render_template("admin/account.html", page=current_page(),
                           tokens=users.tokens_of(db_session(), current_user), **{"form": {}, **context}), status


def _account_refused(exc: DomainError, **_args: object) -> ResponseReturnValue:
    return _account_page(exc.status_code, **refusal(exc))


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    return _account_page()


@bp.post("/account/password")
@login_required
@domain_form(_account_refused)
def change_my_password() -> ResponseReturnValue:
    me = users.set_password(db_session(), _actor(), current_user, request.form.get("password"),
                            current_password=request.form.get("current_password", ""))
    _commit_keeping_me_signed_in(me)
    flash("Password changed. Your other sessions have ended.")
    return redirect(url_for("admin_users.account"))


@bp.post("/account/tokens")
@login_required
@domain_form(_account_refused)
def create_my_token() -> ResponseReturnValue:
    _token, raw = users.create_token(db_session(), current_user.email, request.form.get("name", ""), _actor())
    db_session().commit()
    return _account_page(201, new_key=raw, page_code=current_page().code)


@bp.post("/account/tokens/<token_id>/revoke")
@login_required
@domain_form(flashed("admin_users.account"))
def revoke_my_token(token_id: str) -> ResponseReturnValue:
    session = db_session()
    token = users.revoke_token(session, _actor(), users.get_token(session, token_id, owner=current_user))
    session.commit()
    flash(f"Revoked the key {token.name}.")
    return redirect(url_for("admin_users.account"))
