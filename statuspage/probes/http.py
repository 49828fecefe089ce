"""HTTP(S) probes: status codes, latency, body keyword or JSON value, certificate expiry."""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from statuspage.errors import InvalidInput
from statuspage.inputs import parse_bool
from statuspage.models import ProbeKind
from statuspage.outbound.guard import OutboundError
from statuspage.outbound.http import http_request
from statuspage.probes.base import Checker, CheckResult, ProbeSpec, failed, passed
from statuspage.probes.fields import clean_host, parse_int, parse_text

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
# Header values we never show back in full (they usually carry credentials).
SECRET_HEADERS = ("authorization", "cookie", "proxy-authorization", "x-api-key", "api-key", "x-auth-token")
MASK = "********"
_MISSING = object()


def _parse_status_list(value: object) -> list[int] | None:
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value.strip()) if part]
    if not isinstance(value, list) or len(value) > 50:
        raise InvalidInput("expected_status must be a list of up to 50 HTTP status codes.", "expected_status")
    return sorted({parse_int(code, "expected_status", 100, 599) for code in value})


def _parse_headers(value: object, current: dict[str, str]) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or len(value) > 30:
        raise InvalidInput("headers must be an object of up to 30 header names and values.", "headers")
    headers: dict[str, str] = {}
    for name, raw in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise InvalidInput(f"{name!r} is not a valid header name.", "headers")
        text = parse_text(raw, "headers", 2000)
        if text == MASK and name in current:
            text = current[name]  # the masked value shown back means "keep it"
        headers[name] = text
    return headers


def _parse_json_value(value: object) -> Any:
    if isinstance(value, dict | list):
        raise InvalidInput("json_value must be a string, number, boolean or null.", "json_value")
    if isinstance(value, str) and len(value) > 500:
        raise InvalidInput("json_value must be at most 500 characters.", "json_value")
    return value


def masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as shown to people: secret values replaced by a mask."""
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in (headers or {}).items()}


def _walk(document: object, path: str) -> Any:
    """The value at a dotted path (`checks.0.status`), or _MISSING."""
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _der_item(data: bytes, at: int) -> tuple[int, int, int]:
    """One DER element at `at`: (tag, start of its value, end of its value)."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        size = length & 0x7F
        if not 1 <= size <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[at:at + size], "big")
        at += size
    if at + length > len(data):
        raise ValueError("truncated DER")
    return tag, at, at + length


def certificate_not_after(der: bytes) -> str | None:
    """The notAfter of a DER X.509 certificate, formatted as `ssl.getpeercert()` gives it; None if unreadable.

    Python's ssl module only decodes certificates it has verified, and a
    probe with verify_tls off should still warn before its certificate
    expires; the validity sits at a fixed place in the certificate, so
    reading it needs no extra dependency: Certificate → tbsCertificate → [version],
    serialNumber, signature, issuer, validity → notAfter.
    """
    try:
        _tag, start, _end = _der_item(der, 0)  # Certificate
        tag, at, end = _der_item(der, start)  # tbsCertificate
        if tag != 0x30:
            return None
        fields: list[tuple[int, int, int]] = []
        while at < end and len(fields) < 5:
            tag, value, at = _der_item(der, at)
            if tag != 0xA0:  # the optional [0] version
                fields.append((tag, value, at))
        if len(fields) < 4 or fields[3][0] != 0x30:
            return None
        _serial, _signature, _issuer, (_tag, start, stop) = fields[:4]
        _tag, value, after = _der_item(der, start)  # notBefore
        tag, value, after = _der_item(der, after)  # notAfter
        text = der[value:after].decode("ascii")
        if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
            year = int(text[:2])
            text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
        elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
            return None
        expires = time.strptime(text[:14], "%Y%m%d%H%M%S")
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
    return time.strftime("%b %d %H:%M:%S %Y GMT", expires)


def _cert_days_left(cert: Mapping[str, object] | None, now: datetime) -> float | None:
    not_after = cert.get("notAfter") if cert else None
    if not isinstance(not_after, str):
        return None
    try:
        expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
    except ValueError:
        return None
    return (expires - now).total_seconds() / 86400


