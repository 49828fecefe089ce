"""Chat and SMS subscribers on the public form and in the admin: sign-up refusals, the list, counts, CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from statuspage.models import Subscriber, SubscriberMode
from statuspage.page.record import get_page
from tests.channel_builders import subscribe
from tests.test_admin_subscribers import flashes, listed, table, upload

SLACK = "http://127.0.0.1:9/hooks/T1/B1/x"


@pytest.fixture
def client(mail_app, session):
    return mail_app.test_client()


def count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Subscriber))


@pytest.mark.parametrize("mode, endpoint, message", [
    ("slack", "", "A Slack webhook URL is required."),
    ("slack", "not-a-url", "must start with http:// or https://"),
    ("teams", "https://exa mple.com/x", "must not contain spaces"),
    ("discord", "http://chat.example.com/api/webhooks/1/x", "must start with https://"),
    ("slack", "https://discord.com/api/webhooks/1/abc", "That is a Discord webhook URL, not a Slack one"),
    ("mattermost", "https://hooks.slack.com/services/T/B/x", "That is a Slack webhook URL, not a Mattermost one"),
    ("discord", "https://169.254.169.254/latest/meta-data", "is not allowed"),
    ("irc", "https://chat.example.com/hook", "Choose Slack, Mattermost, Microsoft Teams or Discord."),
])
def test_the_chat_form_refuses_bad_input_with_a_message_and_saves_nothing(client, session, mode, endpoint, message):
    response = client.post("/subscribe/chat", data={"mode": mode, "endpoint": endpoint})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(session) == 0


def test_the_chat_form_is_offered_with_webhooks_and_off_without_them(client, session):
    assert "Or get updates in Slack" in client.get("/subscribe").get_data(as_text=True)
    get_page(session).allow_webhook_subscribers = False
    session.commit()
    assert "Or get updates in Slack" not in client.get("/subscribe").get_data(as_text=True)
    assert client.post("/subscribe/chat", data={"mode": "slack", "endpoint": SLACK}).status_code == 404


def test_a_chat_url_signed_up_twice_is_one_subscriber(client, session):
    for _ in range(2):
        assert client.post("/subscribe/chat", data={"mode": "slack", "endpoint": SLACK}).status_code == 200
    assert count(session) == 1


@pytest.fixture
def population(session):
    subscribe(session, "slack", SLACK)
    subscribe(session, "teams", "http://127.0.0.1:9/teams/flow")
    subscribe(session, "discord", "http://127.0.0.1:9/api/webhooks/1/x", confirmed=False)
    subscribe(session, "mattermost", "http://127.0.0.1:9/hooks/mm")
    subscribe(session, "sms", "+12025550100")
    return session


def test_the_admin_lists_every_kind_and_filters_by_it(client, login_as, population):
    login_as("responder")
    assert sorted(listed(client)) == sorted([
        f"{SLACK} (slack)", "http://127.0.0.1:9/teams/flow (teams)", "http://127.0.0.1:9/api/webhooks/1/x (discord)",
        "http://127.0.0.1:9/hooks/mm (mattermost)", "+12025550100 (sms)"])
    assert listed(client, "?mode=sms") == ["+12025550100 (sms)"]
    assert listed(client, "?q=2025550") == ["+12025550100 (sms)"]
    assert client.get("/admin/subscribers?mode=carrier-pigeon").status_code == 400


def test_the_admin_counts_active_subscribers_of_each_kind(client, login_as, population):
    login_as("responder")
    page = client.get("/admin/subscribers").get_data(as_text=True)
    for line in ("Email: 0", "Webhook: 0", "Slack: 1", "Mattermost: 1", "Microsoft Teams: 1", "Discord: 0", "SMS: 1"):
        assert f"<li>{line}</li>" in page


def test_the_export_carries_each_kind_and_imports_back(client, login_as, population, session):
    login_as("admin")
    exported = client.get("/admin/subscribers.csv").get_data()
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    assert {(r["mode"], r["endpoint"] or r["phone_number"], r["confirmed"]) for r in rows} == {
        ("slack", SLACK, "yes"), ("teams", "http://127.0.0.1:9/teams/flow", "yes"),
        ("discord", "http://127.0.0.1:9/api/webhooks/1/x", "no"), ("mattermost", "http://127.0.0.1:9/hooks/mm", "yes"),
        ("sms", "'+12025550100", "yes")}  # a leading + is quoted so no spreadsheet runs it

    for subscriber in session.scalars(select(Subscriber)):
        session.delete(subscriber)
    session.commit()
    response = upload(client, exported)
    assert flashes(response) == ["Imported 4 subscribers (0 already there; 1 webhooks or unconfirmed left out)."]
    session.expire_all()
    imported = {(s.mode, s.address, s.confirmed_at is not None) for s in session.scalars(select(Subscriber))}
    assert imported == {(SubscriberMode.SLACK, SLACK, True),
                        (SubscriberMode.TEAMS, "http://127.0.0.1:9/teams/flow", True),
                        (SubscriberMode.MATTERMOST, "http://127.0.0.1:9/hooks/mm", True),
                        (SubscriberMode.SMS, "+12025550100", True)}
    assert upload(client, exported).status_code == 200
    assert count(session) == 4  # importing again adds no one


@pytest.mark.parametrize("content, message", [
    (b"mode,endpoint\nslack,https://discord.com/api/webhooks/1/x\n", "line 2: That is a Discord webhook URL"),
    (b"mode,phone_number\nsms,12345\n", "line 2: That is not a phone number"),
    (b"mode,email\npager,ops@example.org\n", "line 2: unknown mode 'pager'"),
])
def test_a_bad_row_of_any_kind_rejects_the_whole_import(client, login_as, session, content, message):
    login_as("admin")
    [flashed] = flashes(upload(client, content))
    assert message in flashed
    assert count(session) == 0


def test_the_list_table_shows_the_state_of_each_kind(client, login_as, population):
    login_as("responder")
    states = {row[0]: row[1] for row in table(client.get("/admin/subscribers")) if len(row) > 1}
    assert states["http://127.0.0.1:9/api/webhooks/1/x (discord)"] == "unconfirmed"
    assert states["+12025550100 (sms)"] == "confirmed"
