"""Saved messages with their components and notify choice: kept from the templates page, and
filling the new-incident and update forms (server-side, without JavaScript)."""

from __future__ import annotations

from sqlalchemy import select

from statuspage.components import catalog
from statuspage.incidents import templates
from statuspage.models import ComponentStatus, IncidentTemplate
from tests.conftest import post_form
from tests.test_admin_incidents import (
    ACTOR,
    DEFAULTS,
    a_component,
    a_template,
    alert,
    all_incidents,
    an_incident,
    count,
    parse,
    reloaded,
    see_committed,
)
from tests.test_admin_reschedule import upcoming_maintenance


def selected(document, name: str) -> list[str]:
    return document.xpath(f"//select[@name='{name}']/option[@selected]/@value")


# --- the templates page --------------------------------------------------------------------------


def test_the_template_form_starts_with_notify_ticked_and_offers_every_component(client, session, login_as):
    website = a_component(session, "Website")
    database = a_component(session, "Database")
    login_as("responder")

    document = parse(client.get("/admin/templates"))

    assert document.xpath("//input[@name='should_send_notifications']/@checked")
    assert document.xpath("//input[@name='component_ids']/@value") == [website.code, database.code]


def test_a_template_keeps_its_components_and_a_silent_choice(client, session, login_as):
    website = a_component(session, "Website")
    a_component(session, "Database")
    login_as("responder")

    response = post_form(client, "/admin/templates", {
        "name": "Website slow", "title": "Slow website", "body": "The website is slow.",
        "update_status": "identified", "component_ids": [website.code]}, follow_redirects=True)

    see_committed(session)
    template = session.scalar(select(IncidentTemplate).where(IncidentTemplate.name == "Website slow"))
    assert (template.component_ids, template.should_send_notifications, template.update_status) == (
        [website.code], False, "identified")
    [row] = [tr for tr in parse(response).xpath("//tbody/tr") if "Website slow" in tr.text_content()]
    assert row.xpath("string(td[@class='template-components'])") == "Website"
    assert row.xpath("string(td[@class='template-notifies'])") == "No, silent"


def test_a_template_with_an_unknown_component_is_refused_and_keeps_the_form(client, session, login_as):
    website = a_component(session, "Website")
    login_as("responder")

    response = post_form(client, "/admin/templates", {
        "name": "Broken", "body": "Text.", "update_status": "identified",
        "component_ids": [website.code, "nosuchcompo1"], "should_send_notifications": "on"})

    assert response.status_code == 422
    assert "nosuchcompo1" in alert(response)
    document = parse(response)
    assert document.xpath("//input[@name='component_ids'][@checked]/@value") == [website.code]
    assert selected(document, "update_status") == ["identified"]
    assert count(session, IncidentTemplate) == DEFAULTS


# --- filling the new-incident form ------------------------------------------------------------------


def test_a_template_ticks_its_components_at_their_status_now_and_the_notify_box(client, session, login_as):
    website = a_component(session, "Website", status="degraded_performance")
    database = a_component(session, "Database")
    silent = a_template(session, "Quiet", component_ids=[website.code], should_send_notifications=False)
    loud = a_template(session, "Loud", component_ids=[database.code])
    login_as("responder")

    quiet_form = parse(client.get(f"/admin/incidents/new?template={silent.code}"))
    loud_form = parse(client.get(f"/admin/incidents/new?template={loud.code}"))

    assert selected(quiet_form, f"component-{website.code}") == ["degraded_performance"]
    assert selected(quiet_form, f"component-{database.code}") == []
    assert quiet_form.xpath("//input[@name='deliver_notifications']/@checked") == []
    assert selected(loud_form, f"component-{database.code}") == ["operational"]
    assert loud_form.xpath("//input[@name='deliver_notifications']/@checked")
    assert selected(loud_form, "template") == [loud.code]


def test_publishing_the_filled_form_affects_the_templates_components_without_changing_them(
        client, session, login_as):
    website = a_component(session, "Website")
    template = a_template(session, "Website", component_ids=[website.code], should_send_notifications=False)
    login_as("responder")
    document = parse(client.get(f"/admin/incidents/new?template={template.code}"))
    [form] = document.xpath("//form[@method='post'][contains(@action, '/admin/incidents/new')]")
    fields = {name: value for name, value in form.form_values() if name != "csrf_token"}

    response = post_form(client, "/admin/incidents/new", fields)

    assert response.status_code == 302
    [incident] = all_incidents(session)
    assert [c.code for c in incident.components] == [website.code]
    assert reloaded(session, website).status == ComponentStatus.OPERATIONAL
    assert incident.updates[0].deliver_notifications is False


# --- filling an update ------------------------------------------------------------------------------


