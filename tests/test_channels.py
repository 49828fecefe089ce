"""The channel seam: one registered channel per subscriber mode, and each channel's address rules."""

from __future__ import annotations

import pytest

from statuspage.errors import InvalidInput
from statuspage.models import EventKind, SubscriberMode
from statuspage.notify.channels import CHANNELS
from statuspage.notify.channels.hooks import retry_after
from statuspage.notify.channels.notice import Notice
from statuspage.notify.channels.sms import clean_phone, segments, sms_text
from statuspage.outbound.guard import Policy

PUBLIC_ONLY = Policy.for_subscribers()
PRIVATE_ALLOWED = Policy(deny_private=False)
CHAT = [SubscriberMode.SLACK, SubscriberMode.MATTERMOST, SubscriberMode.TEAMS, SubscriberMode.DISCORD]


def clean(mode: SubscriberMode, value: object, policy: Policy = PUBLIC_ONLY) -> str:
    return CHANNELS[mode].clean_address(value, "endpoint", policy)


def refusal(mode: SubscriberMode, value: object, policy: Policy = PUBLIC_ONLY) -> str:
    with pytest.raises(InvalidInput) as caught:
        clean(mode, value, policy)
    assert caught.value.field == "endpoint"
    return caught.value.message


def test_every_mode_has_exactly_one_channel():
    assert set(CHANNELS) == set(SubscriberMode)
    assert all(channel.mode == mode for mode, channel in CHANNELS.items())


@pytest.mark.parametrize("mode", CHAT)
@pytest.mark.parametrize("url", ["", "   ", "not a url", "hooks.slack.com/services/x", "ftp://example.com/hook",
                                 "https://", "https://[::1/hook", "https://example.com:99999/hook",
                                 "https://exa mple.com/hook", "https://example.com/\x00", "https://" + "a" * 2001,
                                 "https://-bad-.example.com/hook", 42, None])
def test_a_malformed_chat_url_is_refused_with_a_message(mode, url):
    assert refusal(mode, url)


@pytest.mark.parametrize("mode", CHAT)
def test_chat_urls_must_be_https(mode):
    assert "must start with https://" in refusal(mode, "http://203.0.113.9/hook")
    assert "must start with https://" in refusal(mode, "http://chat.example.com/hook")


@pytest.mark.parametrize("mode", CHAT)
def test_plain_http_reaches_only_loopback_and_only_when_the_operator_allows_private_targets(mode):
    assert clean(mode, "http://127.0.0.1:8065/hooks/abc", PRIVATE_ALLOWED) == "http://127.0.0.1:8065/hooks/abc"
    assert clean(mode, "http://[::1]:8065/hooks/abc", PRIVATE_ALLOWED) == "http://[::1]:8065/hooks/abc"
    assert "must start with https://" in refusal(mode, "http://127.0.0.1:8065/hooks/abc")
    assert "must start with https://" in refusal(mode, "http://10.0.0.8/hooks/abc", PRIVATE_ALLOWED)
    assert "private address" in refusal(mode, "https://127.0.0.1/hooks/abc")


@pytest.mark.parametrize("mode", CHAT)
@pytest.mark.parametrize("url", ["https://169.254.169.254/latest", "https://[fd00:ec2::254]/x",
                                 "https://[64:ff9b::a9fe:a9fe]/x"])
def test_link_local_and_metadata_addresses_are_refused_whatever_the_operator_allows(mode, url):
    assert "not allowed" in refusal(mode, url, PRIVATE_ALLOWED)


@pytest.mark.parametrize("mode, url, other", [
    (SubscriberMode.SLACK, "https://discord.com/api/webhooks/1/abc", "Discord"),
    (SubscriberMode.SLACK, "https://discordapp.com/api/webhooks/1/abc", "Discord"),
    (SubscriberMode.MATTERMOST, "https://hooks.slack.com/services/T0/B0/x", "Slack"),
    (SubscriberMode.DISCORD, "https://hooks.slack.com/services/T0/B0/x", "Slack"),
    (SubscriberMode.DISCORD, "https://acme.webhook.office.com/webhookb2/x", "Microsoft Teams"),
    (SubscriberMode.TEAMS, "https://discord.com/api/webhooks/1/abc", "Discord"),
    (SubscriberMode.SLACK, "https://prod-12.westus.logic.azure.com/workflows/x", "Microsoft Teams"),
])
def test_a_url_on_another_services_well_known_host_is_refused(mode, url, other):
    assert refusal(mode, url) == (f"That is a {other} webhook URL, not a {CHANNELS[mode].label} one: "
                                  f"choose {other} to use it.")


