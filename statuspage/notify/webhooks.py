"""Webhook deliveries: Statuspage-like JSON, signed with HMAC-SHA256 over timestamp and body."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from statuspage.timefmt import iso

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


def component_update(event_payload: dict[str, Any], time_zone: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Statuspage's `component_update` and `component` objects of a component event, as it was queued."""
    at = datetime.fromisoformat(event_payload["at"])
    created = datetime.fromisoformat(event_payload["component_created_at"])
    update = {
        "created_at": iso(at, time_zone),
        "new_status": event_payload["new_status"],
        "old_status": event_payload["old_status"],
        "id": event_payload["id"],
        "component_id": event_payload["component"],
    }
    component = {
        "created_at": iso(created, time_zone),
        "id": event_payload["component"],
        "name": event_payload["name"],
        "status": event_payload["new_status"],
    }
    return update, component


def payload(event_kind: str, event_payload: dict[str, Any], page: dict[str, Any],
            incident: Mapping[str, Any] | None, unsubscribe_url: str,
            component: tuple[dict[str, Any], dict[str, Any]] | None = None) -> bytes:
    """The JSON body: `meta` and `page`, then `incident`, or `component_update` and `component`
    (pass `component`, from `component_update()`), as Statuspage's webhooks carry them."""
    body: dict[str, Any] = {
        "meta": {"unsubscribe": unsubscribe_url},
        "page": page,
        "event": event_kind,
    }
    if component is not None:
        body["component_update"], body["component"] = component
    elif incident is not None:
        body["incident"] = incident
    else:
        body["update"] = event_payload
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
