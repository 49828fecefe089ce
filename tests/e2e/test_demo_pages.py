"""The demo a newcomer sees after `make run` renders in a real browser (and gives the README its pictures)."""

from __future__ import annotations

from conftest import screenshot, sign_in, wait_for_previews

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import lifecycle


def test_the_replayed_outage_reads_well_on_desktop_and_phone(browser, page, live_server, runner, session, make_user):
    result = runner.invoke(args=["statuspage", "demo", "--scenario", "aug14"])
    assert result.exit_code == 0, result.output
    code = result.output.split("/incidents/")[1].split()[0]
    database = catalog.get_component(session, session.scalars(
        catalog.select(catalog.Component.code).where(catalog.Component.name == "Cache")).one())
    catalog.update_component(session, Actor.system("test"), database, status="degraded_performance")
    session.commit()

    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "Minor Service Outage"
    screenshot(page, "demo-public-page")

    page.goto(f"{live_server}/incidents/{code}")
    assert "We apologize for the inconvenience" in page.content()
    assert page.locator("#postmortem-title").is_visible()
    screenshot(page, "demo-incident-postmortem")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    tab = phone.new_page()
    tab.goto(live_server + "/")
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(tab, "demo-public-page-phone")
    phone.close()

    make_user("admin@example.com", "admin")
    sign_in(page, live_server, "admin@example.com")
    outage = lifecycle.open_incident(session, Actor.system("test"), name="Slow responses from the cache",
                                     body="We are looking into slow responses.", status="investigating",
                                     component_statuses={database.code: "degraded_performance"})
    session.commit()
    page.goto(f"{live_server}/admin/incidents/{outage.code}")
    screenshot(page, "demo-admin-outage")  # a responder posting the next update in the middle of an outage

    page.goto(f"{live_server}/admin/incidents/{code}/postmortem")
    assert "Time to detect" in page.content()
    wait_for_previews(page)
    assert "connection pooling software" in page.locator("#preview-root_cause").inner_text()
    assert page.locator("#preview-conclusion strong").inner_text() == "We apologize for the inconvenience caused"
    fits = page.eval_on_selector_all(".timeline-row input[name$='-text']",
                                     "inputs => inputs.filter(i => i.value).map(i => i.scrollWidth <= i.clientWidth)")
    assert sum(fits) >= len(fits) * 2 / 3, f"most timeline lines are cut off in their inputs: {fits}"
    screenshot(page, "demo-admin-postmortem")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                storage_state=page.context.storage_state())
    tab = phone.new_page()
    tab.goto(f"{live_server}/admin/incidents/{code}/postmortem")
    width = tab.evaluate("document.querySelector('.timeline-editor').scrollWidth")
    assert width <= 390, f"the timeline editor scrolls sideways on a phone ({width}px)"
    phone.close()
