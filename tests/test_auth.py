"""Signing in and out: passwords, throttling, cookies, CSRF and redirects."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import select

from statuspage import create_app
from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.config import Settings
from statuspage.models import User
from statuspage.probes.rules import apply_check
from tests.conftest import PASSWORD, csrf_token, post_form
from tests.probe_builders import T0, a_component, a_probe, bad


def sign_in(client, email: str, password: str, path: str = "/login"):
    return post_form(client, path, {"email": email, "password": password})


def signed_in(client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 200


def page_without_token(response) -> str:
    """The page with its (time-stamped, so ever-changing) CSRF token blanked out."""
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""',
                  response.get_data(as_text=True))


def lands_on(response, host: str = "status.test") -> str:
    """The path a browser would follow the Location to, asserting it stays on this site.

    Browsers drop tabs and newlines, strip spaces, read a backslash as a slash and
    take any run of slashes after the scheme as the start of a host; so do we.
    """
    location = response.headers["Location"].strip("".join(map(chr, range(0x21))))
    location = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    assert not location.startswith("//"), location
    target = urlsplit(urljoin(f"http://{host}/login", location))
    assert (target.scheme, target.netloc) == ("http", host), location
    return target.path


# --- passwords --------------------------------------------------------------------------------


def test_the_right_password_signs_in_and_goes_to_the_admin(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    response = sign_in(client, "ops@example.com", PASSWORD)

    assert response.status_code == 302
    assert lands_on(response) == "/admin/"
    assert signed_in(client)


def test_the_email_is_matched_without_regard_to_case_or_spaces(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    assert sign_in(client, "  OPS@Example.com ", PASSWORD).status_code == 302


def test_an_address_with_an_international_domain_signs_in_as_it_was_created(
        client, make_user, fast_password_hashing):
    user = make_user("ops@bücher.example", "responder")
    assert user.email == "ops@xn--bcher-kva.example"

    assert sign_in(client, "ops@Bücher.example", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_wrong_password_is_refused(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    response = sign_in(client, "ops@example.com", "not the password")

    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert not signed_in(client)


def test_an_unknown_email_answers_the_same_as_a_wrong_password(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    wrong = sign_in(client, "ops@example.com", "not the password")
    unknown = sign_in(client, "nobody@example.com", "not the password")

    assert unknown.status_code == wrong.status_code == 401
    assert page_without_token(unknown).replace("nobody@", "ops@") == page_without_token(wrong)
    assert not signed_in(client)


def test_a_deactivated_user_cannot_sign_in(client, session, make_user, fast_password_hashing):
    user = make_user("ops@example.com", "responder")
    user.active = False
    session.commit()

    assert sign_in(client, "ops@example.com", PASSWORD).status_code == 401


def test_a_deactivated_user_is_signed_out_of_an_open_session(client, session, login_as,
                                                            fast_password_hashing):
    user = login_as("responder")
    user.active = False
    session.commit()

    assert not signed_in(client)


@pytest.mark.real_password_hashing
def test_passwords_are_stored_as_argon2id_hashes(session, make_user):
    user = make_user("ops@example.com", "admin")

    stored = session.scalars(select(User.password_hash).where(User.id == user.id)).one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)
    # No weaker than RFC 9106's second recommended profile.
    parameters = extract_parameters(stored)
    assert parameters.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost
    assert parameters.time_cost >= RFC_9106_LOW_MEMORY.time_cost


def test_two_users_with_one_password_get_different_hashes(session, make_user, fast_password_hashing):
    first, second = make_user("a@example.com", "admin"), make_user("b@example.com", "admin")

    assert first.password_hash != second.password_hash


# --- throttling -------------------------------------------------------------------------------


def test_sign_in_is_throttled_after_repeated_failures(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")
    token = csrf_token(client)

    answers = [
        client.post("/login", data={"csrf_token": token, "email": "ops@example.com",
                                    "password": f"guess {n}"}).status_code
        for n in range(12)
    ]

    assert answers[:10] == [401] * 10
    assert answers[10:] == [429, 429]
    # Even the right password waits until the window has passed.
    late = client.post("/login", data={"csrf_token": token, "email": "ops@example.com",
                                       "password": PASSWORD})
    assert late.status_code == 429
    assert late.headers.get("Retry-After")
    assert not signed_in(client)


def test_guesses_from_other_addresses_never_lock_out_the_right_password(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")
    token = csrf_token(client)
    for n in range(15):
        client.post("/login", data={"csrf_token": token, "email": "ops@example.com",
                                    "password": f"guess {n}"},
                    environ_base={"REMOTE_ADDR": "10.0.0.66"})

    response = client.post("/login", data={"csrf_token": token, "email": "OPS@example.com",
                                           "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.1.1"})

    assert response.status_code == 302


def test_one_address_guessing_many_emails_is_locked_too(client, make_user, fast_password_hashing):
    token = csrf_token(client)
    answers = [client.post("/login", data={"csrf_token": token, "email": f"user{n}@example.com",
                                           "password": "guess"}).status_code for n in range(51)]

    assert answers[:50] == [401] * 50 and answers[50] == 429


def test_each_further_failure_after_a_lock_doubles_the_wait(session, fast_password_hashing):
    from statuspage.accounts import throttle
    from statuspage.db import utcnow

    limits, now, waits = throttle.Limits(per_client_and_email=3), utcnow(), []
    for _attempt in range(6):
        throttle.record_failure(session, "192.0.2.7", "ops@example.com", now, limits)
        waits.append(throttle.wait_seconds(session, "192.0.2.7", "ops@example.com", now))

    assert waits == [0, 0, 61, 121, 241, 481]
    assert throttle.wait_seconds(session, "192.0.2.8", "ops@example.com", now) == 0


# --- the session cookie -----------------------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site_lax(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    response = sign_in(client, "ops@example.com", PASSWORD)

    cookies = [value for key, value in response.headers if key == "Set-Cookie"]
    session_cookie = next(c for c in cookies if c.startswith("session="))
    attributes = {part.strip().lower() for part in session_cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_the_session_cookie_is_secure_when_the_site_is_served_over_https(settings):
    app = create_app(Settings.from_env(environ={
        "STATUSPAGE_INSTANCE_DIR": str(settings.instance_dir),
        "STATUSPAGE_DATABASE_URL": settings.database_url,
        "STATUSPAGE_BASE_URL": "https://status.example.com",
    }))

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    app.extensions["statuspage.db"].engine.dispose()


# --- signing out ------------------------------------------------------------------------------


def test_signing_out_needs_a_post(client, login_as, fast_password_hashing):
    login_as("responder")

    assert client.get("/logout").status_code == 405
    assert signed_in(client)


def test_signing_out_needs_the_csrf_token(client, login_as, fast_password_hashing):
    login_as("responder")

    response = client.post("/logout")

    assert response.status_code == 400
    assert signed_in(client)


def test_signing_out_with_the_csrf_token_ends_the_session(client, login_as, fast_password_hashing):
    login_as("responder")

    response = post_form(client, "/logout", {})

    assert response.status_code == 302
    assert lands_on(response) == "/login"
    assert not signed_in(client)


def test_signing_in_needs_the_csrf_token(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    response = client.post("/login", data={"email": "ops@example.com", "password": PASSWORD})

    assert response.status_code == 400
    assert not signed_in(client)


# --- where sign-in leads ----------------------------------------------------------------------


def test_sign_in_returns_to_the_page_that_asked_for_it(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")
    asked = client.get("/admin/audit")
    assert asked.status_code == 302

    response = sign_in(client, "ops@example.com", PASSWORD, path=asked.headers["Location"])

    assert lands_on(response) == "/admin/audit"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example",
        "https://evil.example/admin/",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/\t/evil.example",
    ],
)
def test_sign_in_never_redirects_to_another_site(client, make_user, fast_password_hashing, next_url):
    make_user("ops@example.com", "responder")

    response = post_form(client, "/login", {"email": "ops@example.com", "password": PASSWORD},
                         query_string={"next": next_url})

    assert response.status_code == 302
    lands_on(response)
    assert lands_on(response) == "/admin/"


def a_component_down_with_no_incident(session) -> None:
    catalog.create_component(session, Actor.system("test"), "Checkout API", status="major_outage")
    session.commit()


def test_sign_in_leads_to_incidents_while_a_draft_waits(client, session, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")
    probe = a_probe(session, a_component(session, "Checkout API"), failures_to_outage=1, auto_incident="draft")
    apply_check(session, probe, bad(), T0)
    session.commit()

    response = sign_in(client, "ops@example.com", PASSWORD)

    assert lands_on(response) == "/admin/incidents"


def test_sign_in_leads_to_incidents_while_an_outage_is_unexplained(client, session, make_user,
                                                                   fast_password_hashing):
    make_user("ops@example.com", "responder")
    a_component_down_with_no_incident(session)

    response = sign_in(client, "ops@example.com", PASSWORD)

    assert lands_on(response) == "/admin/incidents"


def test_sign_in_still_returns_to_the_page_that_asked_while_an_outage_waits(client, session, make_user,
                                                                             fast_password_hashing):
    make_user("ops@example.com", "responder")
    a_component_down_with_no_incident(session)
    asked = client.get("/admin/audit")

    response = sign_in(client, "ops@example.com", PASSWORD, path=asked.headers["Location"])

    assert lands_on(response) == "/admin/audit"


def test_a_next_to_another_site_leads_to_incidents_while_an_outage_waits(client, session, make_user,
                                                                         fast_password_hashing):
    make_user("ops@example.com", "responder")
    a_component_down_with_no_incident(session)

    response = post_form(client, "/login", {"email": "ops@example.com", "password": PASSWORD},
                         query_string={"next": "https://evil.example/admin/"})

    assert lands_on(response) == "/admin/incidents"


def test_signing_in_successfully_does_not_use_up_the_allowance(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    for _ in range(15):  # more than the 10 a minute allowed to fail
        response = sign_in(client, "ops@example.com", PASSWORD)
        assert response.status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})

    assert sign_in(client, "ops@example.com", "a wrong guess").status_code == 401
    assert sign_in(client, "ops@example.com", PASSWORD).status_code == 302


def test_failures_use_up_the_allowance_however_many_sign_ins_succeed_between(
        client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")
    answers = []
    for n in range(11):
        answers.append(sign_in(client, "ops@example.com", f"guess {n}").status_code)
        if n in (0, 3, 6):
            assert sign_in(client, "ops@example.com", PASSWORD).status_code == 302
            client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})

    assert answers == [401] * 10 + [429]
    assert sign_in(client, "ops@example.com", PASSWORD).status_code == 429  # even the right password waits


def test_a_nul_character_in_the_sign_in_form_gets_a_clear_400_page(client, make_user, fast_password_hashing):
    make_user("ops@example.com", "responder")

    response = sign_in(client, "a\x00@example.com", PASSWORD)

    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert not signed_in(client)