class HttpChecker(Checker):
    """GET (or another method) a URL and judge the answer."""

    kind = ProbeKind.HTTP
    options = {
        "method": "GET", "headers": {}, "expected_status": None, "keyword": None, "json_path": None,
        "json_value": None, "verify_tls": True, "tls_warn_days": 14, "max_redirects": 5,
    }

    @classmethod
    def clean_target(cls, value: object) -> str:
        url = parse_text(value, "target", 2000, required=True)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise InvalidInput("target must be a URL with a port from 1 to 65535.", "target") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("target must be an http:// or https:// URL with a host.", "target")
        if " " in url:
            raise InvalidInput("target must not contain spaces.", "target")
        if parts.username or parts.password:
            raise InvalidInput("Put credentials in an Authorization header, not in the URL.", "target")
        if port == 0:
            raise InvalidInput("target must be a URL with a port from 1 to 65535.", "target")
        clean_host(parts.hostname, "target")
        return url

    @classmethod
    def connects_to(cls, target: str | None) -> str | None:
        return urlsplit(target).hostname if target else None

    @classmethod
    def clean_options(cls, values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        options = {**cls.options, **current}
        if "method" in values:
            method = str(values["method"] or "GET").upper()
            if method not in METHODS:
                raise InvalidInput(f"method must be one of {', '.join(METHODS)}.", "method")
            options["method"] = method
        if "headers" in values:
            options["headers"] = _parse_headers(values["headers"], current.get("headers") or {})
        if "expected_status" in values:
            options["expected_status"] = _parse_status_list(values["expected_status"])
        if "keyword" in values:
            options["keyword"] = parse_text(values["keyword"], "keyword", 500) or None
        if "json_path" in values:
            path = parse_text(values["json_path"], "json_path", 200) or None
            if path and any(not part for part in path.split(".")):
                raise InvalidInput("json_path must be dotted keys like status or checks.0.state.", "json_path")
            options["json_path"] = path
        if "json_value" in values:
            options["json_value"] = _parse_json_value(values["json_value"])
        if "verify_tls" in values:
            options["verify_tls"] = parse_bool(values["verify_tls"], "verify_tls")
        if "tls_warn_days" in values:
            options["tls_warn_days"] = parse_int(values["tls_warn_days"], "tls_warn_days", 0, 365, "days")
        if "max_redirects" in values:
            options["max_redirects"] = parse_int(values["max_redirects"], "max_redirects", 0, 10)
        return options

    def run(self, probe: ProbeSpec, now: datetime) -> CheckResult:
        options = {**self.options, **probe.options}
        try:
            response = http_request(
                options["method"], probe.target or "", policy=self.policy, timeout=probe.timeout_seconds,
                headers=options.get("headers") or {}, verify=bool(options["verify_tls"]),
                max_redirects=int(options["max_redirects"]),
            )
        except OutboundError as exc:
            return failed(exc.message)
        latency = response.elapsed_ms
        detail: dict[str, Any] = {"status": response.status}
        if response.redirects:
            detail["redirects"] = response.redirects[-5:]
        expected = options.get("expected_status")
        good = response.status in expected if expected else 200 <= response.status <= 299
        if not good:
            wanted = ", ".join(map(str, expected)) if expected else "2xx"
            return failed(f"HTTP {response.status} (expected {wanted})", latency, **detail)
        body_problem = self._judge_body(response.body, options)
        if body_problem:
            return failed(body_problem, latency, **detail)
        notes = []
        cert = response.peer_cert
        if cert is None and response.peer_cert_der:  # verify_tls off: read the expiry ourselves
            not_after = certificate_not_after(response.peer_cert_der)
            cert = {"notAfter": not_after} if not_after else None
        days_left = _cert_days_left(cert, now)
        if days_left is not None:
            detail["tls_days_left"] = round(days_left, 1)
            if days_left < int(options["tls_warn_days"]):
                notes.append(f"TLS certificate expires in {max(days_left, 0):.0f} days")
                detail["tls_warning"] = True
        return passed(probe, latency, "; ".join(notes) or "ok", **detail)

    @staticmethod
    def _judge_body(body: bytes, options: dict[str, Any]) -> str | None:
        """Why the body is not what the probe expects, or None."""
        keyword = options.get("keyword")
        if keyword and keyword not in body.decode("utf-8", errors="replace"):
            return f"keyword {keyword!r} not found in the response"
        path = options.get("json_path")
        if not path:
            return None
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return "the response is not valid JSON"
        found = _walk(document, path)
        if found is _MISSING:
            return f"JSON has no value at {path}"
        wanted = options.get("json_value")
        same = found == wanted or (isinstance(wanted, str) and json.dumps(found) == wanted)
        if wanted is not None and not same:
            return f"JSON value at {path} is {json.dumps(found)[:100]}, expected {json.dumps(wanted)[:100]}"
        return None
