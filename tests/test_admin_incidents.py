"""The admin's incidents, updates, templates, maintenance and Markdown preview, driven through the forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle, rules, templates, windows
from statuspage.models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentTemplate,
    IncidentUpdate,
)
from statuspage.page.record import current_version
from tests.conftest import post_form

ACTOR = Actor.system("test")
BERLIN = ZoneInfo("Europe/Berlin")
# Every new page starts with these saved messages (incident_templates.DEFAULT_TEMPLATES).
DEFAULTS = len(templates.DEFAULT_TEMPLATES)
# A fixed past moment for incidents arranged through the domain.
T0 = datetime(2024, 7, 15, 10, 30, tzinfo=UTC)



# --- builders ---------------------------------------------------------------------------------


def a_component(session: Session, name: str, status: str = "operational") -> Component:
    component = catalog.create_component(session, ACTOR, name, status=status)
    session.commit()
    return component


def an_incident(session: Session, name: str = "Elevated errors", **fields) -> Incident:
    fields.setdefault("body", "We are investigating.")
    fields.setdefault("now", T0)
    incident = lifecycle.open_incident(session, ACTOR, name=name, **fields)
    session.commit()
    return incident


def a_maintenance(session: Session, name: str = "Database upgrade", **fields) -> Incident:
    fields.setdefault("body", "We will upgrade the database.")
    fields.setdefault("scheduled_for", T0 + timedelta(days=1))
    fields.setdefault("scheduled_until", T0 + timedelta(days=1, hours=2))
    fields.setdefault("now", T0)
    maintenance = windows.schedule_maintenance(session, ACTOR, name=name, **fields)
    session.commit()
    return maintenance


def a_template(session: Session, name: str = "Investigating", **fields) -> IncidentTemplate:
    fields.setdefault("title", "Elevated error rates")
    fields.setdefault("body", "We are investigating elevated error rates.")
    template = templates.save_template(session, ACTOR, name=name, **fields)
    session.commit()
    return template


def local_input(when: datetime) -> str:
    """A time as a browser's datetime-local input sends it, in the page's zone."""
    return when.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


# --- reading back -------------------------------------------------------------------------------


def see_committed(session: Session) -> None:
    """Forget what this session loaded, so it reads what the app committed."""
    session.rollback()
    session.expire_all()


def all_incidents(session: Session) -> list[Incident]:
    see_committed(session)
    return list(session.scalars(select(Incident).order_by(Incident.id)))


def reloaded(session: Session, item):
    see_committed(session)
    return session.get(type(item), item.id)


def version(session: Session) -> int:
    see_committed(session)
    return current_version(session)


def count(session: Session, model) -> int:
    see_committed(session)
    return session.scalar(select(func.count()).select_from(model))


def parse(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def alert(response) -> str:
    [message] = parse(response).xpath("//*[@role='alert']")
    return message.text_content().strip()


def open_from_form(client, follow_redirects: bool = False, **data):
    return post_form(client, "/admin/incidents/new", data, follow_redirects=follow_redirects)


def post_update_form(client, incident: Incident, **data):
    return post_form(client, f"/admin/incidents/{incident.code}/updates", data)


# --- opening an incident ------------------------------------------------------------------------


def test_a_responder_opens_an_incident_from_the_form(client, session, login_as):
    api = a_component(session, "API")
    database = a_component(session, "Database")
    login_as("responder")

    response = open_from_form(
        client,
        name="Elevated error rates",
        status="identified",
        impact_override="",
        **{f"component-{api.code}": "major_outage", f"component-{database.code}": ""},
        body="**Errors** on the API",
        started_at="2024-07-15T12:30",
        deliver_notifications="on",
    )

    [incident] = all_incidents(session)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/incidents/{incident.code}")
    assert incident.kind == IncidentKind.INCIDENT
    assert incident.name == "Elevated error rates"
    assert incident.status == "identified"
    assert incident.impact == Impact.CRITICAL  # derived from the major outage
    assert incident.impact_override is None
    # 12:30 in Berlin (summer time, UTC+2) is 10:30 UTC.
    assert incident.started_at == datetime(2024, 7, 15, 10, 30, tzinfo=UTC)
    assert [c.name for c in incident.components] == ["API"]
    assert reloaded(session, api).status == ComponentStatus.MAJOR_OUTAGE
    assert reloaded(session, database).status == ComponentStatus.OPERATIONAL
    [update] = reloaded(session, incident).updates
    assert update.status == "identified"
    assert update.body == "**Errors** on the API"
    assert update.deliver_notifications is True
    assert update.affected_components == [
        {"code": api.code, "name": "API", "old_status": "operational", "new_status": "major_outage"}
    ]


def test_the_new_incident_page_shows_the_published_incident_and_its_rendered_message(
    client, session, login_as
):
    login_as("responder")

    response = open_from_form(client, name="Slow logins", status="investigating",
                              body="Logins take **minutes**.", deliver_notifications="on",
                              follow_redirects=True)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Incident published." in page
    assert "<strong>minutes</strong>" in page


def test_started_at_is_read_in_the_page_timezone_in_winter_too(client, session, login_as):
    login_as("responder")

    open_from_form(client, name="Winter outage", status="investigating", body="Down.",
                   started_at="2024-01-15T12:30")

    [incident] = all_incidents(session)
    assert incident.started_at == datetime(2024, 1, 15, 11, 30, tzinfo=UTC)


def test_an_empty_started_at_means_now(client, session, login_as):
    login_as("responder")
    before = utcnow()

    open_from_form(client, name="Just now", status="investigating", body="Down.", started_at="")

    [incident] = all_incidents(session)
    assert before - timedelta(seconds=1) <= incident.started_at <= utcnow()


def test_an_impact_override_wins_over_the_impact_the_components_call_for(client, session, login_as):
    api = a_component(session, "API")
    login_as("responder")

    open_from_form(client, name="Errors", status="investigating", impact_override="minor",
                   body="Errors.", **{f"component-{api.code}": "major_outage"})

    [incident] = all_incidents(session)
    assert incident.impact == Impact.MINOR
    assert incident.impact_override == Impact.MINOR


def test_without_affected_components_the_derived_impact_is_none(client, session, login_as):
    a_component(session, "API")
    login_as("responder")

    open_from_form(client, name="Heads-up", status="investigating", body="Looking into reports.")

    [incident] = all_incidents(session)
    assert incident.impact == Impact.NONE
    assert incident.components == []


def test_notify_subscribers_is_on_by_default_in_the_form(client, session, login_as):
    login_as("responder")

    document = parse(client.get("/admin/incidents/new"))

    [checkbox] = document.xpath("//input[@name='deliver_notifications']")
    assert checkbox.get("checked") is not None


def test_an_unchecked_notify_box_is_stored_on_the_first_update(client, session, login_as):
    login_as("responder")

    open_from_form(client, name="Quiet fix", status="investigating", body="Silent.")

    [incident] = all_incidents(session)
    assert [u.deliver_notifications for u in incident.updates] == [False]


def test_it_refuses_a_started_at_in_the_future_and_saves_nothing(client, session, login_as):
    api = a_component(session, "API")
    login_as("responder")
    updates_before = count(session, IncidentUpdate)

    response = open_from_form(
        client, name="Time traveller", status="investigating", body="From tomorrow.",
        started_at=local_input(utcnow() + timedelta(days=1)),
        **{f"component-{api.code}": "major_outage"},
    )

    assert response.status_code == 422
    assert "cannot be in the future" in alert(response)
    # The form comes back with what was typed.
    document = parse(response)
    assert document.xpath("//input[@name='name']")[0].get("value") == "Time traveller"
    assert all_incidents(session) == []
    assert count(session, IncidentUpdate) == updates_before
    assert reloaded(session, api).status == ComponentStatus.OPERATIONAL


def test_it_refuses_an_unknown_status_or_impact_and_saves_nothing(client, session, login_as):
    login_as("responder")

    bad_status = open_from_form(client, name="X", status="exploded", body="?")
    bad_impact = open_from_form(client, name="X", status="investigating", impact_override="apocalyptic",
                                body="?")

    assert bad_status.status_code == 422
    assert "Unknown incident status" in alert(bad_status)
    assert bad_impact.status_code == 422
    assert "Unknown impact" in alert(bad_impact)
    assert all_incidents(session) == []


def test_it_refuses_an_incident_that_starts_as_a_postmortem(client, session, login_as):
    login_as("responder")

    response = open_from_form(client, name="Backdated", status="postmortem", body="?")

    assert response.status_code == 422
    assert all_incidents(session) == []


def test_it_refuses_a_missing_title_and_keeps_the_message(client, session, login_as):
    login_as("responder")

    response = open_from_form(client, name="   ", status="investigating", body="Typed with care.")

    assert response.status_code == 422
    assert "Name is required" in alert(response)
    assert parse(response).xpath("//textarea[@name='body']")[0].text == "Typed with care."
    assert all_incidents(session) == []


# --- updates ----------------------------------------------------------------------------------


def test_each_update_adds_to_the_timeline_with_its_status_message_and_components(
    client, session, login_as
):
    api = a_component(session, "API")
    database = a_component(session, "Database")
    incident = an_incident(session, component_statuses={api.code: "major_outage"})
    login_as("responder")

    first = post_update_form(client, incident, status="identified", body="A bad deploy.",
                             **{f"component-{api.code}": "partial_outage"},
                             deliver_notifications="on", restore_components="on")
    second = post_update_form(client, incident, status="monitoring", body="Rolled back.",
                              **{f"component-{database.code}": "degraded_performance"})

    assert first.status_code == second.status_code == 302
    timeline = reloaded(session, incident).updates
    assert [(u.status, u.body) for u in timeline] == [
        ("monitoring", "Rolled back."),
        ("identified", "A bad deploy."),
        ("investigating", "We are investigating."),
    ]
    assert [u.deliver_notifications for u in timeline] == [False, True, True]
    assert timeline[0].affected_components == [
        {"code": database.code, "name": "Database", "old_status": "operational",
         "new_status": "degraded_performance"}
    ]
    assert timeline[1].affected_components == [
        {"code": api.code, "name": "API", "old_status": "major_outage", "new_status": "partial_outage"}
    ]
    changed = reloaded(session, incident)
    assert changed.status == "monitoring"
    assert changed.monitoring_at is not None
    assert {c.name for c in changed.components} == {"API", "Database"}
    assert reloaded(session, api).status == ComponentStatus.PARTIAL_OUTAGE
    assert reloaded(session, database).status == ComponentStatus.DEGRADED_PERFORMANCE


def test_the_admin_incident_page_shows_the_whole_timeline(client, session, login_as):
    api = a_component(session, "API")
    incident = an_incident(session, component_statuses={api.code: "major_outage"})
    lifecycle.post_update(session, ACTOR, incident, status="identified", body="Found *it*.",
                          now=T0 + timedelta(minutes=5))
    session.commit()
    login_as("responder")

    document = parse(client.get(f"/admin/incidents/{incident.code}"))

    entries = document.xpath("//ol[@class='timeline']/li")
    heads = [" ".join(e.xpath(".//p[@class='update-head']")[0].text_content().split()) for e in entries]
    assert [h.split(" · ")[0] for h in heads] == ["Identified", "Investigating"]
    assert entries[0].xpath(".//div[@class='body']//em")[0].text == "it"
    assert "API: Operational → Major Outage" in entries[1].text_content()


def test_resolving_returns_the_affected_components_to_operational(client, session, login_as):
    api = a_component(session, "API")
    database = a_component(session, "Database")
    incident = an_incident(session, component_statuses={api.code: "major_outage",
                                                        database.code: "degraded_performance"})
    login_as("responder")

    response = post_update_form(client, incident, status="resolved", body="All good.",
                                restore_components="on", deliver_notifications="on")

    assert response.status_code == 302
    assert reloaded(session, api).status == ComponentStatus.OPERATIONAL
    assert reloaded(session, database).status == ComponentStatus.OPERATIONAL
    resolved = reloaded(session, incident)
    assert resolved.status == "resolved"
    assert resolved.resolved_at is not None
    assert {(a["name"], a["new_status"]) for a in resolved.updates[0].affected_components} == {
        ("API", "operational"), ("Database", "operational")
    }


def test_resolving_with_restore_unchecked_keeps_the_component_statuses(client, session, login_as):
    api = a_component(session, "API")
    incident = an_incident(session, component_statuses={api.code: "major_outage"})
    login_as("responder")

    response = post_update_form(client, incident, status="resolved", body="Resolved; API still down.")

    assert response.status_code == 302
    assert reloaded(session, incident).status == "resolved"
    assert reloaded(session, api).status == ComponentStatus.MAJOR_OUTAGE


def test_a_status_set_in_the_resolving_update_wins_over_the_restore(client, session, login_as):
    api = a_component(session, "API")
    incident = an_incident(session, component_statuses={api.code: "major_outage"})
    login_as("responder")

    post_update_form(client, incident, status="resolved", body="Mostly fixed.",
                     restore_components="on", **{f"component-{api.code}": "degraded_performance"})

    assert reloaded(session, api).status == ComponentStatus.DEGRADED_PERFORMANCE


def test_an_update_to_an_unknown_incident_is_a_404(client, session, login_as):
    login_as("responder")

    response = post_form(client, "/admin/incidents/nosuchincide/updates",
                         {"status": "resolved", "body": "?"})

    assert response.status_code == 404
    assert count(session, IncidentUpdate) == 0


# --- transitions the lifecycle refuses -------------------------------------------------------


def test_an_incident_cannot_be_moved_to_postmortem_by_an_update(client, session, login_as):
    incident = an_incident(session)
    login_as("responder")
    version_before = version(session)

    response = post_update_form(client, incident, status="postmortem", body="Here is what happened.")

    assert response.status_code == 422
    assert "cannot become postmortem" in alert(response)
    # The incident page is shown again, with the message typed.
    document = parse(response)
    assert document.xpath("//h1")[0].text == "Elevated errors"
    assert document.xpath("//textarea[@name='body']")[0].text == "Here is what happened."
    unchanged = reloaded(session, incident)
    assert unchanged.status == "investigating"
    assert len(unchanged.updates) == 1
    assert version(session) == version_before


def test_a_completed_maintenance_cannot_be_scheduled_again(client, session, login_as):
    website = a_component(session, "Website")
    maintenance = a_maintenance(session, component_codes=[website.code])
    lifecycle.post_update(session, ACTOR, maintenance, status="completed", body="Done early.",
                          now=T0 + timedelta(hours=1))
    session.commit()
    login_as("responder")
    version_before = version(session)

    response = post_update_form(client, maintenance, status="scheduled", body="Again!",
                                **{f"component-{website.code}": "under_maintenance"})

    assert response.status_code == 422
    assert "cannot become scheduled" in alert(response)
    unchanged = reloaded(session, maintenance)
    assert unchanged.status == "completed"
    assert len(unchanged.updates) == 2
    assert reloaded(session, website).status == ComponentStatus.OPERATIONAL
    assert version(session) == version_before


def test_an_incident_update_with_a_maintenance_status_is_refused(client, session, login_as):
    incident = an_incident(session)
    login_as("responder")

    response = post_update_form(client, incident, status="in_progress", body="?")

    assert response.status_code == 422
    assert len(reloaded(session, incident).updates) == 1


def test_an_update_with_an_unknown_component_status_saves_nothing(client, session, login_as):
    api = a_component(session, "API")
    incident = an_incident(session)
    login_as("responder")

    response = post_update_form(client, incident, status="identified", body="Found it.",
                                **{f"component-{api.code}": "on_fire"})

    assert response.status_code == 422
    assert len(reloaded(session, incident).updates) == 1
    assert reloaded(session, incident).status == "investigating"
    assert reloaded(session, api).status == ComponentStatus.OPERATIONAL


# --- templates --------------------------------------------------------------------------------


def test_a_template_fills_the_new_incident_form(client, session, login_as):
    template = a_template(session, "Fix deployed", title="Elevated error rates",
                          body="A fix has been deployed; we are *monitoring*.", update_status="monitoring")
    login_as("responder")

    document = parse(client.get(f"/admin/incidents/new?template={template.code}"))

    assert document.xpath("//input[@name='name']")[0].get("value") == "Elevated error rates"
    assert document.xpath("//textarea[@name='body']")[0].text == "A fix has been deployed; we are *monitoring*."
    assert document.xpath("//select[@name='status']/option[@selected]/@value") == ["monitoring"]


def test_the_new_incident_form_offers_every_template(client, session, login_as):
    first = a_template(session, "Investigating")
    second = a_template(session, "Resolved", title="", body="Resolved.", update_status="resolved")
    login_as("responder")

    document = parse(client.get("/admin/incidents/new"))

    offered = document.xpath("//select[@name='template']/option/@value")
    assert offered == [t.code for t in templates.list_templates(session)]
    assert {first.code, second.code} <= set(offered)


def test_an_unknown_template_is_a_404(client, session, login_as):
    login_as("responder")

    assert client.get("/admin/incidents/new?template=nosuchtempla").status_code == 404


def test_a_responder_creates_and_deletes_a_template(client, session, login_as):
    login_as("responder")

    created = post_form(client, "/admin/templates", {
        "name": "Cause identified", "title": "", "body": "We found the cause.",
        "update_status": "identified",
    })

    assert created.status_code == 302
    see_committed(session)
    [template] = session.scalars(select(IncidentTemplate).where(IncidentTemplate.name == "Cause identified")).all()
    assert (template.name, template.body, template.update_status) == (
        "Cause identified", "We found the cause.", "identified")
    assert "Cause identified" in client.get("/admin/templates").get_data(as_text=True)

    deleted = post_form(client, f"/admin/templates/{template.code}/delete", {}, follow_redirects=True)

    assert deleted.status_code == 200
    assert "Template Cause identified deleted." in deleted.get_data(as_text=True)
    assert count(session, IncidentTemplate) == DEFAULTS


def test_a_duplicate_template_name_is_refused(client, session, login_as):
    a_template(session, "Investigating")
    login_as("responder")

    response = post_form(client, "/admin/templates", {
        "name": "INVESTIGATING", "title": "", "body": "Another one.", "update_status": "investigating",
    })

    assert response.status_code == 409
    assert "already exists" in alert(response)
    assert count(session, IncidentTemplate) == DEFAULTS + 1


def test_a_template_without_a_message_is_refused(client, session, login_as):
    login_as("responder")

    response = post_form(client, "/admin/templates", {
        "name": "Empty", "title": "", "body": "  ", "update_status": "investigating",
    })

    assert response.status_code == 422
    assert count(session, IncidentTemplate) == DEFAULTS


def test_deleting_an_unknown_template_is_a_404(client, session, login_as):
    login_as("responder")

    assert post_form(client, "/admin/templates/nosuchtempla/delete", {}).status_code == 404


# --- maintenance ------------------------------------------------------------------------------


def tomorrow_at(hour: int) -> datetime:
    """Tomorrow at a whole hour in the page's time zone (aware)."""
    day = (datetime.now(BERLIN) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)


