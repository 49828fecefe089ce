"""Component descriptions by tap and keyboard (no hover-only title), and a legend that reads well on a phone."""

from __future__ import annotations

from datetime import timedelta

from conftest import accessibility_violations

from statuspage.audit import Actor
from statuspage.components import catalog

ACTOR = Actor.system("test")


def test_a_keyboard_user_reads_a_components_description(page, live_server, session):
    catalog.create_component(session, ACTOR, "Checkout", description="Payments and the basket.")
    session.commit()
    page.goto(live_server + "/")
    description = page.get_by_text("Payments and the basket.")
    assert not description.is_visible()
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the page name
    page.keyboard.press("Tab")  # subscribe
    for _ in range(5):
        if page.evaluate("document.activeElement.textContent").startswith("Checkout"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert description.is_visible()
    assert page.locator("[title='Payments and the basket.']").count() == 0  # no hover-only text left


def test_on_a_phone_a_tap_opens_the_description_and_the_legend_keeps_its_phrases_whole(browser, live_server,
                                                                                        session):
    component = catalog.create_component(session, ACTOR, "Checkout", description="Payments and the basket.")
    component.created_at -= timedelta(days=200)
    session.commit()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                bypass_csp=True)
    tab = phone.new_page()
    tab.goto(live_server + "/")
    tab.locator("summary", has_text="Checkout").tap()
    assert tab.get_by_text("Payments and the basket.").is_visible()
    figures = tab.locator(".uptime-figures")
    line_height = figures.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert figures.bounding_box()["height"] < 1.5 * line_height, "the uptime figures wrap onto two lines"
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    assert accessibility_violations(tab) == []
    phone.close()
