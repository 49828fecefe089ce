"""The incident and update forms as responders use them under stress: the message near the top, components
grouped as on the public page (those already affected first), and saved messages filled in place."""

from __future__ import annotations

import lxml.html

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import lifecycle
from statuspage.incidents import templates as incident_templates

ACTOR = Actor.system("test")


def a_page(session):
    data = catalog.create_group(session, ACTOR, "Data")
    database = catalog.create_component(session, ACTOR, "Database", group_code=data.code)
    cache = catalog.create_component(session, ACTOR, "Cache", group_code=data.code)
    website = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    return database, cache, website


def document(client, path: str):
    return lxml.html.fromstring(client.get(path).get_data(as_text=True))


def test_the_new_incident_form_puts_the_message_first_and_groups_components(client, session, login_as):
    login_as("responder")
    a_page(session)
    [form] = document(client, "/admin/incidents/new").xpath("//form[@method='post' and contains(@class, 'wide')]")
    names = [field.get("name") for field in form.xpath(".//input|.//select|.//textarea")]
    assert names.index("body") < names.index("impact_override") < names.index("started_at")
    groups = form.xpath(".//fieldset[@class='component-group']")
    assert [g.findtext("legend") for g in groups] == ["Data"]
    assert [s.get("name") for s in groups[0].xpath(".//select")] == [
        f"component-{c.code}" for c in catalog.all_components(session) if c.group is not None]
    assert form.xpath(".//p[@class='set-all']/@hidden") == [""]  # hidden until admin.js shows it


def test_an_update_lists_the_components_it_affects_first(client, session, login_as):
    login_as("responder")
    database, cache, website = a_page(session)
    incident = lifecycle.open_incident(session, ACTOR, name="Website down", body="Looking.", status="investigating",
                                       component_statuses={website.code: "major_outage"})
    session.commit()
    form = document(client, f"/admin/incidents/{incident.code}").xpath("//form[@id='post-update']")[0]
    [first, *others] = form.xpath(".//fieldset[@class='component-statuses']/fieldset")
    assert first.findtext("legend") == "Affected by this incident"
    assert [s.get("name") for s in first.xpath(".//select")] == [f"component-{website.code}"]
    assert first.xpath(".//select/@data-affected") == [""]
    assert [g.findtext("legend") for g in others] == ["Data"]
    names = [field.get("name") for field in form.xpath(".//select|.//textarea")]
    assert names.index("body") < names.index(f"component-{website.code}")


def test_a_saved_message_is_given_as_json_for_filling_the_form_in_place(client, session, login_as):
    login_as("responder")
    database, _cache, website = a_page(session)
    template = incident_templates.save_template(
        session, ACTOR, name="Database failover", title="Database failover", body="We are failing over.",
        update_status="identified", component_ids=[database.code], should_send_notifications=True)
    incident = lifecycle.open_incident(session, ACTOR, name="Errors", body="Looking.", status="investigating",
                                       component_statuses={website.code: "major_outage"})
    session.commit()

    fill = client.get(f"/admin/templates/{template.code}/fill.json").get_json()
    assert fill == {"name": "Database failover", "status": "identified", "body": "We are failing over.",
                    "deliver_notifications": "on", f"component-{database.code}": "operational"}
    update = client.get(f"/admin/templates/{template.code}/fill.json?incident={incident.code}").get_json()
    assert "name" not in update and update["status"] == "identified"
    assert client.get("/admin/templates/nosuch/fill.json").status_code == 404
    assert client.get(f"/admin/templates/{template.code}/fill.json?incident=nosuch").status_code == 404
