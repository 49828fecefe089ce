"""SMS through a Twilio-compatible API on loopback: the form fields and Basic auth, short texts, 429 waits,
STOP removes; the public sign-up proves the phone with a six-digit code and never tells who is subscribed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from statuspage import create_app
from statuspage.config import SettingError, Settings
from statuspage.db import utcnow
from statuspage.models import AuditEntry, DeliveryStatus, PhoneCode, Subscriber, SubscriberMode
from statuspage.notify import phone
from statuspage.notify.channels.sms import segments
from statuspage.web.subscriptions import SMS_CODE_REFUSED
from tests.channel_builders import SENDER, deliveries, open_incident, subscribe, with_sms, worker

NUMBER = "+12025550100"
STOP = re.compile(r"Stop: http://status\.test(/u/[\w.-]+)")
CODE = re.compile(r"^(\d{6}) is your code")


@pytest.fixture
def sms_settings(smtp_settings, twilio):
    return with_sms(smtp_settings, twilio)


@pytest.fixture
def clock():
    return [utcnow()]


@pytest.fixture
def sms_app(sms_settings):
    app = create_app(sms_settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["statuspage.db"].engine.dispose()


@pytest.fixture
def client(sms_app, session):
    return sms_app.test_client()


@pytest.fixture
def run(sms_app, sms_settings, clock):
    return worker(sms_app, sms_settings, clock).run_once


def test_an_update_is_texted_with_twilios_form_fields_and_basic_auth(twilio, session, run):
    subscribe(session, "sms", NUMBER)
    incident = open_incident(session, name="Checkout fails")
    run()
    assert twilio.problems == []
    [text] = twilio.payloads()
    assert (text["To"], text["From"]) == (NUMBER, SENDER)
    assert text["Body"].startswith("Acme: Checkout fails - Investigating. ")
    assert f"http://status.test/incidents/{incident.code}" in text["Body"]
    assert STOP.search(text["Body"]) and segments(text["Body"]) <= 2
    assert [d.status for d in deliveries(session)] == [DeliveryStatus.SENT]


def test_a_long_or_unicode_title_still_fits_two_segments(twilio, session, run):
    subscribe(session, "sms", NUMBER)
    open_incident(session, name="Störung der Zahlungsabwicklung in allen Regionen 🙈 " * 5)
    run()
    [text] = twilio.payloads()
    assert segments(text["Body"]) <= 2 and STOP.search(text["Body"])


def test_a_429_pauses_every_text_until_the_time_asked(twilio, session, run, clock):
    for n in range(3):
        subscribe(session, "sms", f"+1202555{n:04d}")
    twilio.answers = [(429, {"Retry-After": "60", "Content-Type": "application/json"},
                       b'{"code": 20429, "message": "Too Many Requests", "status": 429}')]
    open_incident(session)
    started = clock[0]
    run()
    assert len(twilio.requests) == 1  # one account, one limit: the others were not tried
    assert {(d.status, d.attempts, d.next_attempt_at) for d in deliveries(session)} == {
        (DeliveryStatus.RETRYING, 0, started + timedelta(seconds=60))}
    clock[0] = started + timedelta(seconds=60)
    run()
    assert len(twilio.delivered) == 3


def test_a_number_that_texted_stop_is_removed_and_a_bad_request_fails_alone(twilio, session, run):
    stopped = subscribe(session, "sms", "+12025550101").code
    subscribe(session, "sms", "+12025550102")
    twilio.answers = [
        (400, {"Content-Type": "application/json"},
         b'{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}'),
        (400, {"Content-Type": "application/json"}, b'{"code": 21614, "message": "Not a mobile number"}'),
    ]
    open_incident(session)
    run()
    session.expire_all()
    assert [s.phone_number for s in session.scalars(select(Subscriber))] == ["+12025550102"]
    assert {d.status for d in deliveries(session)} == {DeliveryStatus.FAILED}
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "subscriber.delete")).one()
    assert entry.target_code == stopped and "21610" in entry.detail["reason"]


@pytest.mark.parametrize("status", [401, 404, 500])
def test_an_answer_that_points_at_the_operators_settings_is_retried(status, twilio, session, run):
    subscribe(session, "sms", NUMBER)
    twilio.answers = [(status, {}, b"")]
    open_incident(session)
    run()
    [delivery] = deliveries(session)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 1)


def test_without_sms_settings_a_text_waits_for_them(twilio, session, mail_app, smtp_settings, clock):
    subscribe(session, "sms", NUMBER)
    open_incident(session)
    worker(mail_app, smtp_settings, clock).run_once()
    [delivery] = deliveries(session)
    assert delivery.status == DeliveryStatus.RETRYING and "not configured" in delivery.last_error
    assert twilio.requests == []


def test_the_short_stop_link_of_a_text_unsubscribes(twilio, client, session, run):
    subscriber_id = subscribe(session, "sms", NUMBER).id
    open_incident(session)
    run()
    path = STOP.search(twilio.payloads()[0]["Body"]).group(1)
    assert "Unsubscribe +12025550100?" in client.get(path).get_data(as_text=True)
    assert client.post(path).status_code == 200
    session.expire_all()
    assert session.get(Subscriber, subscriber_id) is None
    assert "no longer" in client.get(path).get_data(as_text=True).lower() or client.get(path).status_code == 200


def test_a_tampered_stop_link_unsubscribes_no_one(client, session):
    subscriber = subscribe(session, "sms", NUMBER)
    assert client.get(f"/u/{subscriber.code}.AAAAAAAAAAAA").status_code == 200
    client.post(f"/u/{subscriber.code}.AAAAAAAAAAAA")
    assert client.get("/u/nonsense").status_code == 400
    session.expire_all()
    assert session.get(Subscriber, subscriber.id) is not None


# --- the public sign-up --------------------------------------------------------------------------


def sign_up(client, number=NUMBER, country="", **extra):
    return client.post("/subscribe/sms", data={"phone_number": number, "phone_country": country, **extra})


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def texted_code(twilio, run) -> str:
    run()
    return CODE.match(twilio.payloads()[-1]["Body"]).group(1)


def test_the_form_offers_texts_only_when_the_operator_set_them_up(client, mail_app, session):
    assert "Or get text messages" in client.get("/subscribe").get_data(as_text=True)
    plain = mail_app.test_client()
    assert "Or get text messages" not in plain.get("/subscribe").get_data(as_text=True)
    assert plain.post("/subscribe/sms", data={"phone_number": NUMBER}).status_code == 404


def test_a_number_is_confirmed_by_the_code_texted_to_it(client, twilio, session, run):
    response = sign_up(client, "(202) 555-0100", "US")
    assert response.status_code == 200 and "+1 ••• 0100" in response.get_data(as_text=True)
    code = texted_code(twilio, run)
    assert twilio.payloads()[0]["To"] == NUMBER
    open_incident(session)  # not before the code is typed
    run()
    assert len(twilio.delivered) == 1

    confirmed = client.post("/subscribe/sms/verify", data={"token": token_of(response), "code": code})
    assert confirmed.status_code == 200 and "You are subscribed" in confirmed.get_data(as_text=True)
    subscriber = session.scalars(select(Subscriber)).one()
    assert (subscriber.mode, subscriber.phone_number, subscriber.phone_country) == (SubscriberMode.SMS, NUMBER, "US")
    assert subscriber.confirmed_at is not None
    open_incident(session, name="Search is slow")
    run()
    assert "Search is slow" in twilio.payloads()[-1]["Body"]


def test_a_wrong_code_is_refused_and_a_few_wrong_tries_void_it(client, twilio, session, run):
    token = token_of(sign_up(client))
    code = texted_code(twilio, run)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(phone.TRIES):
        refused = client.post("/subscribe/sms/verify", data={"token": token, "code": wrong})
        assert refused.status_code == 422 and SMS_CODE_REFUSED in refused.get_data(as_text=True)
    voided = client.post("/subscribe/sms/verify", data={"token": token, "code": code})
    assert voided.status_code == 422
    assert session.scalars(select(Subscriber)).one().confirmed_at is None


def test_a_code_expires(client, twilio, session, run):
    token = token_of(sign_up(client))
    code = texted_code(twilio, run)
    row = session.scalars(select(PhoneCode)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.post("/subscribe/sms/verify", data={"token": token, "code": code}).status_code == 422


def test_the_answer_never_tells_whether_a_number_is_subscribed(client, twilio, session, run):
    subscribe(session, "sms", NUMBER)
    known = sign_up(client, NUMBER)
    unknown = sign_up(client, "+12025550199")
    strip = lambda r: re.sub(r'value="[^"]+"|\+1 ••• \d{4}', "", r.get_data(as_text=True))  # noqa: E731
    assert (known.status_code, strip(known)) == (unknown.status_code, strip(unknown))
    assert client.post("/subscribe/sms/verify", data={"token": token_of(known), "code": "000000"}).get_data(
        as_text=True).count(SMS_CODE_REFUSED) == 1


def test_a_subscribed_number_typing_its_code_reaches_its_manage_link(client, twilio, session, run):
    subscribe(session, "sms", NUMBER)
    token = token_of(sign_up(client))
    code = texted_code(twilio, run)
    page = client.post("/subscribe/sms/verify", data={"token": token, "code": code}).get_data(as_text=True)
    assert "You were already subscribed" in page and "/subscribers/manage/" in page


def test_a_new_code_is_sent_at_most_once_a_minute(client, twilio, session, run):
    token = token_of(sign_up(client))
    run()
    assert client.post("/subscribe/sms/resend", data={"token": token}).status_code == 200
    run()
    assert len(twilio.delivered) == 1
    row = session.scalars(select(PhoneCode)).one()
    row.sent_at -= timedelta(seconds=61)
    session.commit()
    client.post("/subscribe/sms/resend", data={"token": token})
    run()
    assert len(twilio.delivered) == 2


@pytest.mark.parametrize("number, country", [("12345", "US"), ("not a number", ""), ("555 0100", ""),
                                             ("+1 202 555 0100", "ZZ")])
def test_a_number_that_does_not_parse_gets_a_message_and_nothing_is_saved(client, session, number, country):
    response = sign_up(client, number, country)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert session.scalars(select(Subscriber)).all() == []


def test_sign_ups_for_one_number_are_rate_limited(client, session):
    assert [sign_up(client).status_code for _ in range(4)] == [200, 200, 200, 429]


# --- the operator's settings ---------------------------------------------------------------------


def sms_environ(tmp_path, **changes: str) -> dict[str, str]:
    token = tmp_path / "token"
    token.write_text("secret-token\n")
    base = {"STATUSPAGE_SECRET_KEY": "k", "STATUSPAGE_INSTANCE_DIR": str(tmp_path), "STATUSPAGE_SMS_PROVIDER": "twilio",
            "STATUSPAGE_SMS_ACCOUNT_SID": "AC123", "STATUSPAGE_SMS_AUTH_TOKEN_FILE": str(token),
            "STATUSPAGE_SMS_FROM": "+15005550006"}
    return {key: value for key, value in {**base, **changes}.items() if value}


def test_sms_is_off_by_default_and_twilio_reads_its_token_from_a_file(tmp_path):
    assert Settings.from_env({"STATUSPAGE_SECRET_KEY": "k", "STATUSPAGE_INSTANCE_DIR": str(tmp_path)}).sms is None
    sms = Settings.from_env(sms_environ(tmp_path)).sms
    assert (sms.account_sid, sms.auth_token, sms.sender, sms.api_url) == (
        "AC123", "secret-token", "+15005550006", "https://api.twilio.com")
    assert "secret-token" not in repr(sms)


@pytest.mark.parametrize("changes, message", [
    ({"STATUSPAGE_SMS_PROVIDER": "carrier-pigeon"}, "must be one of none, twilio"),
    ({"STATUSPAGE_SMS_AUTH_TOKEN_FILE": ""}, "needs STATUSPAGE_SMS_ACCOUNT_SID"),
    ({"STATUSPAGE_SMS_FROM": "555-0100"}, "is not a number in E.164 form"),
    ({"STATUSPAGE_SMS_ACCOUNT_SID": "AC 123"}, "is not an account SID"),
    ({"STATUSPAGE_SMS_API_URL": "ftp://twilio.example"}, "is not an http(s) URL"),
])
def test_sms_settings_are_checked_at_start(tmp_path, changes, message):
    with pytest.raises(SettingError, match=re.escape(message)):
        Settings.from_env(sms_environ(tmp_path, **changes))


def test_the_page_profile_says_sms_sign_up_is_offered_once_a_provider_is_set(client, api_token, page_code):
    headers = api_token("admin")
    assert client.get(f"/api/v1/pages/{page_code}", headers=headers).get_json()["allow_sms_subscribers"] is True
    sent_back = client.patch(f"/api/v1/pages/{page_code}", headers=headers,
                             json={"page": {"allow_sms_subscribers": True, "name": "Acme Cloud"}})
    assert sent_back.status_code == 200 and sent_back.get_json()["name"] == "Acme Cloud"
    refused = client.patch(f"/api/v1/pages/{page_code}", headers=headers,
                           json={"page": {"allow_sms_subscribers": False, "name": "Other"}})
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "allow_sms_subscribers"
    assert "STATUSPAGE_SMS_PROVIDER" in refused.get_json()["error"]["message"]
    assert client.get(f"/api/v1/pages/{page_code}", headers=headers).get_json()["name"] == "Acme Cloud"
