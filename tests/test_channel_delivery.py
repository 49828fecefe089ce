"""Slack, Mattermost, Teams and Discord: each update reaches a real local receiver in the service's documented
shape; 429 waits as asked, 500 backs off, 404/410 removes the subscriber; chat subscribers confirm in the channel."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.components.status_rules import set_status
from statuspage.db import utcnow
from statuspage.incidents import windows
from statuspage.models import AuditEntry, ComponentStatus, DeliveryStatus, Subscriber
from statuspage.notify import subscribers
from statuspage.notify.sender import Notifier
from statuspage.outbound.guard import Policy
from statuspage.page.record import get_page
from statuspage.postmortems import editing
from statuspage.postmortems.document import REQUIRED as REQUIRED_SECTIONS
from tests.channel_builders import deliveries, open_incident, subscribe, worker

ACTOR = Actor.system("test")
SERVICES = ["slack", "mattermost", "teams", "discord"]
LINK = re.compile(r"https?://status\.test/subscribers/(confirm|manage|unsubscribe)/[\w.-]+")


@pytest.fixture
def clock():
    return [utcnow()]


@pytest.fixture
def run(mail_app, smtp_settings, clock):
    return worker(mail_app, smtp_settings, clock).run_once


@pytest.fixture
def website(session):
    component = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    return component


def links(payload) -> dict[str, str]:
    """The subscriber's own links a message carries, by purpose."""
    return {m.group(1): m.group(0) for m in LINK.finditer(json.dumps(payload))}


def words_of(payload) -> str:
    return json.dumps(payload, ensure_ascii=False)


@pytest.mark.parametrize("service", SERVICES)
def test_each_update_reaches_the_service_in_its_documented_shape(service, chat_receiver, session, website, run):
    receiver = chat_receiver(service)
    subscribe(session, service, receiver.url)
    incident = open_incident(session, component_statuses={website.code: "major_outage"})

    run()

    assert receiver.problems == []
    [payload] = receiver.payloads()
    text = words_of(payload)
    for expected in ("Checkout fails", "Investigating", "We are looking into it.", "Website", "Major outage",
                     f"http://status.test/incidents/{incident.code}"):
        assert expected in text, expected
    assert set(links(payload)) == {"manage", "unsubscribe"}
    assert [d.status for d in deliveries(session)] == [DeliveryStatus.SENT]


def test_slack_gets_blocks_with_the_title_linked_and_a_fallback_text(chat_receiver, session, website, run):
    receiver = chat_receiver("slack")
    subscribe(session, "slack", receiver.url)
    incident = open_incident(session, component_statuses={website.code: "partial_outage"})
    run()
    [payload] = receiver.payloads()
    first = payload["blocks"][0]["text"]["text"]
    assert first.startswith(f"*<http://status.test/incidents/{incident.code}|Checkout fails>*")
    assert "Checkout fails" in payload["text"] and payload["unfurl_links"] is False
    assert payload["blocks"][-1]["type"] == "context"


