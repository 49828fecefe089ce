"""The links in subscriber emails and the public form's guards: confirm by button, stale links, rate limits.

Real SMTP on loopback; links are followed with the test client as a browser (or a mail scanner) would.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from statuspage import create_app
from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.models import OutboxEvent, Subscriber
from statuspage.notify import subscribers
from tests.conftest import post_form

ACTOR = Actor.system("test")


@pytest.fixture
def client(mail_app, session):
    return mail_app.test_client()


@pytest.fixture
def worker(mail_app, worker_for):
    return worker_for(mail_app)


@pytest.fixture
def stack(session):
    database = catalog.create_component(session, ACTOR, "Database cluster")
    website = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    return {"database": database, "website": website}


def link(message, kind: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"http://status\.test(/subscribers/{kind}/\S+)", text).group(1)


def heading(response) -> str:
    return re.search(r"<h1>(.*?)</h1>", response.get_data(as_text=True), re.S).group(1).strip()


def the_subscriber(session, email: str) -> Subscriber:
    session.expire_all()
    return session.scalars(select(Subscriber).where(Subscriber.email == email)).one()


def signed_up(client, worker, sink, email: str, component_ids=()) -> str:
    """Sign up on the public form; the confirmation link of the email that arrives."""
    assert client.post("/subscribe", data={"email": email, "component_ids": list(component_ids)}).status_code == 200
    worker.run_once()
    return link(sink.to(email)[-1], "confirm")


# --- confirming ----------------------------------------------------------------------------------


def test_opening_the_confirmation_link_only_shows_a_button_and_the_button_confirms(
        client, worker, smtp_server, session):
    sink, _port = smtp_server
    confirm = signed_up(client, worker, sink, "ana@example.org")

    opened = client.get(confirm)  # what a mail scanner does
    assert opened.status_code == 200
    assert heading(opened) == "Confirm your subscription"
    assert f'<form method="post" action="{confirm}" class="form confirm-form">' in opened.get_data(as_text=True)
    assert the_subscriber(session, "ana@example.org").confirmed_at is None

    clicked = client.post(confirm)
    assert heading(clicked) == "You are subscribed"
    assert the_subscriber(session, "ana@example.org").confirmed_at is not None


def test_confirming_twice_says_already_subscribed(client, worker, smtp_server, session):
    sink, _port = smtp_server
    confirm = signed_up(client, worker, sink, "bo@example.org")
    assert heading(client.post(confirm)) == "You are subscribed"
    confirmed_at = the_subscriber(session, "bo@example.org").confirmed_at

    assert heading(client.post(confirm)) == "You were already subscribed"
    assert heading(client.get(confirm)) == "You were already subscribed"
    assert the_subscriber(session, "bo@example.org").confirmed_at == confirmed_at


def test_every_link_of_a_removed_subscriber_says_so_and_changes_nothing(
        client, worker, smtp_server, session, stack):
    sink, _port = smtp_server
    confirm = signed_up(client, worker, sink, "cy@example.org")
    client.post(confirm)
    client.post("/subscribe", data={"email": "cy@example.org"})  # a confirmed address gets its manage link
    worker.run_once()
    manage, unsubscribe = link(sink.to("cy@example.org")[-1], "manage"), link(sink.to("cy@example.org")[-1],
                                                                               "unsubscribe")
    subscribers.remove(session, the_subscriber(session, "cy@example.org"), ACTOR)
    session.commit()

    for response in (client.get(confirm), client.post(confirm), client.get(manage), client.get(unsubscribe)):
        assert response.status_code == 200
        assert heading(response) == "This subscription no longer exists"
    changed = post_form(client, manage, {"component_ids": [stack["website"].code]})
    assert heading(changed) == "This subscription no longer exists"
    assert heading(client.post(unsubscribe)) == "You are unsubscribed"
    assert session.scalars(select(Subscriber)).all() == []


def test_signing_up_again_changes_the_choice_only_when_that_emails_link_is_confirmed(
        client, worker, smtp_server, session, stack):
    sink, _port = smtp_server
    first = signed_up(client, worker, sink, "dee@example.org", [stack["database"].code])
    second = signed_up(client, worker, sink, "dee@example.org", [stack["website"].code])
    assert first != second
    pending = the_subscriber(session, "dee@example.org")
    assert [c.name for c in pending.components] == ["Database cluster"]  # someone re-submitting changed nothing

    client.post(second)
    assert [c.name for c in the_subscriber(session, "dee@example.org").components] == ["Website"]
    client.post(first)  # an older link, once confirmed, changes nothing (the manage link does that)
    assert [c.name for c in the_subscriber(session, "dee@example.org").components] == ["Website"]


def test_a_link_choosing_all_components_confirms_all(client, worker, smtp_server, session, stack):
    sink, _port = smtp_server
    signed_up(client, worker, sink, "eve@example.org", [stack["database"].code])
    every = signed_up(client, worker, sink, "eve@example.org")
    client.post(every)
    subscriber = the_subscriber(session, "eve@example.org")
    assert subscriber.all_components and subscriber.components == []


# --- rate limits ------------------------------------------------------------------------------------


def test_the_per_address_limit_counts_an_address_however_it_is_spelled(client, stack):
    for spelling in ("victim@example.org", "VICTIM@Example.org", " victim@EXAMPLE.ORG "):
        assert client.post("/subscribe", data={"email": spelling}).status_code == 200
    assert client.post("/subscribe", data={"email": "Victim@example.org"}).status_code == 429


def test_the_per_address_limit_counts_an_idn_domain_in_either_form(client, stack):
    for spelling in ("dora@bücher.de", "dora@xn--bcher-kva.de", "Dora@BÜCHER.de"):
        assert client.post("/subscribe", data={"email": spelling}).status_code == 200
    assert client.post("/subscribe", data={"email": "dora@bücher.de"}).status_code == 429


def from_ip(ip: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_the_form_is_rate_limited_per_ip_across_both_forms(client, stack):
    for number in range(9):
        response = client.post("/subscribe", data={"email": f"r{number}@example.org"}, **from_ip("203.0.113.5"))
        assert response.status_code == 200
    hook = client.post("/subscribe/webhook", data={"endpoint": "http://127.0.0.1:9/hook",
                                                   "email": "hooks@example.org"}, **from_ip("203.0.113.5"))
    assert hook.status_code == 200
    assert client.post("/subscribe", data={"email": "r10@example.org"}, **from_ip("203.0.113.5")).status_code == 429
    assert client.post("/subscribe", data={"email": "r11@example.org"}, **from_ip("203.0.113.6")).status_code == 200


def test_a_forwarded_for_header_is_ignored_unless_the_proxy_is_trusted(client, stack):
    for number in range(10):
        spoofed = {"X-Forwarded-For": f"198.51.100.{number}"}
        assert client.post("/subscribe", data={"email": f"s{number}@example.org"}, headers=spoofed,
                           **from_ip("203.0.113.7")).status_code == 200
    response = client.post("/subscribe", data={"email": "s10@example.org"},
                           headers={"X-Forwarded-For": "198.51.100.99"}, **from_ip("203.0.113.7"))
    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(smtp_settings, session, stack):
    app = create_app(dataclasses.replace(smtp_settings, trusted_proxies=1))
    app.config["TESTING"] = True
    client = app.test_client()
    balancer = from_ip("10.0.0.2")
    for number in range(10):
        response = client.post("/subscribe", data={"email": f"t{number}@example.org"},
                               headers={"X-Forwarded-For": "198.51.100.1"}, **balancer)
        assert response.status_code == 200
    crowded = client.post("/subscribe", data={"email": "t10@example.org"},
                          headers={"X-Forwarded-For": "198.51.100.1"}, **balancer)
    assert crowded.status_code == 429
    other = client.post("/subscribe", data={"email": "t11@example.org"},
                        headers={"X-Forwarded-For": "198.51.100.2"}, **balancer)
    assert other.status_code == 200
    # Only the last hop is the proxy's: an address the client put in front of it changes nothing.
    forged = client.post("/subscribe", data={"email": "t12@example.org"},
                         headers={"X-Forwarded-For": "192.0.2.50, 198.51.100.1"}, **balancer)
    assert forged.status_code == 429
    app.extensions["statuspage.db"].engine.dispose()


# --- skip_confirmation_notification -----------------------------------------------------------------


@pytest.mark.parametrize("value, confirmed", [(True, True), ("true", True), ("1", True), (1, True),
                                               (False, False), ("false", False), ("0", False), (0, False)])
def test_skip_confirmation_is_read_strictly_and_echoed(client, session, api_token, page_code, value, confirmed):
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=api_token("admin"),
                           json={"subscriber": {"email": "f@example.org", "skip_confirmation_notification": value}})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["skip_confirmation_notification"] is confirmed
    assert (body["state"] == "active") is confirmed
    session.expire_all()
    confirmations = session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "confirmation")).all()
    assert len(confirmations) == (0 if confirmed else 1)


@pytest.mark.parametrize("value", ["yes", 2, "on", "", None, [], {"a": 1}])
def test_an_unclear_skip_confirmation_is_refused(client, session, api_token, page_code, value):
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=api_token("responder"),
                           json={"subscriber": {"email": "g@example.org", "skip_confirmation_notification": value}})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "skip_confirmation_notification"
    assert session.scalars(select(Subscriber)).all() == []
