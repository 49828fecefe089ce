"""The public page refreshes in place: no reload on a timer (axe's meta-refresh), the news announced."""

from __future__ import annotations

import time

from conftest import accessibility_violations

from statuspage.audit import Actor
from statuspage.components import catalog

ACTOR = Actor.system("test")


def test_a_change_appears_on_an_open_page_without_a_reload(page, live_server, session):
    database = catalog.create_component(session, ACTOR, "Database cluster")
    session.commit()
    page.goto(live_server + "/")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    assert page.locator("h1").inner_text() == "All Systems Operational"
    page.evaluate("window.sameDocument = true")

    catalog.update_component(session, ACTOR, database, status="major_outage")
    session.commit()
    deadline = time.monotonic() + 15
    while page.locator("h1").inner_text() == "All Systems Operational" and time.monotonic() < deadline:
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # as on coming back to the tab
        page.wait_for_timeout(250)

    assert page.locator("h1").inner_text() == "Major System Outage"
    assert page.evaluate("window.sameDocument") is True, "the page was reloaded instead of updated in place"
    assert "Status updated at" in page.get_by_role("status").last.inner_text()
    assert "Major System Outage" in page.title()


def test_nothing_is_fetched_but_the_small_status_document_while_nothing_changes(page, live_server, session):
    catalog.create_component(session, ACTOR, "Website")
    session.commit()
    page.goto(live_server + "/")
    requests: list[str] = []
    page.on("request", lambda request: request.resource_type in ("fetch", "xhr") and requests.append(request.url))
    for _ in range(3):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.wait_for_timeout(300)
    assert requests and all(url.endswith("/api/v2/status.json") for url in requests), requests


def test_the_public_page_passes_axe_with_every_rule(browser, live_server, session):
    catalog.create_component(session, ACTOR, "Website", description="Our marketing site.")
    session.commit()
    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    tab = context.new_page()
    tab.goto(live_server + "/")
    assert accessibility_violations(tab) == []
    context.close()
