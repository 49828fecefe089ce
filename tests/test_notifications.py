"""Subscribers hear about every update: real SMTP on loopback, links followed with the test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.models import Delivery, DeliveryStatus, OutboxEvent, Subscriber
from statuspage.outbox import queue

ACTOR = Actor.system("test")


@pytest.fixture
def client(mail_app):
    return mail_app.test_client()


@pytest.fixture
def db(mail_app):
    session = mail_app.extensions["statuspage.db"].session()
    yield session
    session.close()


@pytest.fixture
def stack(db):
    """Two components: the database cluster and the website."""
    database = catalog.create_component(db, ACTOR, "Database cluster")
    website = catalog.create_component(db, ACTOR, "Website")
    db.commit()
    return {"database": database, "website": website}


@pytest.fixture
def token(db, mail_app):
    from statuspage.accounts.users import create_token, create_user
    from statuspage.tools.setup import setup_page

    page = setup_page(db, "Acme", "Europe/Berlin")
    user = create_user(db, "ops@example.com", "correct horse battery", "responder", ACTOR)
    _token, raw = create_token(db, user.email, "test", ACTOR)
    db.commit()
    return {"headers": {"Authorization": f"OAuth {raw}"}, "page": page.code}


def link(message, kind: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"http://status\.test(/subscribers/{kind}/\S+)", text).group(1)


def subscribe_and_confirm(client, worker, sink, email, component_ids=()):
    response = client.post("/subscribe", data={"email": email, "component_ids": list(component_ids)})
    assert response.status_code == 200
    worker.run_once()
    [confirmation] = sink.to(email)
    assert client.post(link(confirmation, "confirm")).status_code == 200
    return confirmation


def open_incident(client, token, **incident):
    response = client.post(f"/api/v1/pages/{token['page']}/incidents", headers=token["headers"],
                           json={"incident": incident})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def update_incident(client, token, code, **incident):
    response = client.patch(f"/api/v1/pages/{token['page']}/incidents/{code}", headers=token["headers"],
                            json={"incident": incident})
    assert response.status_code == 200, response.get_json()


def test_a_subscriber_confirms_receives_every_update_threaded_and_unsubscribes_in_one_click(
        client, mail_app, worker_for, smtp_server, stack, token):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    confirmation = subscribe_and_confirm(client, worker, sink, "ana@example.org")
    assert confirmation["Subject"] == "[Acme] Confirm your subscription"
    assert "List-Unsubscribe" not in confirmation

    code = open_incident(client, token, name="Elevated error rates", status="investigating",
                         body="We are **investigating**.", components={stack["database"].code: "major_outage"})
    update_incident(client, token, code, status="identified", body="A database cluster failed.")
    update_incident(client, token, code, status="resolved", body="Fixed. We apologise.")
    worker.run_once()

    first, second, third = sink.to("ana@example.org")[1:]
    assert first["Subject"] == "[Acme] Elevated error rates - Investigating"
    assert second["Subject"] == "[Acme] Elevated error rates - Identified"
    assert third["Subject"] == "[Acme] Elevated error rates - Resolved"
    assert second["In-Reply-To"] == first["Message-ID"] == third["References"]
    assert len({first["Message-ID"], second["Message-ID"], third["Message-ID"]}) == 3
    for message in (first, second, third):
        assert message["List-Id"] == "Acme status <status.acme.test>"
        assert message["Date"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<http://status\.test/subscribers/unsubscribe/\S+>", message["List-Unsubscribe"])
    assert "<strong>investigating</strong>" in first.get_body(("html",)).get_content()
    assert "We are investigating." in first.get_body(("plain",)).get_content()
    assert "Database cluster: Major outage" in first.get_body(("plain",)).get_content()

    unsubscribe = re.search(r"<http://status\.test(\S+)>", third["List-Unsubscribe"]).group(1)
    assert client.post(unsubscribe).status_code == 200  # RFC 8058: one POST, no session, no CSRF
    assert client.post(unsubscribe).status_code == 200  # clicking twice is fine
    update_incident(client, token, code, status="resolved", body="Postscript.")
    worker.run_once()
    assert len(sink.to("ana@example.org")) == 4


def test_nothing_but_the_confirmation_is_sent_until_the_link_is_clicked(
        client, mail_app, worker_for, smtp_server, stack, token):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    client.post("/subscribe", data={"email": "bo@example.org"})
    open_incident(client, token, name="Outage", body="x", components={stack["website"].code: "major_outage"})
    worker.run_once()
    assert [m["Subject"] for m in sink.to("bo@example.org")] == ["[Acme] Confirm your subscription"]


def test_the_form_never_reveals_whether_an_address_was_subscribed(
        client, mail_app, worker_for, smtp_server, stack):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    subscribe_and_confirm(client, worker, sink, "cy@example.org")
    again = client.post("/subscribe", data={"email": "cy@example.org"})
    fresh = client.post("/subscribe", data={"email": "new@example.org"})
    assert again.status_code == fresh.status_code == 200
    assert again.get_data(as_text=True) == fresh.get_data(as_text=True)
    worker.run_once()
    assert sink.to("cy@example.org")[-1]["Subject"] == "[Acme] Manage your subscription"


def test_the_form_is_rate_limited_per_address(client, stack):
    for _ in range(3):
        assert client.post("/subscribe", data={"email": "victim@example.org"}).status_code == 200
    assert client.post("/subscribe", data={"email": "victim@example.org"}).status_code == 429


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "x" * 320 + "@example.org", ""])
def test_invalid_addresses_are_refused_and_nothing_is_saved(client, db, stack, email):
    response = client.post("/subscribe", data={"email": email})
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Subscriber)) == 0
    assert db.scalar(select(func.count()).select_from(OutboxEvent)) == 0


def test_an_unknown_component_is_refused(client, db, stack):
    response = client.post("/subscribe", data={"email": "d@example.org", "component_ids": ["nosuchthing0"]})
    assert response.status_code == 422
    assert db.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_subscribers_of_some_components_hear_only_about_those(
        client, mail_app, worker_for, smtp_server, stack, token):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    subscribe_and_confirm(client, worker, sink, "db-only@example.org", [stack["database"].code])
    subscribe_and_confirm(client, worker, sink, "everything@example.org")
    open_incident(client, token, name="Website slow", body="x",
                  components={stack["website"].code: "degraded_performance"})
    open_incident(client, token, name="Database down", body="x",
                  components={stack["database"].code: "major_outage"})
    worker.run_once()
    assert [m["Subject"] for m in sink.to("db-only@example.org")[1:]] == ["[Acme] Database down - Investigating"]
    assert len(sink.to("everything@example.org")[1:]) == 2


def test_a_silent_update_notifies_no_one(client, mail_app, worker_for, smtp_server, stack, token):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    subscribe_and_confirm(client, worker, sink, "e@example.org")
    open_incident(client, token, name="Quiet", body="x", deliver_notifications=False)
    worker.run_once()
    assert len(sink.to("e@example.org")) == 1


def test_the_manage_link_changes_components_and_tampered_links_are_refused(
        client, mail_app, worker_for, smtp_server, stack):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    subscribe_and_confirm(client, worker, sink, "f@example.org")
    client.post("/subscribe", data={"email": "f@example.org"})
    worker.run_once()
    manage = link(sink.to("f@example.org")[-1], "manage")
    page = client.get(manage).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(manage, data={"csrf_token": token, "component_ids": [stack["website"].code]})
    assert response.status_code == 200
    assert "Saved." in response.get_data(as_text=True)
    assert client.get(manage[:-3] + "xyz").status_code == 400
    assert client.get("/subscribers/confirm/" + manage.rsplit("/", 1)[1]).status_code == 400


def test_any_language_survives_the_trip(client, mail_app, worker_for, smtp_server, stack, token):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    subscribe_and_confirm(client, worker, sink, "g@example.org")
    open_incident(client, token, name="Störung der Datenbank – 数据库故障", body="Wir prüfen das. 我们正在调查。")
    worker.run_once()
    message = sink.to("g@example.org")[-1]
    assert message["Subject"] == "[Acme] Störung der Datenbank – 数据库故障 - Investigating"
    assert "我们正在调查" in message.get_body(("plain",)).get_content()


# --- faults --------------------------------------------------------------------------------------


def fan_out(client, mail_app, worker_for, sink, token, addresses, db):
    from statuspage.notify import subscribers

    for address in addresses:
        subscribers.create(db, ACTOR, email=address, skip_confirmation=True)
    db.commit()
    clock = [utcnow()]
    worker = worker_for(mail_app, clock)
    open_incident(client, token, name="Outage", body="x")
    return worker, clock


def statuses(db) -> dict[str, str]:
    db.expire_all()
    return {d.address: d.status.value for d in db.scalars(select(Delivery))}


def test_a_temporary_421_is_retried_and_delivered_once(client, mail_app, worker_for, smtp_server, token, db):
    sink, _port = smtp_server
    worker, clock = fan_out(client, mail_app, worker_for, sink, token, ["h@example.org"], db)
    sink.fail_data = ["421 Service not available, try later"]
    worker.run_once()
    assert sink.to("h@example.org") == []
    assert statuses(db) == {"h@example.org": "retrying"}
    clock[0] += timedelta(seconds=31)
    worker.run_once()
    assert len(sink.to("h@example.org")) == 1
    assert statuses(db) == {"h@example.org": "sent"}


def test_a_permanent_550_fails_that_address_only(client, mail_app, worker_for, smtp_server, token, db):
    sink, _port = smtp_server
    sink.refuse_rcpt["bad@example.org"] = "550 No such user"
    worker, clock = fan_out(client, mail_app, worker_for, sink, token,
                            ["ok1@example.org", "bad@example.org", "ok2@example.org"], db)
    worker.run_once()
    clock[0] += timedelta(hours=2)
    worker.run_once()
    assert statuses(db) == {"ok1@example.org": "sent", "bad@example.org": "failed", "ok2@example.org": "sent"}
    failed = db.scalars(select(Delivery).where(Delivery.address == "bad@example.org")).one()
    assert failed.attempts == 1
    assert "550" in failed.last_error
    assert len(sink.messages) == 2


def test_a_connection_dropped_mid_batch_is_resumed(client, mail_app, worker_for, smtp_server, token, db):
    sink, _port = smtp_server
    addresses = [f"r{n}@example.org" for n in range(10)]
    worker, clock = fan_out(client, mail_app, worker_for, sink, token, addresses, db)
    sink.drop_after = 4
    worker.run_once()
    for _ in range(5):
        clock[0] += timedelta(minutes=5)
        worker.run_once()
    assert set(statuses(db).values()) == {"sent"}
    received = [m["To"] for m in sink.messages]
    assert set(received) == set(addresses)
    assert len(received) - len(addresses) <= 1  # only the message in flight may arrive twice


def test_a_delivery_is_parked_as_failed_after_its_last_attempt_and_can_be_retried(
        client, mail_app, worker_for, smtp_server, token, db):
    sink, _port = smtp_server
    worker, clock = fan_out(client, mail_app, worker_for, sink, token, ["i@example.org"], db)
    sink.fail_data = ["451 Temporary local problem"] * queue.MAX_ATTEMPTS
    for _ in range(queue.MAX_ATTEMPTS):
        worker.run_once()
        clock[0] += timedelta(hours=2)
    assert statuses(db) == {"i@example.org": "failed"}
    delivery = db.scalars(select(Delivery)).one()
    queue.retry(db, ACTOR, delivery, now=clock[0])
    db.commit()
    worker.run_once()
    assert statuses(db) == {"i@example.org": "sent"}
    assert delivery.status == DeliveryStatus.SENT or statuses(db)["i@example.org"] == "sent"
