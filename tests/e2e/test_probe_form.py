"""The probe form as an admin uses it: only the chosen kind's fields, and the detection time the schedule implies."""

from __future__ import annotations

from conftest import sign_in

from statuspage.audit import Actor
from statuspage.components import catalog

ACTOR = Actor.system("test")


def test_the_form_shows_only_the_chosen_kinds_fields_and_recounts_the_detection_time(
        page, live_server, session, make_user):
    catalog.create_component(session, ACTOR, "Website")
    session.commit()
    make_user("admin@example.com", "admin")
    sign_in(page, live_server, "admin@example.com")
    page.goto(live_server + "/admin/probes/new")

    assert page.locator("fieldset[data-kinds=http]").is_visible()
    assert not page.locator("fieldset[data-kinds=dns]").is_visible()
    page.select_option("select[name=kind]", "dns")
    assert page.locator("fieldset[data-kinds=dns]").is_visible()
    assert not page.locator("fieldset[data-kinds=http]").is_visible()
    assert page.locator("input[name=keyword]").is_disabled()  # hidden fields are not sent
    page.select_option("select[name=kind]", "heartbeat")
    assert not page.locator("input[name=target]").is_visible()
    assert page.locator("fieldset[data-kinds=heartbeat]").is_visible()

    page.select_option("select[name=kind]", "http")
    assert page.locator("[data-detection]").inner_text() == "30 s"
    page.fill("input[name=interval_seconds]", "60")
    page.fill("input[name=failures_to_outage]", "3")
    assert page.locator("[data-detection]").inner_text() == "80 s"
