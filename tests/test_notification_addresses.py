"""Addresses and headers that could break a fan-out: non-ASCII and IDN addresses, CR/LF in titles.

Real SMTP (aiosmtpd) on loopback, the real worker; a bad row must fail alone, once.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.models import Delivery, OutboxEvent, Subscriber, SubscriberMode
from statuspage.notify import emails, subscribers
from statuspage.notify.transports import SmtpTransport, TransportError
from statuspage.outbox import queue

ACTOR = Actor.system("test")


@pytest.fixture
def client(mail_app):
    return mail_app.test_client()


@pytest.fixture
def db(mail_app):
    session = mail_app.extensions["statuspage.db"].session()
    from statuspage.tools.setup import setup_page

    setup_page(session, "Acme", "Europe/Berlin")
    session.commit()
    yield session
    session.close()


@pytest.fixture
def clock():
    return [utcnow()]


@pytest.fixture
def worker(mail_app, worker_for, clock):
    return worker_for(mail_app, clock)


def publish(db, name: str = "Outage", body: str = "We are looking into it.") -> OutboxEvent:
    """An incident notification as the outbox holds it (written directly: the title may be one that
    today's validation would refuse, as rows saved before it were)."""
    event = queue.enqueue(db, "incident", {
        "incident": "inc000000001", "update": "upd000000001", "name": name, "kind": "incident",
        "status": "investigating", "impact": "major", "body": body, "display_at": utcnow().isoformat(),
        "scheduled_for": None, "scheduled_until": None, "components": [], "affected": [], "first": True,
    }, [])
    db.commit()
    return event


def saved_before_the_fix(db, email: str) -> Subscriber:
    """A confirmed subscriber whose address was stored before sign-up refused or converted it."""
    subscriber = Subscriber(mode=SubscriberMode.EMAIL, email=email, confirmed_at=utcnow())
    db.add(subscriber)
    db.commit()
    return subscriber


def outcomes(db) -> dict[str, tuple[str, int]]:
    db.expire_all()
    return {d.address: (d.status.value, d.attempts) for d in db.scalars(select(Delivery))}


# --- one bad row among good ones ---------------------------------------------------------------


def test_an_address_that_needs_smtputf8_fails_alone_and_the_others_are_delivered_once(
        db, worker, clock, smtp_server):
    sink, _port = smtp_server
    good = ["ana@example.org", "bo@example.org", "cy@example.org"]
    for address in good:
        subscribers.create(db, ACTOR, email=address, skip_confirmation=True)
    db.commit()
    saved_before_the_fix(db, "jörg@example.org")
    saved_before_the_fix(db, "dora@bücher.de")
    publish(db)

    for _round in range(4):  # well past the lease and every backoff
        worker.run_once()
        clock[0] += timedelta(hours=2)

    for address in good:
        assert len(sink.to(address)) == 1
    assert len(sink.to("dora@xn--bcher-kva.de")) == 1  # the IDN domain is sent in its ASCII form
    assert len(sink.messages) == 4
    result = outcomes(db)
    assert result["jörg@example.org"] == ("failed", 1)
    assert {result[a] for a in [*good, "dora@bücher.de"]} == {("sent", 1)}
    failed = db.scalars(select(Delivery).where(Delivery.address == "jörg@example.org")).one()
    assert "SMTPUTF8" in failed.last_error


def test_the_smtp_transport_refuses_a_non_ascii_recipient_for_good_and_sends_the_next_message(
        smtp_settings, smtp_server):
    sink, _port = smtp_server
    transport = SmtpTransport(smtp_settings)
    transport.open()
    raw = b"From: status@acme.test\r\nTo: x\r\nSubject: hi\r\n\r\nbody\r\n"
    with pytest.raises(TransportError) as refused:
        transport.send(emails.OutgoingMail("status@acme.test", "jörg@example.org", raw, "<1@acme.test>"))
    assert refused.value.permanent
    assert "SMTPUTF8" in refused.value.message
    transport.send(emails.OutgoingMail("status@acme.test", "ok@example.org", raw, "<2@acme.test>"))
    transport.close()
    assert [m["Subject"] for m in sink.messages] == ["hi"]


def test_a_message_that_cannot_be_built_fails_alone_with_its_reason(
        mail_app, smtp_settings, worker_for, clock, db, smtp_server):
    sink, _port = smtp_server
    subscribers.create(db, ACTOR, email="ana@example.org", skip_confirmation=True)
    db.commit()
    publish(db)
    # A page whose sender address cannot go over SMTP without SMTPUTF8: every message fails, none escapes.
    from statuspage.page.record import get_page

    get_page(db).notifications_from_email = "störung@acme.test"
    db.commit()
    worker = worker_for(mail_app, clock)
    worker.run_once()
    clock[0] += timedelta(hours=2)
    worker.run_once()
    assert outcomes(db) == {"ana@example.org": ("failed", 1)}
    assert sink.messages == []


# --- sign-up stores what SMTP takes -------------------------------------------------------------


def test_an_idn_address_is_stored_and_mailed_in_its_ascii_form(client, db, worker, smtp_server):
    sink, _port = smtp_server
    assert client.post("/subscribe", data={"email": "Dora@Bücher.de"}).status_code == 200
    [subscriber] = db.scalars(select(Subscriber)).all()
    assert subscriber.email == "dora@xn--bcher-kva.de"
    worker.run_once()
    [confirmation] = sink.to("dora@xn--bcher-kva.de")
    assert confirmation["Subject"] == "[Acme] Confirm your subscription"


@pytest.mark.parametrize("email", ["jörg@example.org", "ünïcode@bücher.de"])
def test_a_non_ascii_local_part_is_refused_with_a_message(client, db, email):
    response = client.post("/subscribe", data={"email": email})
    assert response.status_code == 422
    assert "before the @-sign are not supported" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_the_api_stores_the_ascii_form_too(client, db, api_token, page_code):
    admin = api_token("admin")
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=admin,
                           json={"subscriber": {"email": "Dora@Bücher.de", "skip_confirmation_notification": True}})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["email"] == "dora@xn--bcher-kva.de"
    again = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=admin,
                        json={"subscriber": {"email": "dora@xn--bcher-kva.de"}})
    assert again.status_code == 409