def test_a_responder_schedules_maintenance_in_the_page_timezone(client, session, login_as):
    website = a_component(session, "Website")
    database = a_component(session, "Database")
    a_component(session, "API")
    login_as("responder")
    start, end = tomorrow_at(3), tomorrow_at(5)

    response = post_form(client, "/admin/maintenance/new", {
        "name": "Database upgrade",
        "scheduled_for": start.strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": end.strftime("%Y-%m-%dT%H:%M"),
        "component_ids": [website.code, database.code],
        "body": "We will upgrade the **database**.",
        "auto_transition": "on",
        "deliver_notifications": "on",
    })

    [maintenance] = all_incidents(session)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/incidents/{maintenance.code}")
    assert maintenance.kind == IncidentKind.MAINTENANCE
    assert maintenance.status == "scheduled"
    assert maintenance.impact == Impact.MAINTENANCE
    assert maintenance.scheduled_for == start
    assert maintenance.scheduled_until == end
    # Berlin is ahead of UTC: 03:00 there is 01:00 or 02:00 UTC.
    assert maintenance.scheduled_for.astimezone(UTC).hour in (1, 2)
    assert maintenance.auto_transition is True
    assert {c.name for c in maintenance.components} == {"Website", "Database"}
    [update] = maintenance.updates
    assert (update.status, update.body, update.deliver_notifications) == (
        "scheduled", "We will upgrade the **database**.", True)
    # Nothing is under maintenance before the window opens.
    assert reloaded(session, website).status == ComponentStatus.OPERATIONAL


