"""The public render cache: rendered bodies keyed by URL and the page version.

Each process asks the database for the page version at most once per
`version_check_seconds`; a hit in between serves from memory without a
query. Any visible change bumps the version in its own transaction, so
every gunicorn worker shows it within that interval.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Response, abort, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError

from .. import page as page_module
from ..db import utcnow
from .session import db_session


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    mimetype: str
    status: int


class PublicCache:
    """A bounded LRU of rendered public responses, valid for one page version."""

    def __init__(self, check_seconds: float, max_entries: int = 1024) -> None:
        self.check_seconds = check_seconds
        self.max_entries = max_entries
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


def _cache() -> PublicCache:
    return current_app.extensions["statuspage.public_cache"]


def _load_version() -> int:
    return page_module.current_version(db_session())


def cached_public(view: Callable) -> Callable:
    """Serve a public view from the render cache, with ETag and Cache-Control."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.public_response = True
        settings = current_app.config["STATUSPAGE"]
        cache = _cache()
        try:
            version = cache.version(_load_version)
        except SQLAlchemyError:
            # The database is down: keep serving what was rendered last; the page must stay up.
            version = cache.last_version()
            if version is None:
                abort(503, "The status page is starting up or cannot reach its database; try again shortly.")
        # Uptime bars end today (UTC): a new day is a new page even when nothing changed.
        today = utcnow().date().isoformat()
        etag = f"v{version}-{today}"
        headers = {
            "Cache-Control": (
                f"public, max-age={settings.public_max_age}, "
                f"stale-while-revalidate={settings.public_stale_while_revalidate}"
            ),
            # Public and read-only: widgets on other sites may read it.
            "Access-Control-Allow-Origin": "*",
        }
        if request.if_none_match.contains(etag):
            response = Response(status=304, headers=headers)
            response.set_etag(etag)
            return response
        key = f"{today} {request.full_path}"
        entry = cache.get(key, version)
        if entry is None:
            try:
                result = current_app.make_response(view(*args, **kwargs))
            except SQLAlchemyError:
                abort(503, "The status page cannot reach its database right now; try again shortly.")
            entry = CachedBody(result.get_data(), result.mimetype, result.status_code)
            if result.status_code == 200:
                cache.put(key, version, entry)
        response = Response(entry.body, status=entry.status, mimetype=entry.mimetype,
                            headers=headers)
        if entry.status == 200:
            response.set_etag(etag)
        return response

    return wrapper
