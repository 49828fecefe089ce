"""The days behind the uptime bars: a reader taps a bar or tabs to a button, and reads each bad day in words."""

from __future__ import annotations

from datetime import timedelta

from conftest import accessibility_violations
from sqlalchemy import select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle
from statuspage.models import StatusChange

ACTOR = Actor.system("test")


def a_component_with_a_bad_day(session) -> tuple[str, str]:
    """A showcased component, 30 days old, down for three hours two days ago under an incident.

    Gives that day's date and the incident's code."""
    api = catalog.create_component(session, ACTOR, "API", showcase=True)
    session.flush()
    api.created_at -= timedelta(days=30)
    session.scalars(select(StatusChange).where(StatusChange.component_id == api.id)).one().at = api.created_at
    began = (utcnow() - timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    incident = lifecycle.open_incident(session, ACTOR, name="API errors", body="Investigating.",
                                       status="investigating", component_statuses={api.code: "major_outage"},
                                       now=began)
    lifecycle.post_update(session, ACTOR, incident, status="resolved", body="Fixed.", now=began + timedelta(hours=3))
    session.commit()
    return began.date().isoformat(), incident.code


def test_a_keyboard_user_opens_the_days_and_reaches_the_incident(page, live_server, session):
    bad_day, code = a_component_with_a_bad_day(session)
    page.goto(live_server + "/")
    button = page.get_by_role("button", name="Day by day for API")
    button.focus()
    page.keyboard.press("Enter")
    days = page.locator(".uptime-days")
    days.locator(".uptime-day").first.wait_for()
    assert button.get_attribute("aria-expanded") == "true"
    text = days.inner_text()
    assert "Major Outage" in text and "87.50% uptime" in text, text
    assert "other days fully operational" in text
    assert days.get_by_role("link", name="API errors").get_attribute("href").endswith(f"/incidents/{code}")
    assert days.locator(f'[data-date="{bad_day}"]').count() == 1

    page.keyboard.press("Enter")  # the button still has the focus: the same key closes the list
    assert days.is_hidden() and button.get_attribute("aria-expanded") == "false"


def test_tapping_a_bar_on_a_phone_shows_that_day(browser, live_server, session):
    bad_day, _ = a_component_with_a_bad_day(session)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    tab = phone.new_page()
    tab.goto(live_server + "/")
    bars = tab.locator(".uptime-bars")
    box = bars.bounding_box()
    day_width = box["width"] / 90
    tab.touchscreen.tap(box["x"] + box["width"] - 2.5 * day_width, box["y"] + box["height"] / 2)  # two days ago
    chosen = tab.locator(".uptime-day.chosen")
    chosen.wait_for()
    assert chosen.get_attribute("data-date") == bad_day
    assert tab.evaluate("document.activeElement.dataset.date") == bad_day
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()


def test_the_page_with_its_days_open_passes_axe(browser, live_server, session):
    a_component_with_a_bad_day(session)
    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    tab = context.new_page()
    tab.goto(live_server + "/")
    tab.get_by_role("button", name="Day by day for API").click()
    tab.locator(".uptime-day").first.wait_for()
    assert accessibility_violations(tab) == []
    context.close()
