"""Outbound targets strangers choose (public webhook sign-ups) reach public addresses only; targets
responders choose (probes) may be private. Every encoding of an address is judged by what it reaches."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from sqlalchemy import func, select

from statuspage.config import Settings
from statuspage.db import utcnow
from statuspage.models import Delivery, DeliveryStatus, Subscriber, SubscriberMode
from statuspage.outbound.guard import OutboundError, Policy, guarded_addresses
from statuspage.worker import Worker
from tests.test_outbound import fake_dns  # noqa: F401  (a fixture)
from tests.test_webhooks import open_incident, public_hook, receiver  # noqa: F401  (receiver is a fixture)

SUBSCRIBERS = Policy.for_subscribers()
PROBES = Policy()
METADATA = ipaddress.IPv4Address("169.254.169.254")
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
PUBLIC = ipaddress.IPv4Address("8.8.8.8")


def nat64(prefix: str, length: int, v4: ipaddress.IPv4Address) -> str:
    """`v4` inside a NAT64 prefix of `length` bits, as RFC 6052 section 2.2 lays it out."""
    prefix_bits = f"{int(ipaddress.IPv6Address(prefix)):0128b}"[:length]
    v4_bits = f"{int(v4):032b}"
    before_u = 64 - length if length < 64 else 0
    body = (v4_bits[:before_u] + "0" * 8 + v4_bits[before_u:]) if length < 96 else v4_bits
    bits = (prefix_bits + body).ljust(128, "0")
    return str(ipaddress.IPv6Address(int(bits, 2)))


def teredo(server: str, client: ipaddress.IPv4Address) -> str:
    """A Teredo address: 2001::/32, the server's IPv4, flags, port, and the client's IPv4 inverted."""
    value = (0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64) | (0x8000 << 48) | (0x63BF << 32)
    return str(ipaddress.IPv6Address(value | (int(client) ^ 0xFFFFFFFF)))


NAT64_FORMS = [
    *[(nat64("64:ff9b::", length, METADATA), "refused", "refused") for length in (32, 40)],
    *[(nat64("64:ff9b:1::", length, METADATA), "refused", "refused") for length in (48, 56, 64, 96)],
    *[(nat64("64:ff9b:1::", length, LOOPBACK), "refused", "allowed") for length in (48, 56, 64, 96)],
    (nat64("64:ff9b::", 96, METADATA), "refused", "refused"),
    (nat64("64:ff9b::", 96, LOOPBACK), "refused", "allowed"),
    (nat64("64:ff9b::", 96, PUBLIC), "allowed", "allowed"),  # DNS64 networks reach public hosts this way
]

# (host as it appears in a URL, verdict under the subscriber policy, verdict under the probe policy)
LITERAL_FORMS = [
    # IPv4 and the shorthand forms the system resolver reads (decimal, octal, hex, short)
    ("127.0.0.1", "refused", "allowed"),
    ("127.1", "refused", "allowed"),
    ("2130706433", "refused", "allowed"),
    ("0x7f000001", "refused", "allowed"),
    ("0177.0.0.1", "refused", "allowed"),
    ("0x7f.0.0.1", "refused", "allowed"),
    ("017700000001", "refused", "allowed"),
    ("0.0.0.0", "refused", "allowed"),
    ("0", "refused", "allowed"),
    ("10.0.0.1", "refused", "allowed"),
    ("172.16.0.1", "refused", "allowed"),
    ("192.168.1.1", "refused", "allowed"),
    ("100.64.0.1", "refused", "allowed"),
    ("192.0.2.1", "refused", "allowed"),
    ("198.18.0.1", "refused", "allowed"),
    ("240.0.0.1", "refused", "allowed"),
    ("169.254.169.254", "refused", "refused"),
    ("169.254.0.1", "refused", "refused"),
    ("2852039166", "refused", "refused"),
    ("0xa9fea9fe", "refused", "refused"),
    ("0251.0376.0251.0376", "refused", "refused"),
    ("169.254.43518", "refused", "refused"),
    ("224.0.0.1", "refused", "refused"),
    ("255.255.255.255", "refused", "refused"),
    ("8.8.8.8", "allowed", "allowed"),
    ("134744072", "allowed", "allowed"),
    # IPv6, and every IPv4-embedding form
    ("::1", "refused", "allowed"),
    ("::", "refused", "allowed"),
    ("::ffff:127.0.0.1", "refused", "allowed"),
    ("::ffff:7f00:1", "refused", "allowed"),
    ("::ffff:169.254.169.254", "refused", "refused"),
    ("::ffff:a9fe:a9fe", "refused", "refused"),
    ("::ffff:8.8.8.8", "allowed", "allowed"),
    ("::127.0.0.1", "refused", "allowed"),
    ("::a9fe:a9fe", "refused", "refused"),
    ("::ffff:0:127.0.0.1", "refused", "allowed"),
    ("::ffff:0:a9fe:a9fe", "refused", "refused"),
    *NAT64_FORMS,
    ("2002:a9fe:a9fe::1", "refused", "refused"),
    ("2002:7f00:1::1", "refused", "allowed"),
    ("2002:808:808::1", "allowed", "allowed"),
    (teredo("65.54.227.120", METADATA), "refused", "refused"),
    (teredo("65.54.227.120", LOOPBACK), "refused", "allowed"),
    (teredo("169.254.169.254", PUBLIC), "refused", "refused"),
    ("fe80::1", "refused", "refused"),
    ("fe80::1%eth0", "refused", "refused"),
    ("fe80::5efe:808:808", "refused", "refused"),
    ("2001:db8::5efe:a9fe:a9fe", "refused", "refused"),
    ("2001:db8::200:5efe:7f00:1", "refused", "allowed"),
    ("fc00::1", "refused", "allowed"),
    ("fd12:3456::1", "refused", "allowed"),
    ("fd00:ec2::254", "refused", "refused"),
    ("fec0::1", "refused", "allowed"),
    ("ff02::1", "refused", "refused"),
    ("100::1", "refused", "allowed"),
    ("2001:db8::1", "refused", "allowed"),
    ("2606:4700:4700::1111", "allowed", "allowed"),
]

# A name, what it resolves to, and the verdicts: a name is judged by every address it answers with.
NAME_FORMS = [
    ("metadata.example.test", "169.254.169.254", "refused", "refused"),
    ("intranet.example.test", "10.1.2.3", "refused", "allowed"),
    ("loop.example.test", "::1", "refused", "allowed"),
    ("mapped.example.test", "::ffff:10.0.0.1", "refused", "allowed"),
    ("nat64.example.test", "64:ff9b::a9fe:a9fe", "refused", "refused"),
    ("teredo.example.test", teredo("65.54.227.120", METADATA), "refused", "refused"),
    ("mixed.example.test", ["8.8.8.8", "127.0.0.1"], "refused", "allowed"),
    ("public.example.test", ["8.8.8.8", "2606:4700:4700::1111"], "allowed", "allowed"),
]


def verdict(host: str, policy: Policy) -> str:
    try:
        guarded_addresses(host, 80, policy, 2.0)
    except OutboundError as exc:
        assert exc.permanent and exc.message.startswith("refused: ")
        return "refused"
    return "allowed"


def test_the_table_covers_at_least_sixty_address_forms():
    assert len(LITERAL_FORMS) + len(NAME_FORMS) >= 60


@pytest.mark.parametrize(("host", "for_subscribers", "for_probes"), LITERAL_FORMS)
def test_every_address_form_is_judged_by_what_it_reaches(host, for_subscribers, for_probes):
    assert (verdict(host, SUBSCRIBERS), verdict(host, PROBES)) == (for_subscribers, for_probes)


@pytest.mark.parametrize(("name", "answers", "for_subscribers", "for_probes"), NAME_FORMS)
def test_a_name_is_judged_by_every_address_it_resolves_to(fake_dns, name, answers,  # noqa: F811
                                                          for_subscribers, for_probes):
    fake_dns[name] = answers
    assert (verdict(name, SUBSCRIBERS), verdict(name, PROBES)) == (for_subscribers, for_probes)


def test_localhost_is_a_private_target():
    assert (verdict("localhost", SUBSCRIBERS), verdict("localhost", PROBES)) == ("refused", "allowed")


def test_the_subscriber_setting_is_off_by_default_and_opens_private_targets_only(tmp_path):
    base = {"STATUSPAGE_INSTANCE_DIR": str(tmp_path), "STATUSPAGE_SECRET_KEY": "x" * 32}
    default = Policy.for_subscribers(Settings.from_env(base))
    opened = Policy.for_subscribers(Settings.from_env({**base, "STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE": "true"}))
    probes_opened = Settings.from_env({**base, "STATUSPAGE_PROBE_ALLOW_LINK_LOCAL": "true"})

    assert [verdict("127.0.0.1", p) for p in (default, opened)] == ["refused", "allowed"]
    assert [verdict("10.0.0.1", p) for p in (default, opened)] == ["refused", "allowed"]
    assert verdict("169.254.169.254", opened) == "refused"
    assert verdict("169.254.169.254", Policy.for_subscribers(probes_opened)) == "refused"


# --- the public sign-up and the sender, on a server that keeps the default -------------------------------


@pytest.fixture
def public_only(app):
    """The app's settings as installed: subscriber targets public only (the suite's settings allow loopback)."""
    app.config["STATUSPAGE"] = dataclasses.replace(app.config["STATUSPAGE"], subscriber_allow_private=False)
    return app.config["STATUSPAGE"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0", "[::ffff:127.0.0.1]", "10.0.0.7",
                                  "[64:ff9b:1:a9fe:a9:fe00::]", "[::ffff:0:a9fe:a9fe]", "2130706433"])
def test_a_stranger_cannot_sign_up_a_private_webhook(public_only, client, session, host):
    response = public_hook(client, f"http://{host}:8080/any/path?query=1")

    assert response.status_code == 422
    assert "The webhook URL is not allowed" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_the_api_applies_the_subscriber_policy_too(public_only, client, api_token, page_code, session):
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=api_token("admin"),
                           json={"subscriber": {"endpoint": "http://127.0.0.1:9/hook"}})

    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "endpoint"


def test_a_loopback_webhook_saved_before_the_guard_receives_nothing(
        public_only, app, client, api_token, page_code, session, receiver):  # noqa: F811
    session.add(Subscriber(mode=SubscriberMode.WEBHOOK, endpoint=receiver.url, webhook_secret="s" * 64,
                           confirmed_at=utcnow()))
    session.commit()
    open_incident(client, api_token("admin"), page_code, name="Database cluster down", body="Investigating.")

    Worker(app.extensions["statuspage.db"], settings=public_only).run_once()

    session.expire_all()
    [delivery] = session.scalars(select(Delivery).where(Delivery.channel == SubscriberMode.WEBHOOK))
    assert delivery.status == DeliveryStatus.FAILED and "refused" in delivery.last_error
    assert receiver.requests == []
