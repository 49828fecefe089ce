"""`export-static` writes the public site as files whose links work from any folder or CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import lifecycle
from statuspage.tools.static_export import file_for, relativize

ACTOR = Actor.system("test")


def test_urls_map_to_files_and_live_only_pages_stay_on_the_live_host():
    assert file_for("/") == "index.html"
    assert file_for("/incidents/abc123def456") == "incidents/abc123def456/index.html"
    assert file_for("/history?page=2") == "history/page/2/index.html"
    assert file_for("/api/v2/summary.json") == "api/v2/summary.json"
    assert file_for("/subscribe") is None
    html = relativize('<a href="/">x</a> <a href="/login">y</a> <link href="/static/style.css">',
                      "incidents/abc/index.html", "https://status.example.com")
    assert html == ('<a href="../../index.html">x</a> <a href="https://status.example.com/login">y</a> '
                    '<link href="../../static/style.css">')


def test_the_exported_site_is_complete_and_its_links_resolve(runner, session, tmp_path: Path):
    database = catalog.create_component(session, ACTOR, "Database cluster")
    incident = lifecycle.open_incident(session, ACTOR, name="Database down", body="Looking.",
                                       component_statuses={database.code: "major_outage"})
    session.commit()
    result = runner.invoke(args=["statuspage", "export-static", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    for name in ["index.html", "history/index.html", f"incidents/{incident.code}/index.html", "history.rss",
                 "history.atom", "api/v2/summary.json", "api/v2/status.json", "static/style.css"]:
        assert (site / name).is_file(), name
    summary = json.loads((site / "api/v2/summary.json").read_text())
    assert summary["status"]["indicator"] in {"critical", "major"}
    assert feedparser.parse((site / "history.atom").read_bytes()).bozo == 0
    for page in site.rglob("*.html"):
        for link in re.findall(r'(?:href|src)="([^"#]+)"', page.read_text()):
            if link.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / link).resolve().is_file(), f"{page.relative_to(site)} links to missing {link}"
