"""Access that can be taken back: sessions end on sign-out and on every change to a user, keys can be
revoked, users deactivated or deleted, and the page always keeps an admin."""

from __future__ import annotations

import re
import time

import pytest
import requests
from sqlalchemy import func, select

from statuspage.accounts import users
from statuspage.audit import Actor
from statuspage.errors import Conflict, InvalidInput
from statuspage.models import ApiToken, AuditEntry, Role, User
from tests.conftest import PASSWORD

ADMIN = Actor.system("test")


def browser_sign_in(origin: str, email: str, password: str = PASSWORD) -> requests.Session:
    """A real sign-in over HTTP, as a browser does it: the form's CSRF token, then the POST."""
    browser = requests.Session()
    form = browser.get(origin + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = browser.post(origin + "/login", data={"csrf_token": token, "email": email, "password": password},
                          timeout=10, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return browser


def opens_admin(origin: str, cookie: str) -> bool:
    answer = requests.get(origin + "/admin/", cookies={"session": cookie}, timeout=10, allow_redirects=False)
    return answer.status_code == 200


def sign_out(origin: str, browser: requests.Session) -> None:
    page = browser.get(origin + "/admin/", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post(origin + "/logout", data={"csrf_token": token}, timeout=10,
                        allow_redirects=False).status_code == 302


# --- sessions -------------------------------------------------------------------------------------


def test_a_cookie_captured_before_sign_out_opens_nothing_after_it(live_server, make_user):
    make_user("ops@example.com", "responder")
    browser = browser_sign_in(live_server, "ops@example.com")
    captured = browser.cookies["session"]
    assert opens_admin(live_server, captured)

    sign_out(live_server, browser)

    assert not opens_admin(live_server, captured)


@pytest.mark.parametrize("change", ["password", "role", "deactivate"])
def test_a_change_to_a_user_ends_their_sessions_everywhere(live_server, make_user, session, change):
    make_user("boss@example.com", "admin")
    user = make_user("ops@example.com", "responder")
    cookie = browser_sign_in(live_server, "ops@example.com").cookies["session"]
    assert opens_admin(live_server, cookie)

    if change == "password":
        users.set_password(session, ADMIN, user, "a brand new password")
    elif change == "role":
        users.change_role(session, ADMIN, user, "admin")
    else:
        users.set_active(session, ADMIN, user, False)
    session.commit()

    assert not opens_admin(live_server, cookie)


def test_a_session_unused_for_the_idle_time_has_expired(app, make_user, client, monkeypatch):
    from tests.test_auth import sign_in

    make_user("ops@example.com", "responder")
    assert sign_in(client, "ops@example.com", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200
    idle = app.permanent_session_lifetime.total_seconds()

    later = time.time() + idle + 60
    monkeypatch.setattr(time, "time", lambda: later)

    assert client.get("/admin/").status_code == 302
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600  # the default


def test_the_session_cookie_is_refreshed_while_it_is_used(client, make_user):
    from tests.test_auth import sign_in

    make_user("ops@example.com", "responder")
    sign_in(client, "ops@example.com", PASSWORD)

    response = client.get("/admin/")

    assert "session=" in response.headers.get("Set-Cookie", "")


# --- API keys -------------------------------------------------------------------------------------


def test_a_revoked_key_is_refused_at_once(client, session, make_user, page_code):
    user = make_user("ops@example.com", "responder")
    token, raw = users.create_token(session, user.email, "deploy bot", ADMIN)
    session.commit()
    headers = {"Authorization": f"OAuth {raw}"}
    assert client.get(f"/api/v1/pages/{page_code}/components", headers=headers).status_code == 200

    users.revoke_token(session, ADMIN, token)
    session.commit()

    answer = client.get(f"/api/v1/pages/{page_code}/components", headers=headers)
    assert answer.status_code == 401
    assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)) == "token.revoke"


def test_a_key_notes_when_it_was_last_used(client, session, make_user, page_code):
    user = make_user("ops@example.com", "responder")
    token, raw = users.create_token(session, user.email, "deploy bot", ADMIN)
    session.commit()
    assert token.last_used_at is None

    client.get(f"/api/v1/pages/{page_code}/components", headers={"Authorization": f"OAuth {raw}"})

    session.expire_all()
    assert session.get(ApiToken, token.id).last_used_at is not None


def test_the_key_of_a_deleted_user_is_refused_not_an_error(client, session, make_user, page_code):
    make_user("boss@example.com", "admin")
    user = make_user("ops@example.com", "responder")
    _token, raw = users.create_token(session, user.email, "deploy bot", ADMIN)
    session.commit()

    users.delete_user(session, ADMIN, user)
    session.commit()

    answer = client.get(f"/api/v1/pages/{page_code}/components", headers={"Authorization": f"OAuth {raw}"})
    assert answer.status_code == 401
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


# --- the page always keeps an admin ---------------------------------------------------------------


def test_the_last_active_admin_cannot_be_demoted_deactivated_or_deleted(session, make_user):
    admin = make_user("boss@example.com", "admin")

    for change in (lambda: users.change_role(session, ADMIN, admin, "responder"),
                   lambda: users.set_active(session, ADMIN, admin, False),
                   lambda: users.delete_user(session, ADMIN, admin)):
        with pytest.raises(Conflict, match="only active admin"):
            change()

    make_user("second@example.com", "admin")
    users.change_role(session, ADMIN, admin, "responder")
    assert admin.role == Role.RESPONDER


def test_a_new_password_must_be_long_enough_and_the_current_one_right(session, make_user):
    user = make_user("ops@example.com", "responder")

    with pytest.raises(InvalidInput, match="at least 10"):
        users.set_password(session, ADMIN, user, "short")
    with pytest.raises(InvalidInput, match="current password"):
        users.set_password(session, ADMIN, user, "a brand new password", current_password="wrong")
    users.set_password(session, ADMIN, user, "a brand new password", current_password=PASSWORD)
    assert users.authenticate(session, "ops@example.com", "a brand new password") is not None


# --- the CLI --------------------------------------------------------------------------------------


def run(runner, *args: str, password: str | None = None):
    result = runner.invoke(args=["statuspage", *args], env={"STATUSPAGE_PASSWORD": password} if password else {})
    return result.exit_code, result.output


def test_operators_manage_people_and_keys_from_the_cli(runner, session, make_user):
    make_user("boss@example.com", "admin")
    user = make_user("ops@example.com", "responder")
    token, _raw = users.create_token(session, user.email, "deploy bot", ADMIN)
    session.commit()

    assert run(runner, "set-role", "ops@example.com", "admin") == (0, "ops@example.com is now admin.\n")
    assert run(runner, "reset-password", "ops@example.com", password="another long password")[0] == 0
    code, listing = run(runner, "tokens", "ops@example.com")
    assert code == 0 and f"{token.id}\tdeploy bot" in listing and "active" in listing
    assert run(runner, "revoke-token", "ops@example.com", str(token.id))[0] == 0
    assert "revoked" in run(runner, "tokens", "ops@example.com")[1]
    assert run(runner, "deactivate", "ops@example.com") == (0, "Deactivated ops@example.com.\n")
    assert "ops@example.com\tadmin\tdeactivated" in run(runner, "users")[1]
    assert run(runner, "reactivate", "ops@example.com")[0] == 0
    assert run(runner, "delete-user", "ops@example.com") == (0, "Deleted ops@example.com.\n")

    session.expire_all()
    assert [u.email for u in session.scalars(select(User))] == ["boss@example.com"]
    actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-6:] == ["user.role", "user.password", "token.revoke", "user.deactivate", "user.activate",
                            "user.delete"]


def test_the_cli_refuses_clearly(runner, session, make_user):
    make_user("boss@example.com", "admin")

    assert run(runner, "deactivate", "nobody@example.com") == (1, "Error: No user nobody@example.com.\n")
    code, output = run(runner, "delete-user", "boss@example.com")
    assert code == 1 and "only active admin" in output
    code, output = run(runner, "revoke-token", "boss@example.com", "999")
    assert code == 1 and "No such API key" in output