# --- CR/LF never reaches a header ----------------------------------------------------------------


def test_a_title_with_crlf_cannot_add_headers_or_recipients(db, worker, smtp_server):
    sink, _port = smtp_server
    subscribers.create(db, ACTOR, email="ana@example.org", skip_confirmation=True)
    db.commit()
    publish(db, name="Outage\r\nBcc: evil@example.org\r\n\r\nInjected body\nX-Evil: 1\rY")
    worker.run_once()

    [message] = sink.messages
    assert message["To"] == "ana@example.org"
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "[Acme] Outage Bcc: evil@example.org  Injected body X-Evil: 1 Y - Investigating"


def test_no_header_value_keeps_a_line_break_of_its_own(db):
    ctx = emails.MailContext(base_url="http://status.test", page_name="Acme\r\nBcc: evil@example.org",
                             mail_from="status@acme.test", secret_key="k", time_zone="Etc/UTC")
    event = OutboxEvent(id=1, kind="owner_notice", component_ids=[],
                        payload={"to": "owner@acme.test", "subject": "Disabled\nX-Evil: 1", "text": "x"})
    delivery = Delivery(id=1, event_id=1, address="owner@acme.test", subscriber=None)
    mail = emails.build(ctx, event, delivery, utcnow())
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert not any(line.startswith((b"Bcc:", b"X-Evil:")) for line in lines)
    assert b"\n" not in head.replace(b"\r\n", b"") and b"\r" not in head.replace(b"\r\n", b"")
    # Folded continuation lines (a non-ASCII subject) are still allowed: they start with a space.
    folded = emails.build(dataclasses.replace(ctx, page_name="Störung " * 20), event, delivery, utcnow())
    head = folded.data.split(b"\r\n\r\n", 1)[0]
    assert all(line[:1] not in (b"\r", b"\n") for line in head.split(b"\r\n"))


def test_a_component_name_with_crlf_in_the_affected_list_stays_in_the_body(db, worker, smtp_server):
    sink, _port = smtp_server
    component = catalog.create_component(db, ACTOR, "Website")
    subscribers.create(db, ACTOR, email="ana@example.org", skip_confirmation=True)
    db.commit()
    publish(db, name=f"{component.name}\r\n.\r\nMAIL FROM:<x@y>")
    worker.run_once()
    [message] = sink.messages
    assert message["Subject"].startswith("[Acme] Website . MAIL FROM:<x@y>")
