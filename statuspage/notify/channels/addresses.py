"""Address rules shared by the channels that POST to a URL a stranger typed (webhooks, chat services).

A literal address the subscriber policy refuses (link-local, cloud metadata,
loopback or private unless the operator allows those) is refused at once; a
name is resolved once and refused if it points there. A name that does not
resolve now is taken as it is: the guard runs again on the address of every
send, so it can never reach what the policy forbids.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from statuspage.errors import InvalidInput
from statuspage.outbound import guard

ENDPOINT_MAX = 2000
# How long registration waits for DNS before taking a name as it is (it is judged again at every send).
RESOLVE_TIMEOUT = 2.0
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def clean_host(host: str, field: str, noun: str = "webhook URL") -> str:
    """A literal IP address or a DNS name (IDNA allowed); InvalidInput otherwise."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return host
    except ValueError:
        pass
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_host = ""
    if not ascii_host or len(ascii_host) > 253 or not all(_LABEL.fullmatch(x) for x in ascii_host.split(".")):
        raise InvalidInput(f"The {noun}'s host {host!r} is not a valid host name.", field)
    return ascii_host


def split_url(value: object, field: str, noun: str = "webhook URL") -> tuple[str, SplitResult]:
    """The trimmed text and its parts, for an absolute http(s) URL naming a host; InvalidInput otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"A {noun} is required.", field)
    value = value.strip()
    if len(value) > ENDPOINT_MAX:
        raise InvalidInput(f"The {noun} must be at most {ENDPOINT_MAX} characters.", field)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"The {noun} must not contain spaces or control characters.", field)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # e.g. an unclosed IPv6 bracket, a port out of range
        raise InvalidInput(f"The {noun} is not a valid URL (is the port between 1 and 65535?).", field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"The {noun} must start with http:// or https:// and name a host.", field)
    if port == 0:
        raise InvalidInput(f"The {noun}'s port must be between 1 and 65535.", field)
    return value, parts


def guard_url(parts: SplitResult, field: str, policy: guard.Policy, noun: str = "webhook URL") -> str:
    """The URL's host in its checked form, once the outbound guard allows it (see the module's docstring)."""
    host = clean_host(parts.hostname or "", field, noun)
    try:
        guard.guarded_addresses(host, parts.port or (443 if parts.scheme == "https" else 80), policy,
                                RESOLVE_TIMEOUT)
    except guard.OutboundError as exc:
        if exc.permanent:
            reason = exc.message.removeprefix("refused: ").split(" (an operator", 1)[0]
            raise InvalidInput(f"The {noun} is not allowed: {reason}.", field) from None
    return host


def clean_url(value: object, field: str, policy: guard.Policy, noun: str = "webhook URL") -> str:
    """An http(s) URL the outbound address guard allows (the Statuspage webhook's rules)."""
    text, parts = split_url(value, field, noun)
    guard_url(parts, field, policy, noun)
    return text


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: where plain http stays on this machine."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def on_host(host: str, suffixes: tuple[str, ...]) -> bool:
    """Whether `host` is one of `suffixes` or a name under one of them."""
    host = host.rstrip(".").lower()
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)
