"""A per-token rate limit on the management API (flask-limiter), answering 429 with Retry-After."""

from __future__ import annotations

import hashlib
import math
import time

from flask import Blueprint, Flask, Response, current_app, g, request, request_finished
from flask_limiter.util import get_remote_address

from statuspage.edge.extensions import limiter


def _rate() -> str:
    return current_app.config["STATUSPAGE"].api_rate_limit


def _token_key() -> str:
    """The presented token (hashed: keys may be logged by a storage), else the client address."""
    header = request.headers.get("Authorization", "")
    raw = header.split(None, 1)[1] if " " in header.strip() else request.args.get("api_key", "")
    if raw:
        return "api-token:" + hashlib.sha256(raw.encode()).hexdigest()
    return "api-ip:" + get_remote_address()


def retry_after_seconds() -> int | None:
    """Whole seconds until the limit that refused this request lets the caller in again (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return None
    seconds = max(1, math.ceil(current.reset_at - time.time()))
    g.retry_after_seconds = seconds
    return seconds


def _retry_after_only_when_refused(sender: Flask, response: Response, **_extra) -> None:
    """flask-limiter writes Retry-After on every limited answer; it belongs on the 429 only.

    It runs after every after_request hook (the limiter's is one), so it sees the final headers;
    the 429 gets the same figure its message names.
    """
    if response.status_code == 429:
        seconds = g.get("retry_after_seconds")
        if seconds is not None:
            response.headers["Retry-After"] = str(seconds)
    elif response.status_code != 503:
        response.headers.pop("Retry-After", None)


def limit(blueprints: list[Blueprint]) -> None:
    """Apply the limit to every management API blueprint."""
    for blueprint in blueprints:
        limiter.limit(_rate, key_func=_token_key)(blueprint)
    # One module-level receiver: connecting it again for another app changes nothing.
    request_finished.connect(_retry_after_only_when_refused, weak=False)
