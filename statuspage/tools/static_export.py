"""`export-static`: the public site as plain files with relative links, for any CDN.

Each public URL is rendered through the app itself (so the copy is exactly
what the live page shows), written to a file, and its links are rewritten to
relative paths; links that need the live service (subscribe, sign-in) point
at STATUSPAGE_BASE_URL.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from statuspage.models import Incident
from statuspage.tools import publish_dir

API_FILES = [
    "summary", "status", "components", "incidents", "incidents/unresolved", "scheduled-maintenances",
    "scheduled-maintenances/upcoming", "scheduled-maintenances/active",
]
# data-days: the uptime details public.js fetches on demand.
_LINK = re.compile(r'(href|src|action|data-days)="(/[^"]*)"')
# Pages found by following links rather than listed up front.
_FOLLOWED = ("/history?page=", "/uptime/")


def file_for(url: str) -> str | None:
    """The exported file that stands for a site-relative URL, or None when only the live site has it."""
    parts = urlsplit(url)
    path, query = parts.path, parse_qs(parts.query)
    if path == "/":
        return "index.html"
    if path == "/history":
        number = query.get("page", ["1"])[0]
        return "history/index.html" if number == "1" else f"history/page/{number}/index.html"
    if re.fullmatch(r"/incidents/[a-z0-9]+", path):
        return f"{path.lstrip('/')}/index.html"
    if re.fullmatch(r"/uptime/[a-z0-9]+\.json", path):
        return path.lstrip("/")
    if path in ("/history.rss", "/history.atom", "/badge.svg", "/widget.js") and not query:
        return path.lstrip("/")
    if path.startswith("/api/v2/") and path.endswith(".json"):
        return path.lstrip("/")
    if path.startswith("/static/"):
        return path.lstrip("/")
    return None


def relativize(html: str, own_file: str, base_url: str) -> str:
    """Rewrite site-relative links of a page written at `own_file`."""
    here = posixpath.dirname(own_file) or "."

    def replace(match: re.Match) -> str:
        attribute, url = match.group(1), match.group(2)
        target = file_for(url)
        if target is None:
            return f'{attribute}="{base_url}{url}"'
        fragment = "#" + urlsplit(url).fragment if urlsplit(url).fragment else ""
        return f'{attribute}="{posixpath.relpath(target, here)}{fragment}"'

    return _LINK.sub(replace, html)


class IncompleteSite(RuntimeError):
    """A public URL failed to render (the database went away mid-way, say)."""


@dataclass(frozen=True)
class Site:
    """The public site as files (path under its root -> bytes) and the page versions its pages were rendered at."""

    files: dict[str, bytes]
    versions: frozenset[str]


def _incident_urls(app: Flask) -> list[str]:
    with app.app_context():
        session = app.extensions["statuspage.db"].session()
        try:
            return [f"/incidents/{code}" for code in session.scalars(select(Incident.code))]
        finally:
            session.close()


def _static_files(app: Flask) -> dict[str, bytes]:
    static = Path(app.static_folder or "")
    if not static.is_dir():
        return {}
    return {f"static/{p.relative_to(static).as_posix()}": p.read_bytes() for p in sorted(static.rglob("*"))
            if p.is_file()}


def render_site(app: Flask) -> Site:
    """Every public URL with a file of its own, rendered through the app's public views.

    So the copy is exactly what the live page shows, and a page another process has rendered
    for this version is read from the shared snapshot rather than rendered again.
    """
    base_url = app.config["STATUSPAGE"].base_url
    client = app.test_client()
    pending = ["/", "/history", "/history.rss", "/history.atom", "/badge.svg", "/widget.js"]
    pending += [f"/api/v2/{name}.json" for name in API_FILES]
    pending += _incident_urls(app)
    files: dict[str, bytes] = {}
    versions: set[str] = set()
    seen: set[str] = set()
    while pending:
        url = pending.pop(0)
        if url in seen:
            continue
        seen.add(url)
        target = file_for(url)
        response = client.get(url)
        if response.status_code >= 500:  # half a site must not replace a whole one
            raise IncompleteSite(f"{url} answered {response.status_code}; nothing was written")
        if target is None or response.status_code != 200:
            continue
        etag, _weak = response.get_etag()
        if etag and etag.startswith("v"):
            versions.add(etag[1:])
        body = response.get_data()
        if response.mimetype == "text/html":
            text = body.decode("utf-8")
            pending += [m.group(2) for m in _LINK.finditer(text) if m.group(2).startswith(_FOLLOWED)]
            body = relativize(text, target, base_url).encode("utf-8")
        files[target] = body
    return Site(files | _static_files(app), frozenset(versions))


def export(app: Flask, folder: Path) -> list[str]:
    """Write the public site into `folder` (the one-shot form of publishing); returns the files it holds."""
    site = render_site(app)
    files = publish_dir.with_gzip(site.files)
    publish_dir.mirror(folder, files)
    return sorted(files)