@pytest.mark.parametrize("mode, url", [
    (SubscriberMode.SLACK, "https://hooks.slack.com/services/T0/B0/xyz"),
    (SubscriberMode.DISCORD, "https://discord.com/api/webhooks/1/abc"),
    (SubscriberMode.TEAMS, "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"),
    (SubscriberMode.TEAMS, "https://teams-hooks.example.net/flow"),  # other workflow hosts are taken as given
    (SubscriberMode.MATTERMOST, "https://chat.example.org/hooks/xyz"),  # self-hosted
])
def test_a_url_of_the_chosen_service_is_taken(mode, url):
    assert clean(mode, url) == url


def test_the_statuspage_webhook_keeps_its_rules():
    webhook = SubscriberMode.WEBHOOK
    assert clean(webhook, "http://93.184.216.34/hook") == "http://93.184.216.34/hook"  # plain http stays allowed
    assert clean(webhook, "https://discord.com/api/webhooks/1/abc")  # no well-known host rule
    assert "private address" in refusal(webhook, "http://127.0.0.1/hook")


@pytest.mark.parametrize("number, country, expected", [
    ("+1 415 555 2671", None, ("+14155552671", "US")),
    ("(415) 555-2671", "US", ("+14155552671", "US")),
    ("030 901820", "de", ("+4930901820", "DE")),
    ("+44 20 7946 0958", "US", ("+442079460958", "GB")),  # a + number keeps its own country
])
def test_phone_numbers_are_stored_in_e164(number, country, expected):
    assert clean_phone(number, country) == expected


@pytest.mark.parametrize("number, country, field", [
    ("", "US", "phone_number"), ("555-2671", None, "phone_number"), ("call me", "US", "phone_number"),
    ("+1 415 555", None, "phone_number"), ("+999 123 456 789", None, "phone_number"), (12, "US", "phone_number"),
    ("415 555 2671", "XX", "phone_country"),
])
def test_a_number_that_does_not_parse_is_refused_with_its_field(number, country, field):
    with pytest.raises(InvalidInput) as caught:
        clean_phone(number, country)
    assert caught.value.field == field


def test_segments_count_gsm_septets_and_ucs2_units():
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("{" * 80) == 1  # an extension character takes two septets
    assert segments("{" * 81) == 2
    assert segments("é" * 160) == 1  # é is in GSM's basic set
    assert segments("ü" * 70 + "ł") == 2  # ł is not: the whole text is UCS-2
    assert segments("😀" * 35) == 1


@pytest.mark.parametrize("title", ["Checkout down", "x" * 1000, "Zahlungsausfall: Kartenzahlungen schlagen fehl " * 10,
                                   "決済が失敗しています " * 40, "😀" * 300])
def test_a_text_stays_within_two_segments_and_keeps_its_links(title):
    notice = Notice(EventKind.INCIDENT, title, "Identified", "major", "long body " * 100,
                    "https://status.example.com/incidents/abcdefghijkl", page_name="Acme")
    stop = "https://status.example.com/u/abcdefghijkl.ABCDEFGHIJKL"
    text = sms_text(notice, stop)
    assert segments(text) <= 2
    assert text.startswith("Acme: ")
    assert "https://status.example.com/incidents/abcdefghijkl" in text
    assert text.endswith(f"Stop: {stop}")
    assert "long body" not in text  # title, status and a link: the rest is on the page


def test_retry_after_reads_seconds_and_dates_and_is_bounded():
    assert retry_after("30").total_seconds() == 30
    assert retry_after("1.5").total_seconds() == 1.5
    assert retry_after("-5").total_seconds() == 0
    assert retry_after("999999").total_seconds() == 3600
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT").total_seconds() == 0  # in the past
    assert retry_after("soon") is None
    assert retry_after(None) is None
