"""The subscribers API for chat and SMS: Statuspage's `mode`, `endpoint` and `phone_number` in and out, proof of
control unless skipped, the new kinds in filters and counts, and refusals that save nothing."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import ValidationError

import tests.test_channel_sms as channel_sms
import tests.test_subscribers_api as subscribers_api
from statuspage.api.openapi import document
from statuspage.models import OutboxEvent, Subscriber
from tests.channel_receivers import Receiver
from tests.test_openapi import assert_documented, validator
from tests.test_subscribers_api import NONE_BY_TYPE, Api, rows, stored

CHAT = ["slack", "mattermost", "teams", "discord"]
NUMBER = "+12025550100"
CONFIRM = re.compile(r"http://status\.test(/subscribers/confirm/[\w.-]+)")


# Texts set up through the local Twilio-compatible receiver, a worker, and the keys of the main API tests.
sms_settings, sms_app, client, clock, run = (channel_sms.sms_settings, channel_sms.sms_app, channel_sms.client,
                                             channel_sms.clock, channel_sms.run)
api, admin_api = subscribers_api.api, subscribers_api.admin_api


def open_incident(api: Api, name: str) -> None:
    response = api.client.post(api.base.replace("/subscribers", "/incidents"), headers=api.headers,
                               json={"incident": {"name": name, "status": "investigating", "body": "Looking."}})
    assert response.status_code == 201, response.get_json()


def confirm_link(message: object) -> str:
    """The path of the confirm link in a chat payload or a text."""
    match = CONFIRM.search(json.dumps(message))
    assert match, message
    return match.group(1)


def said(receiver: Receiver) -> str:
    return json.dumps(receiver.payloads())


# --- chat ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", CHAT)
def test_a_chat_subscriber_hears_nothing_but_a_confirm_link_until_it_is_followed(
        api, client, chat_receiver, run, mode):
    receiver = chat_receiver(mode)
    response = api.create(mode=mode, endpoint=receiver.url)
    assert response.status_code == 201, response.get_json()
    body = assert_documented(response, "post", "/pages/{page_id}/subscribers")
    assert (body["mode"], body["endpoint"], body["state"]) == (mode, receiver.url, "unconfirmed")
    assert body["email"] is body["phone_number"] is None
    assert body["skip_confirmation_notification"] is False and "webhook_secret" not in body

    run()
    [asked] = receiver.payloads()
    open_incident(api, "Search is slow")
    run()
    assert len(receiver.payloads()) == 1 and receiver.problems == []

    assert client.post(confirm_link(asked)).status_code == 200
    assert api("GET", f"/{body['id']}").get_json()["state"] == "active"
    open_incident(api, "Checkout fails")
    run()
    assert "Checkout fails" in said(receiver) and "Search is slow" not in said(receiver)
    assert receiver.problems == []


@pytest.mark.parametrize("mode", [*CHAT, "sms"])
def test_skip_confirmation_notification_subscribes_each_kind_at_once(admin_api, chat_receiver, twilio, run, mode):
    receiver = twilio if mode == "sms" else chat_receiver(mode)
    address = {"phone_number": NUMBER} if mode == "sms" else {"endpoint": receiver.url}
    body = admin_api.created(mode=mode, skip_confirmation_notification=True, **address)
    assert body["state"] == "active" and body["confirmed_at"] is not None
    assert body["skip_confirmation_notification"] is True
    run()
    assert receiver.requests == []
    open_incident(admin_api, "Checkout fails")
    run()
    assert "Checkout fails" in said(receiver) and receiver.problems == []


@pytest.mark.parametrize("mode", [*CHAT, "sms"])
def test_a_responder_cannot_opt_a_chat_or_phone_in_without_its_consent(api, session, mode):
    address = {"phone_number": NUMBER} if mode == "sms" else {"endpoint": "http://127.0.0.1:9/hooks/x"}
    response = api.create(mode=mode, skip_confirmation_notification=True, **address)
    assert response.status_code == 403
    assert rows(session, Subscriber) == rows(session, OutboxEvent) == 0


def test_resending_asks_a_chat_again_and_a_phone_asks_the_page(api, chat_receiver, run):
    receiver = chat_receiver("discord")
    chat = api.created(mode="discord", endpoint=receiver.url)["id"]
    phone = api.created(phone_number=NUMBER)["id"]
    assert api("POST", f"/{chat}/resend_confirmation").status_code == 201
    refused = api("POST", f"/{phone}/resend_confirmation")
    assert refused.status_code == 422 and "SMS" in refused.get_json()["error"]["message"]
    run()
    assert len(receiver.payloads()) == 2
    assert api("POST", "/resend_confirmation", json={"subscribers": "all", "type": "discord"}).get_json() == {
        "resent": 1}


# --- SMS -----------------------------------------------------------------------------------------


def test_a_phone_number_makes_an_sms_subscriber_confirmed_by_the_link_texted_to_it(api, client, twilio, run):
    response = api.create(phone_number="(202) 555-0100", phone_country="us")
    assert response.status_code == 201, response.get_json()
    body = assert_documented(response, "post", "/pages/{page_id}/subscribers")
    assert body["mode"] == "sms" and body["state"] == "unconfirmed"
    assert (body["phone_number"], body["phone_country"], body["display_phone_number"]) == (
        NUMBER, "US", "+1 202-555-0100")
    assert body["email"] is body["endpoint"] is None and "webhook_secret" not in body

    run()
    [text] = twilio.payloads()
    assert text["To"] == NUMBER
    open_incident(api, "Search is slow")
    run()
    assert len(twilio.payloads()) == 1

    assert client.post(confirm_link(text["Body"])).status_code == 200
    open_incident(api, "Checkout fails")
    run()
    assert "Checkout fails" in twilio.payloads()[-1]["Body"] and twilio.problems == []


def test_without_texts_set_up_an_sms_subscriber_is_refused(mail_app, api_token, page_code, session):
    api = Api(mail_app.test_client(), api_token("admin"), f"/api/v1/pages/{page_code}/subscribers")
    response = api.create(mode="sms", phone_number=NUMBER, skip_confirmation_notification=True)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "phone_number"
    assert "texts are not set up" in response.get_json()["error"]["message"]
    assert rows(session, Subscriber) == 0


# --- reading ---------------------------------------------------------------------------------------


@pytest.fixture
def everyone(admin_api, api) -> dict[str, str]:
    """One active subscriber of each kind, and an unconfirmed Slack one."""
    made = {mode: admin_api.created(mode=mode, endpoint=f"http://127.0.0.1:9/{mode}/hook",
                                    skip_confirmation_notification=True)["id"] for mode in CHAT}
    made["sms"] = admin_api.created(phone_number=NUMBER, skip_confirmation_notification=True)["id"]
    made["email"] = admin_api.created(email="ops@example.org", skip_confirmation_notification=True)["id"]
    made["webhook"] = admin_api.created(endpoint="http://127.0.0.1:9/statuspage")["id"]
    made["pending"] = api.created(mode="slack", endpoint="http://127.0.0.1:9/slack/other")["id"]
    return made


def test_get_shows_each_kind_with_statuspages_fields(api, everyone):
    listed = {s["id"]: s for s in api("GET", "?state=all").get_json()}
    assert {(s["mode"], s["endpoint"], s["phone_number"]) for s in listed.values()} == {
        *((mode, f"http://127.0.0.1:9/{mode}/hook", None) for mode in CHAT), ("sms", None, NUMBER),
        ("email", None, None), ("webhook", "http://127.0.0.1:9/statuspage", None),
        ("slack", "http://127.0.0.1:9/slack/other", None)}
    for code in everyone.values():
        assert assert_documented(api("GET", f"/{code}"), "get", "/pages/{page_id}/subscribers/{subscriber_id}") == (
            listed[code])
    assert listed[everyone["sms"]]["phone_country"] == "US"


@pytest.mark.parametrize("kind", [*CHAT, "sms"])
def test_the_type_filter_takes_each_kind(api, everyone, kind):
    assert api.ids(f"?type={kind}") == [everyone[kind]]


def test_the_counts_and_the_histogram_report_each_kind(api, everyone):
    everyone_active = {kind: 1 for kind in ("email", "sms", "webhook", *CHAT)}
    assert assert_documented(api("GET", "/count"), "get", "/pages/{page_id}/subscribers/count") == (
        NONE_BY_TYPE | everyone_active)
    assert api("GET", "/count?state=all&type=slack").get_json() == NONE_BY_TYPE | {"slack": 2}
    assert api("GET", "/count?q=2025550").get_json() == NONE_BY_TYPE | {"sms": 1}
    histogram = api("GET", "/histogram_by_state").get_json()
    assert set(histogram) == set(NONE_BY_TYPE)
    assert histogram["slack"] == {"active": 1, "unconfirmed": 1, "quarantined": 0, "total": 2}
    assert histogram["discord"] == histogram["sms"] == {"active": 1, "unconfirmed": 0, "quarantined": 0, "total": 1}
    assert histogram["integration_partner"]["total"] == 0


def test_a_form_encoded_create_takes_mode_and_phone_fields(admin_api):
    chat = admin_api("POST", data={"subscriber[mode]": "mattermost", "subscriber[endpoint]": "http://127.0.0.1:9/mm",
                                   "subscriber[email]": "", "subscriber[phone_number]": ""})
    assert chat.status_code == 201 and chat.get_json()["mode"] == "mattermost"
    phone = admin_api("POST", data={"subscriber[phone_number]": "2025550100", "subscriber[phone_country]": "US",
                                    "subscriber[skip_confirmation_notification]": "true"})
    assert phone.status_code == 201 and phone.get_json()["phone_number"] == NUMBER
    assert phone.get_json()["state"] == "active"


def test_a_bare_endpoint_is_a_statuspage_webhook_and_mode_webhook_says_the_same(api):
    for extra in ({}, {"mode": "webhook"}):
        body = api.created(endpoint=f"https://hooks.example.org/{len(extra)}", **extra)
        assert body["mode"] == "webhook" and len(body["webhook_secret"]) == 64


# --- refusals --------------------------------------------------------------------------------------

SLACK_URL = "http://127.0.0.1:9/hooks/T1/B1/x"


@pytest.mark.parametrize("subscriber, field, message", [
    ({"mode": "slack", "endpoint": "not-a-url"}, "endpoint", "must start with http:// or https://"),
    ({"mode": "teams", "endpoint": "https://exa mple.com/x"}, "endpoint", "must not contain spaces"),
    ({"mode": "discord", "endpoint": "http://chat.example.com/api/webhooks/1/x"}, "endpoint",
     "must start with https://"),
    ({"mode": "mattermost", "endpoint": "http://203.0.113.9/hooks/x"}, "endpoint", "must start with https://"),
    ({"mode": "slack", "endpoint": "https://discord.com/api/webhooks/1/abc"}, "endpoint",
     "That is a Discord webhook URL, not a Slack one"),
    ({"mode": "teams", "endpoint": "https://hooks.slack.com/services/T/B/x"}, "endpoint",
     "That is a Slack webhook URL, not a Microsoft Teams one"),
    ({"mode": "discord", "endpoint": "https://prod-01.westus.logic.azure.com/workflows/x"}, "endpoint",
     "That is a Microsoft Teams webhook URL"),
    ({"mode": "slack", "endpoint": "https://169.254.169.254/latest/meta-data"}, "endpoint", "is not allowed"),
    ({"mode": "slack"}, "endpoint", "A Slack webhook URL is required."),
    ({"mode": "sms", "phone_number": "12345"}, "phone_number", "That is not a phone number"),
    ({"phone_number": "(202) 555-0100"}, "phone_number", "That is not a phone number"),
    ({"phone_number": "+1 202 555 010"}, "phone_number", "cannot exist"),
    ({"phone_number": "2025550100", "phone_country": "XX"}, "phone_country", "not a country code"),
    ({"phone_number": 2025550100}, "phone_number", "valid string"),
    ({"mode": "sms"}, "phone_number", "A phone number is required."),
    # A number of no country (+800 freephone: "001") is refused, not stored (PostgreSQL once answered 500).
    ({"phone_number": "+800 1234 5678"}, "phone_number", "belongs to no country"),
    ({"mode": "pager", "endpoint": SLACK_URL}, "mode", "mode must be one of: email, webhook, slack"),
    ({"mode": "integration_partner", "endpoint": SLACK_URL}, "mode", "mode must be one of"),
    ({"mode": ["slack"], "endpoint": SLACK_URL}, "mode", "mode must be one of"),
    ({"mode": "sms", "phone_number": NUMBER, "endpoint": SLACK_URL}, "endpoint",
     "endpoint does not go with mode sms, which takes phone_number and phone_country."),
    ({"mode": "sms", "phone_number": NUMBER, "email": "a@example.org"}, "email", "does not go with mode sms"),
    ({"mode": "slack", "endpoint": SLACK_URL, "email": "a@example.org"}, "email",
     "email does not go with mode slack, which takes endpoint."),
    ({"mode": "teams", "phone_number": NUMBER}, "phone_number", "does not go with mode teams"),
    ({"mode": "email", "email": "a@example.org", "endpoint": SLACK_URL}, "endpoint", "does not go with mode email"),
    ({"email": "a@example.org", "phone_country": "US"}, "phone_country", "does not go with mode email"),
    ({"endpoint": "https://hooks.example.org/x", "phone_number": NUMBER}, "phone_number",
     "does not go with mode webhook, which takes endpoint and email."),
])
def test_bad_input_of_any_kind_is_refused_clearly_and_nothing_is_saved(admin_api, session, subscriber, field,
                                                                       message):
    response = admin_api.create(skip_confirmation_notification=True, **subscriber)
    assert response.status_code == 422, response.get_json()
    error = assert_documented(response, "post", "/pages/{page_id}/subscribers")["error"]
    assert (error["field"], message in error["message"]) == (field, True), error
    assert rows(session, Subscriber) == rows(session, OutboxEvent) == 0


def test_a_chat_url_or_a_number_subscribed_twice_is_a_conflict(api, session):
    api.created(mode="discord", endpoint="http://127.0.0.1:9/api/webhooks/1/x")
    api.created(phone_number=NUMBER)
    again = api.create(mode="discord", endpoint="http://127.0.0.1:9/api/webhooks/1/x")
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "endpoint"
    again = api.create(phone_number="(202) 555-0100", phone_country="US")
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "phone_number"
    assert rows(session, Subscriber) == 2
    assert stored(session, api.ids("?type=sms&state=all")[0]).phone_number == NUMBER


# --- the document --------------------------------------------------------------------------------


def test_the_document_says_which_fields_each_mode_takes():
    doc = document()
    check = validator(doc, "/components/schemas/SubscriberCreate")
    for good in ({"mode": "sms", "phone_number": NUMBER, "phone_country": "US"},
                 {"mode": "teams", "endpoint": "https://example.org/flow", "email": ""},
                 {"endpoint": "https://example.org/hook", "email": "ops@example.org"}):
        check.validate(good)
    for bad in ({"mode": "sms", "endpoint": "https://example.org/hook", "phone_number": NUMBER},
                {"mode": "slack"}, {"mode": "discord", "endpoint": "https://example.org/x", "email": "a@b.org"},
                {"mode": "pager"}, {"mode": "email", "email": "a@b.org", "phone_number": NUMBER}):
        with pytest.raises(ValidationError):
            check.validate(bad)
    types = doc["paths"]["/pages/{page_id}/subscribers"]["get"]["parameters"]
    assert {"discord", "mattermost", "sms", "slack", "teams"} <= set(
        next(p for p in types if p["name"] == "type")["schema"]["enum"])