def test_maintenance_can_be_scheduled_to_stay_put_and_silent(client, session, login_as):
    login_as("responder")

    post_form(client, "/admin/maintenance/new", {
        "name": "Manual window",
        "scheduled_for": tomorrow_at(3).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": tomorrow_at(4).strftime("%Y-%m-%dT%H:%M"),
        "body": "",
    })

    [maintenance] = all_incidents(session)
    assert maintenance.auto_transition is False
    assert maintenance.updates[0].deliver_notifications is False


def test_the_maintenance_form_starts_with_auto_transition_and_notify_checked(client, session, login_as):
    login_as("responder")

    document = parse(client.get("/admin/maintenance/new"))

    for name in ("auto_transition", "deliver_notifications"):
        assert document.xpath(f"//input[@name='{name}']")[0].get("checked") is not None


def test_it_refuses_a_maintenance_that_ends_before_it_starts(client, session, login_as):
    website = a_component(session, "Website")
    login_as("responder")

    response = post_form(client, "/admin/maintenance/new", {
        "name": "Backwards",
        "scheduled_for": tomorrow_at(5).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": tomorrow_at(3).strftime("%Y-%m-%dT%H:%M"),
        "component_ids": [website.code],
        "body": "Oops.",
    })

    assert response.status_code == 422
    assert "must end after it starts" in alert(response)
    document = parse(response)
    assert document.xpath("//input[@name='name']")[0].get("value") == "Backwards"
    assert document.xpath("//input[@name='component_ids'][@checked]/@value") == [website.code]
    assert all_incidents(session) == []


