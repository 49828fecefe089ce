"""A per-token rate limit on the management API (flask-limiter), answering 429 with Retry-After."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter


def _rate() -> str:
    return current_app.config["STATUSPAGE"].api_rate_limit


def _token_key() -> str:
    """The presented token (hashed: keys may be logged by a storage), else the client address."""
    header = request.headers.get("Authorization", "")
    raw = header.split(None, 1)[1] if " " in header.strip() else request.args.get("api_key", "")
    if raw:
        return "api-token:" + hashlib.sha256(raw.encode()).hexdigest()
    return "api-ip:" + get_remote_address()


def limit(blueprints: list[Blueprint]) -> None:
    """Apply the limit to every management API blueprint."""
    for blueprint in blueprints:
        limiter.limit(_rate, key_func=_token_key)(blueprint)
