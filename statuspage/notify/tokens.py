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
