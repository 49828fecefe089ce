"""A responder under stress: a saved message fills the form without losing what they typed, and one control
sets every chosen component at once."""

from __future__ import annotations

from conftest import sign_in

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import templates as incident_templates

ACTOR = Actor.system("test")


def signed_in_tab(page, live_server, make_user):
    make_user("responder@example.com", "responder")
    sign_in(page, live_server, "responder@example.com")
    return page


def test_a_saved_message_fills_the_form_in_place_and_keeps_the_typed_title(page, live_server, session, make_user):
    database = catalog.create_component(session, ACTOR, "Database")
    website = catalog.create_component(session, ACTOR, "Website")
    incident_templates.save_template(session, ACTOR, name="Failover", title="Database failover",
                                     body="We are failing over to the standby.", update_status="identified",
                                     component_ids=[database.code])
    session.commit()
    tab = signed_in_tab(page, live_server, make_user)
    tab.goto(live_server + "/admin/incidents/new")
    tab.fill("input[name=name]", "Checkout errors on EU shards")
    tab.evaluate("window.sameDocument = true")
    tab.select_option("form.template-picker select", label="Failover")
    tab.click("form.template-picker button")
    body = tab.locator("textarea[name=body]")
    tab.wait_for_function("() => document.querySelector('textarea[name=body]').value !== ''")

    assert body.input_value() == "We are failing over to the standby."
    assert tab.locator("input[name=name]").input_value() == "Checkout errors on EU shards"
    assert tab.locator("select[name=status]").input_value() == "identified"
    assert tab.locator(f"select[name='component-{database.code}']").input_value() == "operational"
    assert tab.evaluate("window.sameDocument") is True, "the page reloaded"

    tab.select_option(f"select[name='component-{website.code}']", "degraded_performance")
    tab.select_option("select[data-set-all]", "major_outage")
    tab.click("button[data-apply-set-all]")
    assert tab.locator(f"select[name='component-{database.code}']").input_value() == "major_outage"
    assert tab.locator(f"select[name='component-{website.code}']").input_value() == "major_outage"
