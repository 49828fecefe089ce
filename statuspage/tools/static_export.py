"""`export-static`: the public site as plain files with relative links, for any CDN.

Each public URL is rendered through the app itself (so the copy is exactly
what the live page shows), written to a file, and its links are rewritten to
relative paths; links that need the live service (subscribe, sign-in) point
at STATUSPAGE_BASE_URL.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from statuspage.models import Incident

API_FILES = [
    "summary", "status", "components", "incidents", "incidents/unresolved", "scheduled-maintenances",
    "scheduled-maintenances/upcoming", "scheduled-maintenances/active",
]
_LINK = re.compile(r'(href|src|action)="(/[^"]*)"')


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
    if path in ("/history.rss", "/history.atom") and not query:
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


def export(app: Flask, folder: Path) -> list[str]:
    """Write the public site into `folder`; returns the files written."""
    settings = app.config["STATUSPAGE"]
    client = app.test_client()
    urls = ["/", "/history", "/history.rss", "/history.atom"] + [f"/api/v2/{name}.json" for name in API_FILES]
    with app.app_context():
        session = app.extensions["statuspage.db"].session()
        try:
            codes = list(session.scalars(select(Incident.code)))
        finally:
            session.close()
    urls += [f"/incidents/{code}" for code in codes]
    written: list[str] = []
    pending = list(urls)
    seen: set[str] = set()
    while pending:
        url = pending.pop(0)
        if url in seen:
            continue
        seen.add(url)
        target = file_for(url)
        response = client.get(url)
        if target is None or response.status_code != 200:
            continue
        body = response.get_data()
        if response.mimetype == "text/html":
            text = body.decode("utf-8")
            pending += [m.group(2) for m in _LINK.finditer(text) if m.group(2).startswith("/history?page=")]
            body = relativize(text, target, settings.base_url).encode("utf-8")
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written.append(target)
    static = Path(app.static_folder or "")
    if static.is_dir():
        shutil.copytree(static, folder / "static", dirs_exist_ok=True)
        written += [f"static/{p.relative_to(static).as_posix()}" for p in static.rglob("*") if p.is_file()]
    return written
