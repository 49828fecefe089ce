"""Widgets on another site show our state: ours (one script tag) and Atlassian's status-widget."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from statuspage.audit import Actor
from statuspage.components import catalog

ACTOR = Actor.system("test")
WIDGET = Path(__file__).resolve().parent.parent / "clients" / "node_modules" / "@statuspage" / "status-widget"


def test_our_widget_shows_the_state_on_another_origin(page, live_server, other_origin, session):
    catalog.create_component(session, ACTOR, "Database cluster", status="partial_outage")
    session.commit()
    origin, folder = other_origin
    (folder / "index.html").write_text(
        f'<!doctype html><title>Shop</title><p>Our status: <script src="{live_server}/widget.js"></script></p>')
    page.goto(f"{origin}/index.html")
    widget = page.locator("a.statuspage-widget")
    widget.wait_for()
    page.wait_for_function("document.querySelector('a.statuspage-widget').dataset.indicator !== 'loading'")
    assert widget.get_attribute("data-indicator") == "minor"
    assert widget.inner_text().strip() == "Minor Service Outage"
    assert widget.get_attribute("href") == f"{live_server}/"


def test_atlassians_status_widget_shows_our_state(page, live_server, other_origin, session):
    catalog.create_component(session, ACTOR, "Website")
    session.commit()
    origin, folder = other_origin
    shutil.copy(WIDGET / "dist" / "index.js", folder / "status-widget.js")
    (folder / "index.html").write_text(
        '<!doctype html><title>Shop</title>'
        f'<statuspage-widget src="{live_server}"></statuspage-widget>'
        '<script src="status-widget.js"></script>')
    page.goto(f"{origin}/index.html")
    page.wait_for_function(
        "() => { const w = document.querySelector('statuspage-widget');"
        " return w && w.shadowRoot && w.shadowRoot.textContent.includes('All Systems Operational'); }",
        timeout=15000)
    text = page.evaluate("document.querySelector('statuspage-widget').shadowRoot.textContent")
    assert "All Systems Operational" in text


@pytest.mark.parametrize("statuses, appearance, indicator, description", [
    ({"Website": "operational", "Database cluster": "degraded_performance"}, "basic", "minor",
     "Minor Service Outage"),
    ({"Website": "major_outage", "Database cluster": "operational"}, "basic", "major", "Partial System Outage"),
    ({"Website": "major_outage", "Database cluster": "major_outage"}, "badge", "critical", "Major System Outage"),
])
def test_atlassians_status_widget_shows_trouble_too(page, live_server, other_origin, session, statuses, appearance,
                                                     indicator, description):
    for name, status in statuses.items():
        catalog.create_component(session, ACTOR, name, status=status)
    session.commit()
    origin, folder = other_origin
    shutil.copy(WIDGET / "dist" / "index.js", folder / "status-widget.js")
    (folder / "index.html").write_text(
        '<!doctype html><title>Shop</title>'
        f'<statuspage-widget src="{live_server}" appearance="{appearance}"></statuspage-widget>'
        '<script src="status-widget.js"></script>')
    page.goto(f"{origin}/index.html")
    page.wait_for_function(
        "() => { const w = document.querySelector('statuspage-widget');"
        " return w && w.shadowRoot && w.shadowRoot.querySelector('.status-indicator'); }", timeout=15000)
    shown = page.evaluate(
        "() => { const root = document.querySelector('statuspage-widget').shadowRoot;"
        " return {classes: [...root.querySelector('.status-indicator').classList], text: root.textContent}; }")
    assert indicator in shown["classes"]
    assert description in shown["text"]
    assert "All Systems Operational" not in shown["text"]
