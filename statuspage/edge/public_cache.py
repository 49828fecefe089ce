"""The public render cache: rendered bodies keyed by URL, tagged with the page version and day.

Each process asks the database for the page version at most once per
`version_check_seconds`, within a deadline well under a second; a hit in
between serves from memory without a query. Any visible change bumps the
version in its own transaction, so every gunicorn worker shows it within
that interval. When the database does not answer, the last rendered
response is served (from memory, or from the snapshot on disk for a process
that has just started), so the page stays up through the outage.

Two doors lead to the same entries. `cached_public` wraps public views
(rendering on a miss, re-checking the version); `FastPath` wraps the WSGI
app and answers a hit before Flask runs at all, which is what keeps the
page fast when everyone refreshes it during an outage. Bodies are kept
plain, gzipped and brotli-compressed once, so most clients get a small response for free.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from urllib.parse import parse_qsl, urlencode

import brotli
from flask import Response, abort, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import parse_etags

from statuspage.db import Database, database_unreachable, utcnow
from statuspage.edge.snapshot_disk import SnapshotDisk
from statuspage.page import record, snapshot

# The ETag of each variant, so a 304 is only given for the bytes a client holds.
ETAG_SUFFIX = {"br": "-br", "gzip": "-gz", None: ""}
# Brotli's quality 6 makes `/` at 200 components 2% larger than quality 9 (12.7 against 12.4 KB) in a
# seventh of the time (1.5 against 11.4 ms), and every change pays it: bench/public_page.py.
BROTLI_QUALITY = 6
# Smaller bodies are not worth a gzip header.
GZIP_MIN_BYTES = 1024
RENDER_LOCK_STRIPES = 64
# How long a process waits for the entry another process is rendering (as long as a lease lives),
# and how often it looks.
LEASE_WAIT_SECONDS = snapshot.LEASE_SECONDS
LEASE_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class CachedBody:
    """A rendered response with its compressed variants, made once when it is rendered."""

    body: bytes
    gzipped: bytes | None
    mimetype: str
    status: int
    brotli: bytes | None = None
    # The answers for each (version, coding), made on the first request: a hit then only picks one (the
    # hit path is what everyone refreshing during an outage runs). An entry lives in one cache, whose
    # Cache-Control is fixed.
    replies: dict[tuple[str, str | None], Prepared] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def packed(cls, body: bytes, mimetype: str, status: int) -> CachedBody:
        """`body` with gzip and brotli variants, unless it is too small to be worth them."""
        if len(body) < GZIP_MIN_BYTES:
            return cls(body, None, mimetype, status)
        return cls(body, gzip.compress(body, 6), mimetype, status, brotli.compress(body, quality=BROTLI_QUALITY))

    def variants(self) -> dict[str, bytes]:
        found = {"body": self.body, "gz": self.gzipped, "br": self.brotli}
        return {name: data for name, data in found.items() if data is not None}

    @classmethod
    def from_variants(cls, mimetype: str, variants: dict[str, bytes]) -> CachedBody:
        return cls(variants["body"], variants.get("gz"), mimetype, 200, variants.get("br"))


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Prepared:
    """One variant's answers, made on its first request: the full reply, the 304 and the ETag it matches."""

    etag: str  # without quotes, as If-None-Match is parsed
    full: Reply
    not_modified: Reply | None  # None for an entry that is not a 200 (it has no ETag)


class Unavailable(Exception):
    """The database did not answer the version check in time (refused, failing or hanging)."""


