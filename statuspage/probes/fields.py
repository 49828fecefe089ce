"""Input rules shared by the probe kinds and the probe service: numbers, hosts, ports, text."""

from __future__ import annotations

import ipaddress
import math
import re

from statuspage.errors import InvalidInput

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def parse_int(value: object, field: str, low: int, high: int, unit: str = "") -> int:
    """A whole number within [low, high] from JSON or a form."""
    suffix = f" {unit}" if unit else ""
    message = f"{field} must be a whole number from {low:,} to {high:,}{suffix}."
    if isinstance(value, bool) or value is None:
        raise InvalidInput(message, field)
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidInput(message, field)
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise InvalidInput(message, field) from None
    if not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(message, field)
    return value


def parse_number(value: object, field: str, low: float, high: float, unit: str = "") -> float:
    """A finite number within [low, high] from JSON or a form."""
    suffix = f" {unit}" if unit else ""
    message = f"{field} must be a number from {low:g} to {high:g}{suffix}."
    if isinstance(value, bool) or value is None:
        raise InvalidInput(message, field)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidInput(message, field) from None
    if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(message, field)
    return float(value)


def parse_text(value: object, field: str, limit: int, required: bool = False) -> str:
    """Text of at most `limit` characters without control characters (empty allowed unless required)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.", field)
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required.", field)
    if len(value) > limit:
        raise InvalidInput(f"{field} must be at most {limit:,} characters.", field)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"{field} must not contain control characters.", field)
    return value


def clean_host(value: str, field: str = "target") -> str:
    """A DNS name or an IP address (IPv6 with or without brackets)."""
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    name = host.rstrip(".")
    if not name or len(name) > 253 or not all(_HOST_LABEL.match(label) for label in name.split(".")):
        raise InvalidInput(f"{value!r} is not a valid host name or IP address.", field)
    return name.lower()


def split_host_port(value: object, field: str = "target") -> tuple[str, int]:
    """`host:port` or `[v6]:port` into its parts, both validated."""
    text = parse_text(value, field, 300, required=True)
    message = f"{field} must be host:port, e.g. db.internal:5432 or [2001:db8::1]:443."
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
        if ":" in host:
            raise InvalidInput(message, field)
    if not sep or not host:
        raise InvalidInput(message, field)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidInput(f"The port in {field} must be a number from 1 to 65535.", field)
    return clean_host(host, field), int(port)


def join_host_port(host: str, port: int) -> str:
    """`host:port`, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