def test_teams_gets_one_adaptive_card_in_the_attachments(chat_receiver, session, run):
    receiver = chat_receiver("teams")
    subscribe(session, "teams", receiver.url)
    open_incident(session)
    run()
    [payload] = receiver.payloads()
    [attachment] = payload["attachments"]
    card = attachment["content"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert [a["title"] for a in card["actions"]] == ["View incident", "Manage subscription", "Unsubscribe"]


def test_discord_gets_an_embed_coloured_by_impact_that_pings_no_one(chat_receiver, session, website, run):
    receiver = chat_receiver("discord")
    subscribe(session, "discord", receiver.url)
    open_incident(session, component_statuses={website.code: "major_outage"})
    run()
    [payload] = receiver.payloads()
    assert payload["allowed_mentions"] == {"parse": []}
    [embed] = payload["embeds"]
    assert embed["color"] == 0xE03E2D  # critical: a major outage
    assert embed["fields"] == [{"name": "Website", "value": "Major outage", "inline": True}]


def test_a_long_update_is_cut_to_the_services_limits(chat_receiver, session, website, run):
    services = {name: chat_receiver(name) for name in SERVICES}
    for name, receiver in services.items():
        subscribe(session, name, receiver.url)
    names = {}
    for n in range(30):
        component = catalog.create_component(session, ACTOR, f"Component {n:02d} " + "x" * 230)
        names[component.code] = "major_outage"
    session.commit()
    open_incident(session, name="N" * 255, body="Word " * 3000, component_statuses=names)
    run()
    for receiver in services.values():
        assert receiver.problems == [] and len(receiver.delivered) == 1, receiver.service


@pytest.mark.parametrize("batch", [1, 100])  # the next message waits whether it is in the same batch or not
@pytest.mark.parametrize("service, answer", [
    ("slack", (429, {"Retry-After": "120"}, b"rate_limited")),
    ("mattermost", (429, {"Retry-After": "120"}, b"")),
    ("teams", (429, {"Retry-After": "120"}, b"")),
    ("discord", (429, {"Content-Type": "application/json", "Retry-After": "999"},
                 b'{"message": "You are being rate limited.", "retry_after": 120.0, "global": false}')),
])
def test_a_429_is_retried_at_the_time_the_service_asked_without_counting_an_attempt(
        service, answer, batch, chat_receiver, session, mail_app, smtp_settings, clock):
    notifier = Notifier(mail_app.extensions["statuspage.db"], smtp_settings, lambda: clock[0], batch_size=batch)
    receiver = chat_receiver(service)
    receiver.answers = [answer]
    subscribe(session, service, receiver.url)
    open_incident(session)
    open_incident(session, name="Search is slow")  # the same channel: it waits with the first
    started = clock[0]
    while notifier.handle_one_event_expansion():
        pass

    assert notifier.handle_one_delivery_batch()
    assert not notifier.handle_one_delivery_batch()
    assert len(receiver.requests) == 1
    waiting = deliveries(session)
    assert {d.status for d in waiting} == {DeliveryStatus.RETRYING, DeliveryStatus.QUEUED} - (
        {DeliveryStatus.QUEUED} if batch > 1 else set())
    assert {d.attempts for d in waiting} == {0}
    assert {d.next_attempt_at for d in waiting} == {started + timedelta(seconds=120)}

    clock[0] = started + timedelta(seconds=119)
    assert not notifier.handle_one_delivery_batch()
    clock[0] = started + timedelta(seconds=120)
    while notifier.handle_one_delivery_batch():
        pass
    assert len(receiver.delivered) == 2
    assert {d.status for d in deliveries(session)} == {DeliveryStatus.SENT}


@pytest.mark.parametrize("service", SERVICES)
def test_a_500_is_retried_with_the_usual_backoff(service, chat_receiver, session, run, clock):
    receiver = chat_receiver(service)
    receiver.answers = [(500, {}, b"oops")]
    subscribe(session, service, receiver.url)
    open_incident(session)
    started = clock[0]
    run()
    [delivery] = deliveries(session)
    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.RETRYING, 1, "HTTP 500")
    assert delivery.next_attempt_at == started + timedelta(seconds=30)
    clock[0] = started + timedelta(seconds=30)
    run()
    assert deliveries(session)[0].status == DeliveryStatus.SENT


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("status", [404, 410])
def test_a_chat_webhook_that_is_gone_is_removed_with_an_audit_entry(service, status, chat_receiver, session, run):
    receiver = chat_receiver(service)
    receiver.answers = [(status, {}, b"no_service")]
    subscriber = subscribe(session, service, receiver.url)
    code = subscriber.code
    open_incident(session)
    open_incident(session, name="Second")
    run()

    session.expire_all()
    assert session.scalar(select(Subscriber).where(Subscriber.code == code)) is None
    assert {d.status for d in deliveries(session)} == {DeliveryStatus.FAILED}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "subscriber.delete")).one()
    assert entry.target_code == code
    assert entry.detail["mode"] == service and f"HTTP {status}" in entry.detail["reason"]
    assert entry.actor == "worker"


def test_a_statuspage_webhook_answering_404_is_kept_as_today(chat_receiver, session, run):
    receiver = chat_receiver("webhook")
    receiver.answers = [(404, {}, b"")]
    subscriber = subscribers.create(session, ACTOR, endpoint=receiver.url, policy=Policy(deny_private=False))
    session.commit()
    open_incident(session)
    run()
    [delivery] = deliveries(session)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "HTTP 404")
    assert session.get(Subscriber, subscriber.id) is not None


