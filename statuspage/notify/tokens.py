"""Signed links for subscribers: valid until the subscriber is removed (no expiry).

A link carries the subscriber's public id and nonce, signed with the app's
secret key; removing the subscriber (or changing the nonce) voids it.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

PURPOSES = ("confirm", "manage", "unsubscribe")


def _serializer(secret_key: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=f"statuspage.subscriber.{purpose}")


def make(secret_key: str, purpose: str, code: str, nonce: str) -> str:
    """A token for one purpose and one subscriber."""
    return _serializer(secret_key, purpose).dumps([code, nonce])


def read(secret_key: str, purpose: str, token: str) -> tuple[str, str] | None:
    """(code, nonce) from a valid token, or None when tampered or of another purpose."""
    try:
        value = _serializer(secret_key, purpose).loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        return None
    return value[0], value[1]