def test_it_refuses_maintenance_on_an_unknown_component(client, session, login_as):
    website = a_component(session, "Website")
    login_as("responder")

    response = post_form(client, "/admin/maintenance/new", {
        "name": "Ghost upgrade",
        "scheduled_for": tomorrow_at(3).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": tomorrow_at(4).strftime("%Y-%m-%dT%H:%M"),
        "component_ids": [website.code, "nosuchcompon"],
        "body": "?",
    })

    assert response.status_code == 404
    assert "nosuchcompon" in alert(response)
    assert all_incidents(session) == []


def test_it_refuses_a_maintenance_time_that_is_not_a_time(client, session, login_as):
    login_as("responder")

    response = post_form(client, "/admin/maintenance/new", {
        "name": "Whenever", "scheduled_for": "next tuesday", "scheduled_until": "later", "body": "?",
    })

    assert response.status_code == 422
    assert all_incidents(session) == []


def test_it_refuses_a_maintenance_window_that_is_already_over(client, session, login_as):
    login_as("responder")
    yesterday = datetime.now(BERLIN) - timedelta(days=1)

    response = post_form(client, "/admin/maintenance/new", {
        "name": "Too late",
        "scheduled_for": (yesterday - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_until": yesterday.strftime("%Y-%m-%dT%H:%M"),
        "body": "?",
    })

    assert response.status_code == 422
    assert "already over" in alert(response)
    assert all_incidents(session) == []


# --- the live preview -------------------------------------------------------------------------


def test_the_preview_returns_sanitized_html(client, session, login_as):
    login_as("responder")

    response = post_form(client, "/admin/preview", {
        "body": "**Fixed** <script>alert(1)</script> [x](javascript:alert(1)) [docs](https://example.com)",
    })

    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<strong>Fixed</strong>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">docs</a>' in html
    fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    assert fragment.xpath("//script") == []
    assert fragment.xpath("//a/@href") == ["https://example.com"]


def test_the_preview_needs_sign_in(client, session):
    response = post_form(client, "/admin/preview", {"body": "**hi**"})

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_preview_needs_a_csrf_token(client, session, login_as):
    login_as("responder")

    response = client.post("/admin/preview", data={"body": "**hi**"})

    assert response.status_code == 400
    assert "<strong>" not in response.get_data(as_text=True)


def test_the_preview_refuses_an_oversized_message(client, session, login_as):
    login_as("responder")

    response = post_form(client, "/admin/preview", {"body": "x" * (rules.BODY_MAX + 1)})

    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "body"


# --- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/admin/incidents",
    "/admin/incidents/new",
    "/admin/incidents/{code}",
    "/admin/maintenance/new",
    "/admin/templates",
])
def test_an_outsider_is_sent_to_sign_in_for_every_page(client, session, path):
    incident = an_incident(session)

    response = client.get(path.format(code=incident.code))

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", [
    "/admin/incidents/new",
    "/admin/incidents/{code}/updates",
    "/admin/incidents/{code}/delete",
    "/admin/maintenance/new",
    "/admin/templates",
    "/admin/templates/{template}/delete",
])
def test_an_outsider_cannot_change_anything(client, session, path):
    incident = an_incident(session)
    template = a_template(session)
    data = {"name": "Elevated errors", "confirm_name": "Elevated errors", "status": "resolved",
            "body": "Outsider", "title": "", "update_status": "resolved",
            "scheduled_for": tomorrow_at(3).strftime("%Y-%m-%dT%H:%M"),
            "scheduled_until": tomorrow_at(4).strftime("%Y-%m-%dT%H:%M")}

    response = post_form(client, path.format(code=incident.code, template=template.code), data)

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    [unchanged] = all_incidents(session)
    assert unchanged.status == "investigating"
    assert len(unchanged.updates) == 1
    assert count(session, IncidentTemplate) == DEFAULTS + 1


