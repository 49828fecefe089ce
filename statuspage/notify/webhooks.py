"""Webhook deliveries: Statuspage-like JSON, signed with HMAC-SHA256 over timestamp and body."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Statuspage-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`; receivers recompute and compare."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """Check a signature header as a receiver would (used by our tests and documented for users)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def payload(event_kind: str, event_payload: dict[str, Any], page: dict[str, Any],
            incident: dict[str, Any] | None, unsubscribe_url: str) -> bytes:
    """The JSON body: `meta`, `page` and `incident` as Statuspage's incident webhooks carry them."""
    body: dict[str, Any] = {
        "meta": {"unsubscribe": unsubscribe_url},
        "page": page,
        "event": event_kind,
    }
    if incident is not None:
        body["incident"] = incident
    else:
        body["update"] = event_payload
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
