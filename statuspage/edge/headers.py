"""Security headers on every response, cache hits and error pages included.

A WSGI middleware rather than an `after_request` hook: the public render
cache answers before Flask runs, and those answers need the headers too.
The policy allows no inline script or style anywhere (the public pages are
rendered once and served to everyone, so they cannot carry per-response
nonces). Pages that show private data (the admin, sign-in, a subscriber's
own pages) may not be framed or stored; the public pages may be framed by
the origins the operator lists (STATUSPAGE_FRAME_ANCESTORS, default 'self').
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

PRIVATE_PREFIXES = ("/admin", "/login", "/logout", "/subscribers/")
BASE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
HSTS = "max-age=31536000; includeSubDomains"


def is_private_path(path: str) -> bool:
    """Whether a path shows what only one person should see (and so is never framed or stored)."""
    return path == "/admin" or any(path.startswith(prefix) for prefix in PRIVATE_PREFIXES)


def security_headers(path: str, frame_ancestors: str, https: bool) -> list[tuple[str, str]]:
    """The headers for a response to `path`."""
    return list(_policy(is_private_path(path), frame_ancestors, https))


@lru_cache(maxsize=16)  # two kinds of path per app
def _policy(private: bool, frame_ancestors: str, https: bool) -> tuple[tuple[str, str], ...]:
    ancestors = "'none'" if private else frame_ancestors
    headers = [
        ("Content-Security-Policy", f"{BASE_POLICY}; frame-ancestors {ancestors}"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]
    if ancestors in ("'none'", "'self'"):
        headers.append(("X-Frame-Options", "DENY" if ancestors == "'none'" else "SAMEORIGIN"))
    if private:
        headers.append(("Cache-Control", "no-store"))
    if https:
        headers.append(("Strict-Transport-Security", HSTS))
    return tuple(headers)


class SecurityHeaders:
    """WSGI middleware: add `security_headers` to every response, replacing what the app set for the
    same names (a private page's Cache-Control becomes no-store whatever the view said)."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], frame_ancestors: str, https: bool) -> None:
        self.wsgi_app = wsgi_app
        self.frame_ancestors = frame_ancestors
        self.https = https

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        extra = security_headers(environ.get("PATH_INFO", ""), self.frame_ancestors, self.https)
        names = {name.lower() for name, _value in extra}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(n, v) for n, v in headers if n.lower() not in names]
            return start_response(status, kept + extra, exc_info) if exc_info else start_response(status, kept + extra)

        return self.wsgi_app(environ, start)
