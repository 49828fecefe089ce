"""Every admin and public page, as people see them in an outage, at desktop and phone widths: axe-core finds
no violation of any impact, and nothing is wider than the screen (tables scroll inside their own box)."""

from __future__ import annotations

import pytest
from conftest import accessibility_violations, screenshot, sign_in
from sqlalchemy import select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import lifecycle
from statuspage.models import IncidentDraft
from statuspage.probes.rules import apply_check
from tests.probe_builders import T0, a_probe, bad

ACTOR = Actor.system("test")
WIDTHS = [1280, 390]
# The outermost elements that reach past the right edge of the screen (not inside a scrolling box).
WIDER_THAN = """width => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.table-scroll'))
    .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= width + 1)
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))"""


@pytest.fixture
def outage(session) -> dict[str, str]:
    """A page in the middle of an outage: a component down under an open incident, with a probe; another down
    with no word yet, and a third whose probe proposed an incident nobody has published (the admin shows
    those two first)."""
    database = catalog.create_component(session, ACTOR, "Database cluster", description="Primary PostgreSQL.")
    catalog.create_component(session, ACTOR, "Website")
    incident = lifecycle.open_incident(session, ACTOR, name="Elevated error rates", body="Investigating.",
                                       status="investigating",
                                       component_statuses={database.code: "major_outage"})
    probe = a_probe(session, database)
    earlier = lifecycle.open_incident(session, ACTOR, name="Slow checkout", body="Looking into it.",
                                      status="investigating", component_statuses={})
    lifecycle.post_update(session, ACTOR, earlier, status="resolved", body="Fixed.")
    catalog.create_component(session, ACTOR, "Search", status="partial_outage")
    checkout = catalog.create_component(session, ACTOR, "Checkout API")
    failing = a_probe(session, checkout, failures_to_outage=1, auto_incident="draft")
    apply_check(session, failing, bad(), T0)
    session.commit()
    draft = session.scalars(select(IncidentDraft)).one()
    return {"incident": incident.code, "component": database.code, "probe": probe.code, "resolved": earlier.code,
            "draft": draft.code}


def admin_paths(ids: dict[str, str]) -> list[str]:
    return ["/admin/", "/admin/incidents", f"/admin/incidents/{ids['incident']}", "/admin/incidents/new",
            "/admin/maintenance/new", f"/admin/components/{ids['component']}", "/admin/probes",
            f"/admin/probes/{ids['probe']}", "/admin/probes/new", "/admin/templates", "/admin/subscribers",
            "/admin/deliveries", "/admin/action-items", "/admin/audit", "/admin/users", "/admin/account",
            f"/admin/incidents/{ids['resolved']}/postmortem", "/admin/settings", f"/admin/drafts/{ids['draft']}",
            "/admin/alerts"]


def public_paths(ids: dict[str, str]) -> list[str]:
    return ["/", f"/incidents/{ids['incident']}", f"/incidents/{ids['resolved']}", "/history", "/subscribe"]


def signed_in(browser, live_server, make_user, width: int):
    make_user("admin@example.com", "admin")
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    tab = context.new_page()
    sign_in(tab, live_server, "admin@example.com")
    return context, tab


def problems_on(tab, live_server: str, paths: list[str], width: int) -> dict[str, list[str]]:
    """For each path with any: axe-core's violations, and what reaches past the right edge of the screen."""
    problems = {}
    for path in paths:
        tab.goto(live_server + path)
        found = accessibility_violations(tab)
        wide = tab.evaluate("document.documentElement.scrollWidth")
        if wide > width:
            found.append(f"page is {wide}px wide: " + ", ".join(tab.evaluate(WIDER_THAN, width)))
        if found:
            problems[path] = found
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_every_admin_page_passes_axe_and_fits_the_screen(browser, live_server, make_user, outage, width):
    context, tab = signed_in(browser, live_server, make_user, width)
    problems = problems_on(tab, live_server, admin_paths(outage), width)
    context.close()
    assert problems == {}, "\n".join(f"{path}: {found}" for path, found in problems.items())


@pytest.mark.parametrize("width", WIDTHS)
def test_every_public_page_passes_axe_and_fits_the_screen(browser, live_server, outage, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    problems = problems_on(context.new_page(), live_server, public_paths(outage), width)
    context.close()
    assert problems == {}, "\n".join(f"{path}: {found}" for path, found in problems.items())


def test_the_admin_navigation_fits_on_one_line_on_a_laptop(browser, live_server, make_user):
    context, tab = signed_in(browser, live_server, make_user, 1280)
    tab.goto(live_server + "/admin/incidents")
    tops = tab.eval_on_selector_all(".site-header .brand, .admin-nav a, .account a, .account button",
                                    "items => items.map(e => Math.round(e.getBoundingClientRect().top))")
    assert len(tops) >= 12 and max(tops) - min(tops) <= 12, tops
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_responder_signs_in_to_what_waits_for_them_first(browser, live_server, make_user, outage, width):
    context, tab = signed_in(browser, live_server, make_user, width)
    assert tab.url == live_server + "/admin/incidents"
    first = tab.locator("main h1 + *").first
    assert "waiting" in (first.get_attribute("class") or "")
    assert "Checkout API" in first.inner_text() and "Search" in first.inner_text()
    assert tab.get_by_role("button", name="Publish incident").first.is_visible()
    screenshot(tab, "admin-outage-first" if width > 500 else "admin-outage-first-phone")
    context.close()
