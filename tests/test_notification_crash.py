"""A worker killed (SIGKILL) in the middle of a fan-out loses nothing once another worker runs, whatever
the channels (email alone, or email, Slack and SMS mixed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from statuspage.audit import Actor
from statuspage.incidents import lifecycle
from statuspage.models import Delivery, DeliveryStatus
from statuspage.notify import subscribers
from statuspage.outbound.guard import Policy

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 300
BATCH = 25
ACTOR = Actor.system("test")


def start_worker(smtp_settings, port: int, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "STATUSPAGE_DATABASE_URL": smtp_settings.database_url,
        "STATUSPAGE_INSTANCE_DIR": str(smtp_settings.instance_dir),
        "STATUSPAGE_SECRET_KEY": smtp_settings.secret_key,
        "STATUSPAGE_BASE_URL": smtp_settings.base_url,
        "STATUSPAGE_MAIL_BACKEND": "smtp",
        "STATUSPAGE_SMTP_HOST": "127.0.0.1",
        "STATUSPAGE_SMTP_PORT": str(port),
        "STATUSPAGE_MAIL_FROM": "status@acme.test",
        "STATUSPAGE_DELIVERY_BATCH_SIZE": str(BATCH),
        "STATUSPAGE_DELIVERY_LEASE_SECONDS": "2",
        **{f"STATUSPAGE_{name.upper()}": value for name, value in extra.items()},
    }
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "statuspage", "worker"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_every_recipient_gets_the_update_after_a_sigkill_mid_fan_out(mail_app, smtp_settings, smtp_server):
    sink, port = smtp_server
    sink.delay = 0.005
    addresses = [f"reader{n}@example.org" for n in range(RECIPIENTS)]
    with mail_app.extensions["statuspage.db"].transaction() as session:
        for address in addresses:
            subscribers.create(session, ACTOR, email=address, skip_confirmation=True)
        lifecycle.open_incident(session, ACTOR, name="Database cluster down", body="Investigating.")

    first = start_worker(smtp_settings, port)
    try:
        assert wait_for(lambda: len(sink.messages) >= RECIPIENTS // 3, 60), "the first worker sent nothing"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert len({m["To"] for m in sink.messages}) < RECIPIENTS, "killed too late to prove anything"

    second = start_worker(smtp_settings, port)
    try:
        assert wait_for(lambda: len({m["To"] for m in sink.messages}) == RECIPIENTS, 120), "recipients lost"
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        if second.poll() is None:
            second.kill()

    received = Counter(m["To"] for m in sink.messages)
    assert set(received) == set(addresses)
    duplicates = sum(received.values()) - RECIPIENTS
    assert duplicates <= BATCH, f"{duplicates} duplicates, more than the batch in flight"
    with mail_app.extensions["statuspage.db"].transaction() as session:
        states = Counter(d.status for d in session.scalars(select(Delivery)))
    assert states == {DeliveryStatus.SENT: RECIPIENTS}


def test_a_mixed_fan_out_by_email_slack_and_sms_reaches_everyone_after_a_sigkill(
        mail_app, smtp_settings, smtp_server, chat_receiver):
    sink, port = smtp_server
    sink.delay = 0.005
    slack, twilio = chat_receiver("slack"), chat_receiver("twilio", "")
    slack.delay = twilio.delay = 0.005
    share = RECIPIENTS // 3
    emails = [f"reader{n}@example.org" for n in range(share)]
    hooks = [f"{slack.url}/{n}" for n in range(share)]
    phones = [f"+1202555{n:04d}" for n in range(share)]
    with mail_app.extensions["statuspage.db"].transaction() as session:
        for address, url, number in zip(emails, hooks, phones, strict=True):  # interleaved: every batch is mixed
            subscribers.create(session, ACTOR, email=address, skip_confirmation=True)
            subscribers.create(session, ACTOR, mode="slack", endpoint=url, skip_confirmation=True,
                               policy=Policy(deny_private=False))
            subscribers.create(session, ACTOR, mode="sms", phone_number=number, skip_confirmation=True)
        lifecycle.open_incident(session, ACTOR, name="Database cluster down", body="Investigating.")
    channels = {"subscriber_allow_private": "true", "sms_provider": "twilio", "sms_account_sid": twilio.account,
                "sms_auth_token": twilio.token, "sms_from": "+15005550006", "sms_api_url": twilio.url}

    def received() -> Counter:
        return Counter([m["To"] for m in sink.messages] + [r.path for r in slack.delivered]
                       + [r.form()["To"] for r in twilio.delivered])

    first = start_worker(smtp_settings, port, **channels)
    try:
        assert wait_for(lambda: sum(received().values()) >= RECIPIENTS // 3, 60), "the first worker sent nothing"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(received()) < 3 * share, "killed too late to prove anything"
    assert all(any(received()[key] for key in group) for group in (emails, [urlsplit(u).path for u in hooks], phones))

    second = start_worker(smtp_settings, port, **channels)
    try:
        assert wait_for(lambda: len(received()) == 3 * share, 120), "recipients lost"
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        if second.poll() is None:
            second.kill()

    got = received()
    assert set(got) == set(emails) | {urlsplit(url).path for url in hooks} | set(phones)
    duplicates = sum(got.values()) - 3 * share
    assert duplicates <= BATCH, f"{duplicates} duplicates, more than the batch in flight"
    assert slack.problems == [] and twilio.problems == []
    with mail_app.extensions["statuspage.db"].transaction() as session:
        states = Counter(d.status for d in session.scalars(select(Delivery)))
    assert states == {DeliveryStatus.SENT: 3 * share}