def test_a_chat_subscription_is_confirmed_by_one_message_in_its_channel(chat_receiver, client, session, run):
    receiver = chat_receiver("slack")
    response = client.post("/subscribe/chat", data={"mode": "slack", "endpoint": receiver.url})
    assert response.status_code == 200 and "Check the channel" in response.get_data(as_text=True)
    open_incident(session)  # before confirming: not sent
    run()

    [payload] = receiver.payloads()
    assert "Confirm Acme status updates here" in payload["text"]
    assert set(links(payload)) == {"confirm", "unsubscribe"}
    confirm = links(payload)["confirm"].removeprefix("http://status.test")
    assert "Confirm updates in this channel" in client.get(confirm).get_data(as_text=True)
    assert client.post(confirm).status_code == 200

    open_incident(session, name="Search is slow")
    run()
    assert len(receiver.delivered) == 2 and "Search is slow" in receiver.payloads()[1]["text"]


def test_a_confirmed_channel_signed_up_again_gets_its_manage_link(chat_receiver, client, session, run):
    receiver = chat_receiver("discord")
    subscribe(session, "discord", receiver.url)
    client.post("/subscribe/chat", data={"mode": "discord", "endpoint": receiver.url})
    run()
    [payload] = receiver.payloads()
    assert set(links(payload)) == {"manage", "unsubscribe"}
    assert "already come here" in words_of(payload)


@pytest.mark.parametrize("service", SERVICES)
def test_the_unsubscribe_link_in_every_message_removes_the_subscriber(service, chat_receiver, client, session, run):
    receiver = chat_receiver(service)
    subscriber_id = subscribe(session, service, receiver.url).id
    open_incident(session)
    run()
    unsubscribe = links(receiver.payloads()[0])["unsubscribe"].removeprefix("http://status.test")
    assert client.get(unsubscribe).status_code == 200
    assert client.post(unsubscribe).status_code == 200
    session.expire_all()
    assert session.get(Subscriber, subscriber_id) is None


def test_component_only_changes_go_to_statuspage_webhooks_alone(chat_receiver, session, website, run, clock):
    chat, hook = chat_receiver("slack"), chat_receiver("webhook")
    subscribe(session, "slack", chat.url)
    subscribers.create(session, ACTOR, endpoint=hook.url, policy=Policy(deny_private=False))
    session.commit()
    set_status(session, website, ComponentStatus.MAJOR_OUTAGE, ACTOR)
    session.commit()
    clock[0] += timedelta(minutes=5)
    run()
    assert len(hook.delivered) == 1 and "component_update" in hook.payloads()[0]
    assert chat.requests == []


def test_chat_subscribers_hear_of_maintenance_and_postmortems_as_email_subscribers_do(
        chat_receiver, session, run, clock):
    receiver = chat_receiver("discord")
    subscribe(session, "discord", receiver.url)
    windows.schedule_maintenance(session, ACTOR, name="Database upgrade", body="Planned work.",
                                 scheduled_for=(clock[0] + timedelta(days=1)).isoformat(),
                                 scheduled_until=(clock[0] + timedelta(days=1, hours=2)).isoformat())
    incident = open_incident(session, status="resolved")
    postmortem = editing.start(session, ACTOR, incident, "Europe/Berlin")
    editing.edit(session, ACTOR, incident, postmortem, "Europe/Berlin",
                 {key: "Written." for key in REQUIRED_SECTIONS})
    editing.publish(session, ACTOR, incident, postmortem, "Europe/Berlin")
    session.commit()
    run()
    embeds = [payload["embeds"][0] for payload in receiver.payloads()]
    assert [(e["title"], e["color"]) for e in embeds] == [
        ("Database upgrade", 0x3498DB), ("Checkout fails", 0x2FB344), ("Checkout fails", 0x2FB344)]
    assert embeds[2]["description"].startswith("Postmortem")


def test_a_page_named_status_confirms_chat_without_saying_status_twice(chat_receiver, client, session, run):
    get_page(session).name = "Status"
    session.commit()
    receiver = chat_receiver("slack")
    assert client.post("/subscribe/chat", data={"mode": "slack", "endpoint": receiver.url}).status_code == 200
    run()
    [payload] = receiver.payloads()
    assert "Confirm Status updates here" in payload["text"]
    assert "status status" not in json.dumps(payload).lower()