class PublicCache:
    """A bounded LRU of rendered public responses, each tagged with the version it was rendered for.

    A version is the page's version and the UTC date ("12-2026-12-06"): uptime bars end today,
    so a new day is a new page, but only once the database has confirmed the page version that
    day. While the database is down the last version keeps being served, whatever the date.
    """

    def __init__(self, check_seconds: float, max_age: int = 10, stale_while_revalidate: int = 60,
                 max_entries: int = 1024, deadline_seconds: float = 0.5, disk: SnapshotDisk | None = None,
                 database: Database | None = None) -> None:
        self.check_seconds = check_seconds
        # Where the shared snapshot lives: one render per version for every process (None: this process only).
        self.database = database
        self.max_entries = max_entries
        self.deadline_seconds = deadline_seconds
        self.disk = disk
        self.cache_control = f"public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}"
        self._lock = threading.Lock()
        self._page_version: int | None = None
        self._version: str | None = None
        self._checked_at = 0.0
        self._entries: OrderedDict[str, tuple[str, CachedBody]] = OrderedDict()
        self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="public-version")
        self._in_flight: Future[int] | None = None
        self._in_flight_started = 0.0
        # Threads of this process that miss the same URL at once render it once (striped by URL).
        self._render_locks = [threading.Lock() for _ in range(RENDER_LOCK_STRIPES)]

    def render_lock(self, key: str) -> threading.Lock:
        return self._render_locks[hash(key) % len(self._render_locks)]

    def _read(self, load: Callable[[], int]) -> int:
        """`load()` within the deadline; a hanging database is treated like one that refuses.

        Requests arriving while a check is under way wait for that same check, until its deadline:
        one slow answer is not an outage, and one hung check does not hold each request again.
        """
        with self._lock:
            future = self._in_flight
            if future is not None and not future.done():
                timeout = self._in_flight_started + self.deadline_seconds - time.monotonic()
                if timeout <= 0:
                    raise Unavailable("the last version check has not come back yet")
            else:
                self._in_flight_started = time.monotonic()
                future = self._in_flight = self._checker.submit(load)
                timeout = self.deadline_seconds
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            raise Unavailable(f"no answer within {self.deadline_seconds:g} s") from None
        except SQLAlchemyError as exc:
            raise Unavailable(str(exc).splitlines()[0]) from exc

    def version(self, load: Callable[[], int]) -> str:
        """The current version, asking `load` for the page version at most once per interval.

        Raises Unavailable when the database does not answer; the caller then serves what it rendered
        last (`stale`, after `load_snapshot` for a process that has served nothing yet).
        """
        now = time.monotonic()
        if self._page_version is None or now - self._checked_at >= self.check_seconds:
            return self._confirmed(self._read(load), now)
        with self._lock:
            self._version = record.version_tag(self._page_version, utcnow().date())
            return self._version

    def version_now(self, load: Callable[[], int]) -> str:
        """The version read at once, however long the database takes within its own timeouts: for a
        process with nothing to serve instead, where waiting beats a 503 (raises SQLAlchemyError)."""
        return self._confirmed(load(), time.monotonic())

    def _confirmed(self, page_version: int, at: float) -> str:
        with self._lock:
            self._page_version, self._checked_at = page_version, at
            self._version = record.version_tag(page_version, utcnow().date())
            return self._version

    def fresh_version(self) -> str | None:
        """The version if the database confirmed it within the interval (a hit may be served), else None."""
        with self._lock:
            if self._page_version is not None and time.monotonic() - self._checked_at < self.check_seconds:
                return record.version_tag(self._page_version, utcnow().date())
        return None

    def load_snapshot(self) -> None:
        """While the database does not answer: a process that has served nothing yet takes the snapshot on disk."""
        with self._lock:
            if self._version is None and self.disk is not None:
                found = self.disk.load()
                if found is not None:
                    self._version, entries = found
                    for key, (mimetype, variants) in entries.items():
                        self._entries[key] = (self._version, CachedBody.from_variants(mimetype, variants))

    def get(self, key: str, version: str) -> CachedBody | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def stale(self, key: str) -> tuple[str, CachedBody] | None:
        """The entry for `key` of whatever version it was rendered for (while the database is down)."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, version: str, entry: CachedBody) -> None:
        with self._lock:
            self._entries[key] = (version, entry)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        if self.disk is not None and entry.status == 200:
            self.disk.save(version, key, entry.mimetype, entry.variants())

    def clear(self) -> None:
        """Forget everything in memory and the shared snapshot (tests, and after a direct database edit)."""
        with self._lock:
            self._entries.clear()
            self._version = None
            self._page_version = None
        if self.database is not None:
            with self.database.session() as session, session.begin():
                snapshot.forget(session)


# The query parameters a public page reads; any other is ignored, so `/?anything=N` is the snapshot of `/`.
PAGE_PARAMETERS = ("page", "component")


def cache_key(path: str, query: str) -> str:
    """The entry of a URL: its path and only the parameters public pages read, in a fixed order."""
    if not query:
        return path + "?"
    kept = sorted((name, value) for name, value in parse_qsl(query, keep_blank_values=True)
                  if name in PAGE_PARAMETERS)
    return f"{path}?{urlencode(kept)}"


@lru_cache(maxsize=256)  # browsers send a handful of distinct values
def accepted_encodings(accept_encoding: str) -> frozenset[str]:
    """The codings a client accepts (a q of 0 refuses one)."""
    accepted = set()
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            if float(quality) > 0:
                accepted.add(name.strip())
        except ValueError:
            continue
    return frozenset(accepted)


def reply(cache: PublicCache, entry: CachedBody, version: str, accept_encoding: str,
          if_none_match: str | None) -> Reply:
    """The response for a cached entry: 304 when the client has it; brotli, else gzip, when it accepts it.

    Each variant has its own ETag, so a 304 is only given for the bytes the client holds.
    """
    accepted = accepted_encodings(accept_encoding)
    coding = None
    if entry.brotli is not None and "br" in accepted:
        coding = "br"
    elif entry.gzipped is not None and ("gzip" in accepted or "*" in accepted):
        coding = "gzip"
    prepared = entry.replies.get((version, coding))
    if prepared is None:
        prepared = entry.replies[(version, coding)] = _prepare(cache, entry, version, coding)
    if if_none_match and prepared.not_modified and parse_etags(if_none_match).contains(prepared.etag):
        return prepared.not_modified
    return prepared.full


def _prepare(cache: PublicCache, entry: CachedBody, version: str, coding: str | None) -> Prepared:
    body = {"br": entry.brotli, "gzip": entry.gzipped}.get(coding or "") or entry.body
    etag = f"v{version}{ETAG_SUFFIX[coding]}"
    headers = [("Cache-Control", cache.cache_control), ("Access-Control-Allow-Origin", "*"),
               ("Vary", "Accept-Encoding")]
    not_modified = None
    if entry.status == 200:
        headers.append(("ETag", f'"{etag}"'))
        not_modified = Reply(304, list(headers), b"")
    if coding is not None:
        headers.append(("Content-Encoding", coding))
    content_type = entry.mimetype + ("; charset=utf-8" if entry.mimetype.startswith("text/")
                                     or entry.mimetype.endswith(("+xml", "javascript")) else "")
    headers += [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return Prepared(etag, Reply(entry.status, headers, body), not_modified)


def _cache() -> PublicCache:
    return current_app.extensions["statuspage.public_cache"]


def page_version_reader(database: Database) -> Callable[[], int]:
    """Read the page version in a session of its own (the check runs on the cache's own thread)."""

    def read() -> int:
        with database.session() as session:
            return record.current_version(session)

    return read


def _answer(cache: PublicCache, entry: CachedBody, version: str) -> Response:
    answer = reply(cache, entry, version, request.headers.get("Accept-Encoding", ""),
                   request.headers.get("If-None-Match"))
    response = Response(answer.body, status=answer.status)
    response.headers.clear()
    for name, value in answer.headers:
        response.headers[name] = value
    response.direct_passthrough = True
    return response


def _from_snapshot(cache: PublicCache, key: str) -> Response:
    """While the database is down: what was rendered last for this URL, or 503 when nothing was."""
    cache.load_snapshot()
    found = cache.stale(key)
    if found is None:
        abort(503, "The status page cannot reach its database right now; try again shortly.")
    version, entry = found
    return _answer(cache, entry, version)


def _shared(cache: PublicCache, version: str, key: str) -> CachedBody | None:
    """The response another process rendered for this version already, kept in memory too."""
    if cache.database is None:
        return None
    with cache.database.session() as session:
        stored = snapshot.find(session, version, key)
        if stored is None:
            return None
        entry = CachedBody(stored.body, stored.gzipped, stored.mimetype, 200, stored.brotli)
    cache.put(key, version, entry)
    return entry


def _leased_elsewhere(cache: PublicCache, version: str, key: str) -> bool:
    """Take the lease on rendering `key`; True when another process holds it (and is rendering)."""
    if cache.database is None:
        return False
    with cache.database.session() as session, session.begin():
        return not snapshot.take_lease(session, version, key, utcnow())


def _awaited(cache: PublicCache, version: str, key: str) -> CachedBody | None:
    """The entry another process is rendering, once it is stored; None when its lease was given back
    (that render failed, or had nothing to share) or it does not come in time."""
    assert cache.database is not None
    deadline = time.monotonic() + LEASE_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(LEASE_POLL_SECONDS)
        entry = _shared(cache, version, key)
        if entry is not None:
            return entry
        with cache.database.session() as session:
            if not snapshot.leased(session, version, key):
                return None
    return None


def _rendered_once(cache: PublicCache, version: str, key: str, view: Callable, args: tuple,
                   kwargs: dict) -> CachedBody:
    """The entry for `key`: from this process, from the shared snapshot, or rendered here, once."""
    with cache.render_lock(key):
        entry = cache.get(key, version) or _shared(cache, version, key)
        if entry is None:
            if _leased_elsewhere(cache, version, key):
                entry = _awaited(cache, version, key)
            else:  # the lease is ours: another process may have stored the entry just before we took it
                entry = _shared(cache, version, key)
        return entry or _render(cache, version, key, view, args, kwargs)


def _render(cache: PublicCache, version: str, key: str, view: Callable, args: tuple, kwargs: dict) -> CachedBody:
    """Render the view once for this version, and share the result with every process.

    Storing the entry ends the lease; a render that fails or is not a 200 (nothing to share)
    gives the lease back, so the next reader renders at once instead of waiting for it.
    """
    try:
        result = current_app.make_response(view(*args, **kwargs))
        # Flask gives every response it makes a mimetype; the fallback only satisfies the type.
        entry = CachedBody.packed(result.get_data(), result.mimetype or "application/octet-stream",
                                  result.status_code)
    except Exception:
        _give_back(cache, version, key)
        raise
    if result.status_code != 200:
        _give_back(cache, version, key)
        return entry
    cache.put(key, version, entry)
    if cache.database is not None:
        with cache.database.session() as session, session.begin():
            snapshot.store(session, version, key, entry.mimetype, entry.variants())
    return entry


def _give_back(cache: PublicCache, version: str, key: str) -> None:
    if cache.database is None:
        return
    try:
        with cache.database.session() as session, session.begin():
            snapshot.release_lease(session, version, key)
    except SQLAlchemyError:
        return  # the database is failing: the lease runs out by itself


def cached_public(view: Callable) -> Callable:
    """Serve a public view from the render cache, rendering and storing it on a miss.

    When the database does not answer (refused, failing, or hanging past the deadline), the
    last rendered response for the URL is served, from memory or from the snapshot on disk.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.public_response = True
        cache = _cache()
        key = cache_key(request.path, request.query_string.decode("latin-1"))
        reader = page_version_reader(current_app.extensions["statuspage.db"])
        try:
            version = cache.version(reader)
        except Unavailable:
            cache.load_snapshot()
            if cache.stale(key) is not None:
                return _from_snapshot(cache, key)
            try:  # nothing to serve: the database may only be slow, so wait for it within its own timeouts
                version = cache.version_now(reader)
            except SQLAlchemyError:
                return _from_snapshot(cache, key)
        entry = cache.get(key, version)
        if entry is None:
            g.public_version = version  # the page names the version it shows, so its script sees a newer one
            try:
                entry = _rendered_once(cache, version, key, view, args, kwargs)
            except SQLAlchemyError as exc:
                if not database_unreachable(exc):
                    raise
                return _from_snapshot(cache, key)
        return _answer(cache, entry, version)

    return wrapper


class FastPath:
    """WSGI middleware: answer public cache hits before Flask, sessions or rate limits run.

    It stands outside the security-headers middleware and adds the same headers itself (`policy`:
    the headers for a path), so a hit is a lookup and a prepared reply."""

    def __init__(self, wsgi_app: Callable, cache: PublicCache,
                 policy: Callable[[str], list[tuple[str, str]]]) -> None:
        self.wsgi_app = wsgi_app
        self.cache = cache
        self.policy = policy

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        version = self.cache.fresh_version() if method in ("GET", "HEAD") else None
        if version is not None:
            path = environ.get("PATH_INFO", "")
            entry = self.cache.get(cache_key(path, environ.get("QUERY_STRING", "")), version)
            if entry is not None:
                answer = reply(self.cache, entry, version, environ.get("HTTP_ACCEPT_ENCODING", ""),
                               environ.get("HTTP_IF_NONE_MATCH"))
                status = "200 OK" if answer.status == 200 else "304 Not Modified"
                start_response(status, answer.headers + self.policy(path))
                return [b""] if method == "HEAD" else [answer.body]
        return self.wsgi_app(environ, start_response)
