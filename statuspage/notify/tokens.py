"""Signed links for subscribers: manage and unsubscribe links stay valid until the subscriber is removed;
a confirmation link expires after CONFIRM_DAYS.

A link carries the subscriber's public id and nonce, signed with the app's
secret key; removing the subscriber (or changing the nonce) voids it. A
confirmation link also carries the components chosen on the form that sent
it, so a later sign-up with the same address cannot change what an earlier
link confirms; it carries its time too, so an old email found in a mailbox
cannot confirm a sign-up weeks later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import NamedTuple

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

PURPOSES = ("confirm", "manage", "unsubscribe")
CONFIRM_DAYS = 7


class Link(NamedTuple):
    """What a valid token names."""

    code: str
    nonce: str
    # Component codes chosen with a confirmation link (empty: all); None when the link carries no choice.
    components: list[str] | None = None


def _serializer(secret_key: str, purpose: str) -> URLSafeSerializer | URLSafeTimedSerializer:
    if purpose == "confirm":
        return URLSafeTimedSerializer(secret_key, salt="statuspage.subscriber.confirm.timed")
    return URLSafeSerializer(secret_key, salt=f"statuspage.subscriber.{purpose}")


def make(secret_key: str, purpose: str, code: str, nonce: str, components: list[str] | None = None) -> str:
    """A token for one purpose and one subscriber (with a component choice, for confirmations)."""
    value: list[str | list[str]] = [code, nonce] if components is None else [code, nonce, list(components)]
    return _serializer(secret_key, purpose).dumps(value)


def read(secret_key: str, purpose: str, token: str) -> Link | None:
    """The link a valid token names, or None when tampered, of another purpose, or an expired confirmation."""
    serializer = _serializer(secret_key, purpose)
    try:
        if isinstance(serializer, URLSafeTimedSerializer):
            value = serializer.loads(token, max_age=CONFIRM_DAYS * 24 * 3600)
        else:
            value = serializer.loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) in (2, 3) and all(isinstance(v, str) for v in value[:2])):
        return None
    if len(value) == 2:
        return Link(value[0], value[1])
    choice = value[2]
    if not (isinstance(choice, list) and all(isinstance(c, str) for c in choice)):
        return None
    return Link(value[0], value[1], choice)


def short(secret_key: str, code: str, nonce: str) -> str:
    """A short unsubscribe token for texts, where every character counts: the subscriber's id and
    a 72-bit signature of it with its nonce."""
    return f"{code}.{_short_signature(secret_key, code, nonce)}"


def read_short(token: str) -> tuple[str, str] | None:
    """(subscriber id, signature) of a well-formed short token, or None; check it with `short_matches`."""
    code, _dot, signature = token.partition(".")
    if not code or len(signature) != 12 or not code.isalnum() or len(code) > 32:
        return None
    return code, signature


def short_matches(secret_key: str, code: str, nonce: str, signature: str) -> bool:
    """Whether a short token's signature is this subscriber's (their nonce voids old ones)."""
    return hmac.compare_digest(_short_signature(secret_key, code, nonce), signature)


def _short_signature(secret_key: str, code: str, nonce: str) -> str:
    digest = hmac.new(secret_key.encode(), f"statuspage.subscriber.unsubscribe.short:{code}:{nonce}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


PENDING_MINUTES = 30


def make_pending(secret_key: str, phone: str, components: list[str]) -> str:
    """The token an SMS sign-up's code form carries: the number and the components chosen, signed and
    timed, so typing the code confirms what was asked (and a form left open for long expires)."""
    return URLSafeTimedSerializer(secret_key, salt="statuspage.subscriber.sms.pending").dumps([phone, components])


def read_pending(secret_key: str, token: str) -> tuple[str, list[str]] | None:
    """(number, component codes) of a valid, recent SMS sign-up token; None when tampered or expired."""
    try:
        value = URLSafeTimedSerializer(secret_key, salt="statuspage.subscriber.sms.pending").loads(
            token, max_age=PENDING_MINUTES * 60)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], list) and all(isinstance(c, str) for c in value[1])):
        return None
    return value[0], list(value[1])
