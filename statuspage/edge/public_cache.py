"""The public render cache: rendered bodies keyed by URL, day and page version.

Each process asks the database for the page version at most once per
`version_check_seconds`; a hit in between serves from memory without a
query. Any visible change bumps the version in its own transaction, so
every gunicorn worker shows it within that interval.

Two doors lead to the same entries. `cached_public` wraps public views
(rendering on a miss, re-checking the version); `FastPath` wraps the WSGI
app and answers a hit before Flask runs at all, which is what keeps the
page fast when everyone refreshes it during an outage. Bodies are kept
plain and gzipped, so most clients get a small response for free.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Response, abort, current_app, g, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.http import parse_etags

from statuspage.db import utcnow
from statuspage.edge.session import db_session
from statuspage.page import record

# Smaller bodies are not worth a gzip header.
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    gzipped: bytes | None
    mimetype: str
    status: int


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class PublicCache:
    """A bounded LRU of rendered public responses, valid for one page version."""

    def __init__(self, check_seconds: float, max_age: int = 10, stale_while_revalidate: int = 60,
                 max_entries: int = 1024) -> None:
        self.check_seconds = check_seconds
        self.max_entries = max_entries
        self.cache_control = f"public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}"
        self._lock = threading.Lock()
        self._version: int | None = None
        self._checked_at = 0.0
        self._entries: OrderedDict[str, CachedBody] = OrderedDict()

    def version(self, load: Callable[[], int]) -> int:
        """The page version, re-read through `load` at most once per interval."""
        now = time.monotonic()
        if self._version is not None and now - self._checked_at < self.check_seconds:
            return self._version
        version = load()
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            self._checked_at = now
        return version

    def fresh_version(self) -> int | None:
        """The version if it was checked within the interval (a hit may be served), else None."""
        if self._version is not None and time.monotonic() - self._checked_at < self.check_seconds:
            return self._version
        return None

    def last_version(self) -> int | None:
        """The version last read, to keep serving while the database does not answer."""
        with self._lock:
            self._checked_at = time.monotonic()
            return self._version

    def get(self, key: str, version: int) -> CachedBody | None:
        with self._lock:
            if version != self._version:
                return None
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, version: int, entry: CachedBody) -> None:
        with self._lock:
            if version != self._version:
                return
            self._entries[key] = entry
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (tests, and after a direct database edit)."""
        with self._lock:
            self._entries.clear()
            self._version = None


def cache_key(path: str, query: str) -> str:
    """The entry of a URL today: uptime bars end today (UTC), so a new day is a new page."""
    return f"{utcnow().date().isoformat()} {path}?{query}"


def reply(cache: PublicCache, entry: CachedBody, version: int, accept_encoding: str,
          if_none_match: str | None) -> Reply:
    """The response for a cached entry: 304 when the client has it, gzip when it accepts it."""
    gzipped = entry.gzipped if "gzip" in accept_encoding.lower() else None
    use_gzip = gzipped is not None
    etag = f'"v{version}-{utcnow().date().isoformat()}{"-gz" if use_gzip else ""}"'
    headers = [("Cache-Control", cache.cache_control), ("Access-Control-Allow-Origin", "*"),
               ("Vary", "Accept-Encoding")]
    if entry.status == 200:
        headers.append(("ETag", etag))
        if if_none_match and parse_etags(if_none_match).contains(etag.strip('"')):
            return Reply(304, headers, b"")
    body = gzipped if gzipped is not None else entry.body
    if use_gzip:
        headers.append(("Content-Encoding", "gzip"))
    content_type = entry.mimetype + ("; charset=utf-8" if entry.mimetype.startswith("text/")
                                     or entry.mimetype.endswith(("+xml", "javascript")) else "")
    headers += [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return Reply(entry.status, headers, body)


def _cache() -> PublicCache:
    return current_app.extensions["statuspage.public_cache"]


def _load_version() -> int:
    return record.current_version(db_session())


def database_unreachable(exc: SQLAlchemyError) -> bool:
    """Whether the error says the database cannot be reached now, rather than that a query was bad.

    Connection failures, a lost connection and a full pool are an outage (503, keep serving
    what was rendered); anything else, such as text the database refuses, is the request's
    fault or a bug, and must not be dressed up as an outage.
    """
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def cached_public(view: Callable) -> Callable:
    """Serve a public view from the render cache, rendering and storing it on a miss."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.public_response = True
        cache = _cache()
        try:
            version = cache.version(_load_version)
        except SQLAlchemyError:
            # The database is down: keep serving what was rendered last; the page must stay up.
            last = cache.last_version()
            if last is None:
                abort(503, "The status page is starting up or cannot reach its database; try again shortly.")
            version = last
        key = cache_key(request.path, request.query_string.decode("latin-1"))
        entry = cache.get(key, version)
        if entry is None:
            try:
                result = current_app.make_response(view(*args, **kwargs))
            except SQLAlchemyError as exc:
                if not database_unreachable(exc):
                    raise
                abort(503, "The status page cannot reach its database right now; try again shortly.")
            body = result.get_data()
            packed = gzip.compress(body, 6) if len(body) >= GZIP_MIN_BYTES else None
            # Flask gives every response it makes a mimetype; the fallback only satisfies the type.
            entry = CachedBody(body, packed, result.mimetype or "application/octet-stream", result.status_code)
            if result.status_code == 200:
                cache.put(key, version, entry)
        answer = reply(cache, entry, version, request.headers.get("Accept-Encoding", ""),
                       request.headers.get("If-None-Match"))
        response = Response(answer.body, status=answer.status)
        response.headers.clear()
        for name, value in answer.headers:
            response.headers[name] = value
        response.direct_passthrough = True
        return response

    return wrapper


class FastPath:
    """WSGI middleware: answer public cache hits before Flask, sessions or rate limits run."""

    def __init__(self, wsgi_app: Callable, cache: PublicCache) -> None:
        self.wsgi_app = wsgi_app
        self.cache = cache

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        version = self.cache.fresh_version() if method in ("GET", "HEAD") else None
        if version is not None:
            key = cache_key(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
            entry = self.cache.get(key, version)
            if entry is not None:
                answer = reply(self.cache, entry, version, environ.get("HTTP_ACCEPT_ENCODING", ""),
                               environ.get("HTTP_IF_NONE_MATCH"))
                status = "200 OK" if answer.status == 200 else "304 Not Modified"
                start_response(status, answer.headers)
                return [b""] if method == "HEAD" else [answer.body]
        return self.wsgi_app(environ, start_response)