def test_a_responder_cannot_delete_an_incident(client, session, login_as):
    incident = an_incident(session)
    login_as("responder")

    response = post_form(client, f"/admin/incidents/{incident.code}/delete",
                         {"confirm_name": "Elevated errors"})

    assert response.status_code == 403
    assert len(all_incidents(session)) == 1


def test_a_responder_is_not_offered_the_delete_form(client, session, login_as):
    incident = an_incident(session)
    login_as("responder")

    document = parse(client.get(f"/admin/incidents/{incident.code}"))

    assert document.xpath("//input[@name='confirm_name']") == []


def test_an_admin_deletes_an_incident_only_with_its_exact_title(client, session, login_as):
    api = a_component(session, "API")
    incident = an_incident(session, component_statuses={api.code: "major_outage"})
    login_as("admin")

    wrong = post_form(client, f"/admin/incidents/{incident.code}/delete",
                      {"confirm_name": "elevated errors"}, follow_redirects=True)

    assert "Type the exact title" in wrong.get_data(as_text=True)
    assert len(all_incidents(session)) == 1

    right = post_form(client, f"/admin/incidents/{incident.code}/delete",
                      {"confirm_name": "Elevated errors"})

    assert right.status_code == 302
    assert right.headers["Location"].endswith("/admin/incidents")
    assert all_incidents(session) == []
    assert count(session, IncidentUpdate) == 0
    # Component statuses stay as they were.
    assert reloaded(session, api).status == ComponentStatus.MAJOR_OUTAGE


def test_deleting_an_unknown_incident_is_a_404(client, session, login_as):
    login_as("admin")

    response = post_form(client, "/admin/incidents/nosuchincide/delete", {"confirm_name": "x"})

    assert response.status_code == 404


def test_a_form_without_a_csrf_token_is_refused(client, session, login_as):
    login_as("responder")

    response = client.post("/admin/incidents/new", data={"name": "Forged", "status": "investigating",
                                                         "body": "?"})

    assert response.status_code == 400
    assert all_incidents(session) == []
