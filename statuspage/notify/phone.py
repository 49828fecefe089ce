"""SMS sign-up: a six-digit code texted to the number, typed on the page, before anything else is sent.

Protocol:
1. `subscribe_sms` checks the number (E.164), makes an unconfirmed subscriber if it is new,
   and texts a code unless one went out less than RESEND_GAP ago. It returns a signed token
   naming the number and the chosen components, which the code form carries. The answer is
   the same whether the number was known, confirmed or new: the page never tells.
2. Only a keyed digest of the code is stored; it expires after CODE_TTL and is void after
   TRIES wrong tries (each is counted in the caller's transaction, which commits either way).
3. `verify_sms` with the right code confirms the subscriber with the components the token
   carries (a confirmed subscriber keeps theirs) and returns them, so the page can show the
   manage link; any failure returns None, with one message for every reason.
The web edge also limits sign-ups per client address and per number (flask-limiter).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.incidents.rules import parse_component_codes
from statuspage.models import EventKind, PhoneCode, Subscriber, SubscriberMode
from statuspage.notify import subscribers, tokens
from statuspage.notify.channels.sms import CODE_MINUTES, clean_phone, masked
from statuspage.outbox import queue

CODE_TTL = timedelta(minutes=CODE_MINUTES)
RESEND_GAP = timedelta(seconds=60)
TRIES = 5


def _digest(secret_key: str, subscriber: Subscriber, code: str) -> str:
    return hmac.new(secret_key.encode(), f"sms-code:{subscriber.code}:{code}".encode(), hashlib.sha256).hexdigest()


def subscribe_sms(session: Session, number: str | None, country: str | None, component_codes: Sequence[str] | None,
                  secret_key: str,
                  now: datetime | None = None) -> str:
    """Start an SMS sign-up (step 1 above); returns the token the code form carries."""
    now = now or utcnow()
    phone, region = clean_phone(number, country)
    chosen = parse_component_codes(session, component_codes, "component_ids")
    subscriber = subscribers.by_phone(session, phone)
    if subscriber is None:
        subscriber = Subscriber(mode=SubscriberMode.SMS, phone_number=phone, phone_country=region, created_at=now,
                                all_components=not chosen)
        subscriber.components = list(chosen)
        session.add(subscriber)
        session.flush()
    text_code(session, subscriber, secret_key, now)
    return tokens.make_pending(secret_key, phone, [c.code for c in chosen])


def resend(session: Session, token: str, secret_key: str, now: datetime | None = None) -> bool:
    """Text a new code for the sign-up a code form's token names (within the same limits); False when
    the token is broken or expired. Says nothing about whether the number is subscribed."""
    pending = tokens.read_pending(secret_key, token)
    if pending is None:
        return False
    subscriber = subscribers.by_phone(session, pending[0])
    if subscriber is not None:
        text_code(session, subscriber, secret_key, now or utcnow())
    return True


def text_code(session: Session, subscriber: Subscriber, secret_key: str, now: datetime) -> bool:
    """Queue a text with a new code, replacing the last one, unless one went out under RESEND_GAP ago."""
    current = session.get(PhoneCode, subscriber.id)
    if current is not None and current.sent_at > now - RESEND_GAP:
        return False
    code = f"{secrets.randbelow(1_000_000):06d}"
    if current is None:
        current = PhoneCode(subscriber_id=subscriber.id)
        session.add(current)
    current.digest = _digest(secret_key, subscriber, code)
    current.sent_at = now
    current.expires_at = now + CODE_TTL
    current.attempts = 0
    queue.enqueue(session, EventKind.CONFIRMATION, {"subscriber": subscriber.code, "sms_code": code}, [], now=now)
    return True


def verify_sms(session: Session, token: str, code: str | None, secret_key: str,
               now: datetime | None = None) -> tuple[Subscriber, bool] | None:
    """The subscriber the right code confirms (step 3 above) and whether this confirmed them (False:
    they were already), or None for a wrong, expired or used-up code, a broken token or an unknown
    number alike."""
    now = now or utcnow()
    pending = tokens.read_pending(secret_key, token)
    subscriber = subscribers.by_phone(session, pending[0]) if pending is not None else None
    current = session.get(PhoneCode, subscriber.id) if subscriber is not None else None
    if pending is None or subscriber is None or current is None:
        return None
    if current.expires_at <= now or current.attempts >= TRIES:
        return None
    typed = "".join(str(code or "").split())
    if not hmac.compare_digest(current.digest, _digest(secret_key, subscriber, typed)):
        current.attempts += 1
        return None
    session.delete(current)
    return subscriber, subscribers.confirm(session, subscriber, pending[1], now)


def masked_number(number: object, country: object) -> str:
    """The number typed, as the code form shows it back (+1 ••• 0100); empty when it does not parse."""
    try:
        return masked(clean_phone(number, country)[0])
    except InvalidInput:
        return ""