def test_the_update_form_is_filled_from_a_template_without_javascript(client, session, login_as):
    website = a_component(session, "Website")
    database = a_component(session, "Database")
    incident = an_incident(session, component_statuses={database.code: "major_outage"})
    template = a_template(session, "Monitoring", body="A fix is out.", update_status="monitoring",
                          component_ids=[website.code, database.code], should_send_notifications=False)
    login_as("responder")

    page = parse(client.get(f"/admin/incidents/{incident.code}"))
    assert page.xpath(f"//form[@id='post-update']//a[contains(@href, 'template={template.code}')]")
    document = parse(client.get(f"/admin/incidents/{incident.code}?template={template.code}"))

    assert document.xpath("//form[@id='post-update']//textarea[@name='body']")[0].text == "A fix is out."
    assert selected(document, "status") == ["monitoring"]
    assert selected(document, f"component-{website.code}") == ["operational"]
    # Already affected: left as it is.
    assert selected(document, f"component-{database.code}") == []
    assert document.xpath("//form[@id='post-update']//input[@name='deliver_notifications']/@checked") == []
    assert document.xpath("//form[@id='post-update']//input[@name='restore_components']/@checked")


def test_the_maintenance_update_form_offers_templates_and_keeps_its_own_status(client, session, login_as):
    website = a_component(session, "Website")
    maintenance = upcoming_maintenance(session)
    template = a_template(session, "Extended", body="We need a little longer.", update_status="identified",
                          component_ids=[website.code])
    login_as("responder")

    page = parse(client.get(f"/admin/incidents/{maintenance.code}"))
    assert page.xpath(f"//form[@id='post-update']//a[contains(@href, 'template={template.code}')]")
    document = parse(client.get(f"/admin/incidents/{maintenance.code}?template={template.code}"))

    assert document.xpath("//form[@id='post-update']//textarea[@name='body']")[0].text == "We need a little longer."
    assert selected(document, "status") == ["scheduled"]
    assert selected(document, f"component-{website.code}") == ["operational"]
    assert document.xpath("//form[@id='post-update']//input[@name='deliver_notifications']/@checked")


def test_an_unknown_template_on_the_incident_page_is_a_404(client, session, login_as):
    incident = an_incident(session)
    login_as("responder")

    assert client.get(f"/admin/incidents/{incident.code}?template=nosuchtempla").status_code == 404


def test_a_template_whose_component_was_deleted_fills_the_rest(client, session, login_as):
    website = a_component(session, "Website")
    gone = a_component(session, "Gone")
    template = a_template(session, "Both", component_ids=[website.code, gone.code])
    catalog.delete_component(session, ACTOR, gone)
    session.commit()
    login_as("responder")

    document = parse(client.get(f"/admin/incidents/new?template={template.code}"))

    assert selected(document, f"component-{website.code}") == ["operational"]
    assert templates.get_template(session, template.code).component_ids == [website.code, gone.code]


# --- maintenance templates -----------------------------------------------------------------------


def test_each_form_offers_only_its_own_kind_of_template(client, session, login_as):
    a_template(session, "Outage", body="We are looking into it.")
    database = a_component(session, "Database")
    templates.save_template(session, ACTOR, name="Monthly patching", title="Database patching",
                            body="Patches are applied; short pauses.", update_status="scheduled",
                            component_ids=[database.code], should_send_notifications=False)
    session.commit()
    login_as("responder")

    incident_form = parse(client.get("/admin/incidents/new"))
    maintenance_form = parse(client.get("/admin/maintenance/new"))
    offered = incident_form.xpath("//select[@name='template']/option/text()")
    assert "Outage" in offered and "Monthly patching" not in offered
    assert maintenance_form.xpath("//select[@name='template']/option/text()") == ["Monthly patching"]


def test_a_maintenance_template_fills_the_schedule_form(client, session, login_as):
    database = a_component(session, "Database")
    a_component(session, "Website")
    template = templates.save_template(session, ACTOR, name="Monthly patching", title="Database patching",
                                       body="Patches are applied.", update_status="scheduled",
                                       component_ids=[database.code], should_send_notifications=False)
    session.commit()
    login_as("responder")

    document = parse(client.get(f"/admin/maintenance/new?template={template.code}"))
    assert document.xpath("//input[@name='name']/@value") == ["Database patching"]
    assert document.xpath("//textarea[@name='body']/text()") == ["Patches are applied."]
    assert document.xpath("//input[@name='component_ids'][@checked]/@value") == [database.code]
    assert not document.xpath("//input[@name='deliver_notifications']/@checked")


def test_a_template_status_must_be_an_incident_status_or_scheduled(session):
    import pytest

    from statuspage.errors import InvalidInput
    with pytest.raises(InvalidInput) as caught:
        templates.save_template(session, ACTOR, name="Odd", title="", body="Text.", update_status="in_progress")
    assert caught.value.field == "update_status" and "scheduled" in caught.value.message


def test_the_template_and_maintenance_pickers_list_components_in_the_public_pages_order(client, session, login_as):
    from statuspage.components.catalog import move
    website = a_component(session, "Website")
    group = catalog.create_group(session, ACTOR, "Data")
    database = catalog.create_component(session, ACTOR, "Database", group_code=group.code)
    session.commit()
    move(session, ACTOR, group, -1)  # the group now comes before Website on the public page
    session.commit()
    login_as("responder")

    public = client.get("/").get_data(as_text=True)
    assert public.index("Database") < public.index("Website")
    for path in ("/admin/templates", "/admin/maintenance/new"):
        document = parse(client.get(path))
        assert document.xpath("//input[@name='component_ids']/@value") == [database.code, website.code], path
