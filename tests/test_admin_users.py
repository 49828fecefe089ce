"""People and keys in the admin: admins manage users and throttles, everyone their own password and keys."""

from __future__ import annotations

import re

from sqlalchemy import select

from statuspage.accounts import throttle, users
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.models import ApiToken, AuditEntry, Role, SignInThrottle, User
from tests.conftest import PASSWORD, post_form


def form(client, path: str, data: dict, token_from: str):
    return post_form(client, path, data, token_from=token_from)


def test_responders_cannot_open_the_users_page(client, login_as):
    login_as("responder")

    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/account").status_code == 200


def test_an_admin_adds_a_user_and_a_refusal_keeps_what_was_typed(client, login_as, session):
    login_as("admin")

    added = form(client, "/admin/users", {"email": "new@example.com", "role": "responder",
                                          "password": "a long first password"}, "/admin/users")
    refused = form(client, "/admin/users", {"email": "other@example.com", "role": "responder",
                                            "password": "short"}, "/admin/users")

    assert added.status_code == 302
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "at least 10 characters" in page and 'value="other@example.com"' in page
    assert [u.email for u in session.scalars(select(User).order_by(User.id))] == ["admin@example.com",
                                                                                  "new@example.com"]


def test_an_admin_changes_a_role_resets_a_password_deactivates_and_deletes(client, login_as, session, make_user):
    login_as("admin")
    person = make_user("ops@example.com", "responder")
    person_id = person.id
    path = f"/admin/users/{person_id}"

    assert form(client, f"{path}/role", {"role": "admin"}, path).status_code == 302
    assert form(client, f"{path}/password", {"password": "another long password"}, path).status_code == 302
    assert form(client, f"{path}/active", {"active": "false"}, path).status_code == 302
    session.expire_all()
    assert (person.role, person.active) == (Role.ADMIN, False)
    assert users.authenticate(session, "ops@example.com", "another long password") is None  # deactivated

    assert form(client, f"{path}/delete", {"confirm_name": "ops@example.com"}, f"{path}/delete").status_code == 302
    session.expire_all()
    assert session.get(User, person_id) is None
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-4:] == ["user.role", "user.password", "user.deactivate", "user.delete"]


def test_the_last_admin_cannot_demote_themselves(client, login_as):
    me = login_as("admin")

    response = form(client, f"/admin/users/{me.id}/role", {"role": "responder"}, f"/admin/users/{me.id}")

    assert response.status_code == 409
    assert "only active admin" in response.get_data(as_text=True)


def test_an_admin_who_changes_their_own_password_stays_signed_in(client, login_as):
    me = login_as("admin")

    form(client, f"/admin/users/{me.id}/password", {"password": "another long password"}, f"/admin/users/{me.id}")

    assert client.get("/admin/").status_code == 200


def test_everyone_changes_their_own_password_with_the_current_one(client, login_as, session):
    login_as("responder")

    wrong = form(client, "/admin/account/password", {"current_password": "not it", "password": "a new password!"},
                 "/admin/account")
    right = form(client, "/admin/account/password", {"current_password": PASSWORD, "password": "a new password!"},
                 "/admin/account")

    assert wrong.status_code == 422 and "current password is not right" in wrong.get_data(as_text=True)
    assert right.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert users.authenticate(session, "responder@example.com", "a new password!") is not None


def test_a_new_key_is_shown_once_works_and_can_be_revoked(client, login_as, session, page_code):
    me = login_as("responder")

    created = form(client, "/admin/account/tokens", {"name": "deploy pipeline"}, "/admin/account")

    assert created.status_code == 201
    raw = re.search(r'<code class="secret">(sp_[^<]+)</code>', created.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"OAuth {raw}"}
    assert client.get(f"/api/v1/pages/{page_code}/components", headers=headers).status_code == 200
    listing = client.get("/admin/account").get_data(as_text=True)
    assert "deploy pipeline" in listing and raw not in listing
    [token] = session.scalars(select(ApiToken).where(ApiToken.user_id == me.id))

    revoked = form(client, f"/admin/account/tokens/{token.id}/revoke", {}, "/admin/account")

    assert revoked.status_code == 302
    assert client.get(f"/api/v1/pages/{page_code}/components", headers=headers).status_code == 401
    assert "revoked" in client.get("/admin/account").get_data(as_text=True)


def test_nobody_revokes_someone_elses_key_from_their_own_account(client, login_as, session, make_user):
    login_as("responder")
    other = make_user("other@example.com", "responder")
    token, _raw = users.create_token(session, other.email, "theirs", Actor.system("test"))
    session.commit()

    response = form(client, f"/admin/account/tokens/{token.id}/revoke", {}, "/admin/account")

    assert response.status_code == 302
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is None


def test_an_admin_sees_and_clears_a_sign_in_throttle(client, login_as, session):
    login_as("admin")
    limits = throttle.Limits(per_client_and_email=1)
    throttle.record_failure(session, "198.51.100.9", "ops@example.com", utcnow(), limits)
    session.commit()
    page = client.get("/admin/users").get_data(as_text=True)
    assert "198.51.100.9" in page and "ops@example.com" in page
    [row] = session.scalars(select(SignInThrottle).where(SignInThrottle.email == "ops@example.com"))

    assert form(client, f"/admin/throttles/{row.id}/clear", {}, "/admin/users").status_code == 302

    session.expire_all()
    assert session.scalars(select(SignInThrottle).where(SignInThrottle.email == "ops@example.com")).first() is None
    assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)) == \
        "sign_in_throttle.clear"


def test_unknown_users_and_keys_are_404(client, login_as):
    login_as("admin")

    assert client.get("/admin/users/99999").status_code == 404
    assert client.get("/admin/users/not-a-number").status_code == 404
