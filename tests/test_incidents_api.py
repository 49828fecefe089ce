"""Incidents and maintenance through the management API v1 and as public v2 shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from test_api_v2 import validator

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import templates
from statuspage.models import Incident, IncidentUpdate

ACTOR = Actor.system("test")
BERLIN = ZoneInfo("Europe/Berlin")  # the test page's time zone


def window_ahead(days: int = 10, hours: int = 2) -> tuple[datetime, datetime]:
    """A maintenance window `days` ahead at 10:00 UTC, so it is upcoming whenever the tests run."""
    start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=hours)


def zulu(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(when: datetime) -> str:
    """A time as the API shows it: milliseconds, in the page's zone."""
    return when.astimezone(BERLIN).isoformat(timespec="milliseconds")


@pytest.fixture
def headers(api_token):
    return api_token("responder")


@pytest.fixture
def database(session):
    component = catalog.create_component(session, ACTOR, "Database cluster")
    session.commit()
    return component


def create(client, page_code, headers, **incident):
    return client.post(f"/api/v1/pages/{page_code}/incidents", headers=headers, json={"incident": incident})


def fresh(client, app, path):
    app.extensions["statuspage.public_cache"].clear()
    return client.get(path).get_json()


def test_a_responder_opens_an_incident_with_component_statuses(client, page_code, headers, database):
    response = create(client, page_code, headers, name="Elevated API errors", status="investigating",
                      body="We are investigating elevated error rates.", component_ids=[database.code],
                      components={database.code: "partial_outage"}, deliver_notifications=True)
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "Elevated API errors"
    assert body["impact"] == "major"
    assert body["incident_updates"][0]["affected_components"] == [
        {"code": database.code, "name": "Database cluster", "old_status": "operational",
         "new_status": "partial_outage"}]
    assert body["components"][0]["status"] == "partial_outage"
    assert body["postmortem_body"] is None


def test_a_patch_with_status_and_body_adds_an_update(client, page_code, headers, database):
    code = create(client, page_code, headers, name="DB", body="Looking", status="investigating",
                  components={database.code: "major_outage"}).get_json()["id"]
    response = client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers,
                            json={"incident": {"status": "identified", "body": "A database cluster failed."}})
    assert response.status_code == 200
    updates = response.get_json()["incident_updates"]
    assert [u["status"] for u in updates] == ["identified", "investigating"]
    assert updates[0]["body"] == "A database cluster failed."
    assert updates[0]["affected_components"] == [{"name": "No components were affected by this update."}]


def test_a_patch_with_only_a_name_renames_without_an_update(client, page_code, headers, database):
    code = create(client, page_code, headers, name="DB", body="Looking").get_json()["id"]
    response = client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers,
                            json={"incident": {"name": "Database cluster outage"}})
    assert response.get_json()["name"] == "Database cluster outage"
    assert len(response.get_json()["incident_updates"]) == 1


def test_form_encoded_bodies_work_as_statuspage_clients_send_them(client, page_code, headers, database):
    response = client.post(f"/api/v1/pages/{page_code}/incidents", headers=headers, data={
        "incident[name]": "Form incident", "incident[status]": "identified", "incident[body]": "From a form",
        f"incident[components][{database.code}]": "degraded_performance",
        "incident[component_ids][]": [database.code], "incident[deliver_notifications]": "false",
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "identified"
    assert body["impact"] == "minor"
    assert body["incident_updates"][0]["deliver_notifications"] is False


def test_maintenance_is_created_through_the_same_endpoint(client, app, page_code, headers, database):
    start, end = window_ahead()
    response = create(client, page_code, headers, name="Database upgrade", status="scheduled",
                      body="Upgrading.", component_ids=[database.code],
                      scheduled_for=zulu(start), scheduled_until=end.isoformat())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["impact"] == "maintenance"
    assert body["scheduled_for"] == shown(start)  # shown in the page's zone
    assert body["scheduled_for"].endswith(("+01:00", "+02:00"))
    upcoming = fresh(client, app, "/api/v2/scheduled-maintenances/upcoming.json")
    assert [m["id"] for m in upcoming["scheduled_maintenances"]] == [body["id"]]
    validator("scheduled-maintenances.json").validate(upcoming)
    listed = client.get(f"/api/v1/pages/{page_code}/incidents/upcoming", headers=headers).get_json()
    assert [m["id"] for m in listed] == [body["id"]]


@pytest.mark.parametrize("incident, status, field", [
    ({"name": "x", "status": "exploded"}, 422, "status"),
    ({"name": "x", "impact_override": "apocalyptic"}, 422, "impact_override"),
    ({"name": "x", "components": {"nosuchcode00": "major_outage"}}, 404, "component_id"),
    ({"name": "x", "components": {"COMPONENT": "sideways"}}, 422, None),
    ({"name": "x", "started_at": "2999-01-01T00:00:00Z"}, 422, "started_at"),
    ({"name": "x", "started_at": "2024-08-14T14:30:00"}, 422, "started_at"),
    ({"name": "x", "body": "x" * 25_001}, 422, "body"),
    ({"name": ""}, 422, "name"),
    ({"name": "x", "twitter_handle": "@x"}, 422, "twitter_handle"),
    ({"name": "m", "status": "scheduled", "scheduled_for": zulu(window_ahead()[1]),
      "scheduled_until": zulu(window_ahead()[0])}, 422, "scheduled_until"),
])
def test_bad_input_is_a_clear_4xx_and_saves_nothing(client, session, page_code, headers, database,
                                                     incident, status, field):
    incident = {k: (v if not isinstance(v, dict) else {database.code if key == "COMPONENT" else key: val
                                                       for key, val in v.items()})
                for k, v in incident.items()}
    response = create(client, page_code, headers, body=incident.pop("body", "msg"), **incident)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["message"]
    if field:
        assert error["field"] == field
    assert session.scalar(select(func.count()).select_from(Incident)) == 0
    assert catalog.get_component(session, database.code).status.value == "operational"


def test_a_transition_the_lifecycle_refuses_is_a_422(client, page_code, headers, database):
    code = create(client, page_code, headers, name="DB", body="x").get_json()["id"]
    response = client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers,
                            json={"incident": {"status": "completed", "body": "?"}})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "status"


def test_an_update_to_a_deleted_incident_is_404(client, page_code, headers, api_token, database):
    code = create(client, page_code, headers, name="DB", body="x").get_json()["id"]
    assert client.delete(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers).status_code == 403
    admin = api_token("admin")
    assert client.delete(f"/api/v1/pages/{page_code}/incidents/{code}", headers=admin).status_code == 200
    response = client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers,
                            json={"incident": {"status": "resolved", "body": "x"}})
    assert response.status_code == 404


def test_a_past_update_can_be_edited(client, session, page_code, headers, database):
    body = create(client, page_code, headers, name="DB", body="Typo here").get_json()
    update_id = body["incident_updates"][0]["id"]
    response = client.patch(
        f"/api/v1/pages/{page_code}/incidents/{body['id']}/incident_updates/{update_id}", headers=headers,
        json={"incident_update": {"body": "Fixed text", "display_at": "2024-08-14T14:40:00Z"}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["body"] == "Fixed text"
    assert response.get_json()["display_at"] == "2024-08-14T16:40:00.000+02:00"
    assert session.scalar(select(IncidentUpdate.body)) == "Fixed text"


def test_lists_filter_and_page(client, page_code, headers, database):
    for number in range(3):
        create(client, page_code, headers, name=f"Incident {number}", body="x")
    listed = client.get(f"/api/v1/pages/{page_code}/incidents?q=incident 1", headers=headers).get_json()
    assert [i["name"] for i in listed] == ["Incident 1"]
    assert len(client.get(f"/api/v1/pages/{page_code}/incidents?limit=2", headers=headers).get_json()) == 2
    assert client.get(f"/api/v1/pages/{page_code}/incidents?limit=0", headers=headers).status_code == 400
    unresolved = client.get(f"/api/v1/pages/{page_code}/incidents/unresolved.json", headers=headers)
    assert len(unresolved.get_json()) == 3


def test_public_v2_shows_incidents_in_statuspages_shape(client, app, page_code, headers, database):
    code = create(client, page_code, headers, name="DB", body="Looking", status="investigating",
                  components={database.code: "major_outage"}).get_json()["id"]
    summary = fresh(client, app, "/api/v2/summary.json")
    validator("summary.json").validate(summary)
    assert [i["id"] for i in summary["incidents"]] == [code]
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
    incident = summary["incidents"][0]
    assert incident["shortlink"] == f"http://status.test/incidents/{code}"
    assert "postmortem_body" not in incident

    client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers,
                 json={"incident": {"status": "resolved", "body": "Fixed"}})
    assert fresh(client, app, "/api/v2/incidents/unresolved.json")["incidents"] == []
    recent = fresh(client, app, "/api/v2/incidents.json")
    validator("incidents.json").validate(recent)
    assert recent["incidents"][0]["status"] == "resolved"
    assert fresh(client, app, "/api/v2/status.json")["status"]["indicator"] == "none"


def test_an_open_incident_without_broken_components_still_raises_the_indicator(
        client, app, page_code, headers, database):
    create(client, page_code, headers, name="Login emails delayed", body="x", impact_override="minor")
    assert fresh(client, app, "/api/v2/status.json")["status"] == {
        "indicator": "minor", "description": "Minor Service Outage"}


def test_templates_through_the_api(client, page_code, headers):
    response = client.post(f"/api/v1/pages/{page_code}/incident_templates", headers=headers,
                           json={"template": {"name": "Investigating", "title": "Errors",
                                              "body": "We are looking.", "update_status": "investigating"}})
    assert response.status_code == 201
    again = client.post(f"/api/v1/pages/{page_code}/incident_templates", headers=headers,
                        json={"template": {"name": "investigating", "body": "x"}})
    assert again.status_code == 409
    listed = client.get(f"/api/v1/pages/{page_code}/incident_templates", headers=headers).get_json()
    defaults = [name for name, *_rest in templates.DEFAULT_TEMPLATES]
    assert [t["name"] for t in listed] == sorted([*defaults, "Investigating"])


# --- what Statuspage clients send -------------------------------------------------------------


def count_incidents(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Incident))


def status_of(session, component) -> str:
    session.expire_all()
    return catalog.get_component(session, component.code).status.value


@pytest.mark.parametrize("components", [
    "MAP",
    [{"id": "COMPONENT", "status": "partial_outage"}],
    [{"component_id": "COMPONENT", "status": "partial_outage"}],
    [{"id": "COMPONENT", "component_id": "COMPONENT", "status": "partial_outage"}],
])
def test_components_may_be_a_map_or_a_list_of_objects(client, page_code, headers, database, components):
    components = ({database.code: "partial_outage"} if components == "MAP" else
                  [{k: (database.code if v == "COMPONENT" else v) for k, v in item.items()} for item in components])
    response = create(client, page_code, headers, name="API errors", body="Looking.", components=components)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["impact"] == "major"
    assert [(c["id"], c["status"]) for c in body["components"]] == [(database.code, "partial_outage")]


def test_an_update_takes_components_as_a_list_too(client, page_code, headers, database):
    code = create(client, page_code, headers, name="DB", body="Looking",
                  components={database.code: "degraded_performance"}).get_json()["id"]
    response = client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers, json={
        "incident": {"body": "Worse.", "components": [{"id": database.code, "status": "major_outage"}]}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["components"][0]["status"] == "major_outage"
    assert response.get_json()["incident_updates"][0]["affected_components"][0]["new_status"] == "major_outage"


@pytest.mark.parametrize("components", [
    "major_outage",
    ["COMPONENT"],
    [{"id": "COMPONENT"}],
    [{"id": "COMPONENT", "status": "major_outage", "colour": "red"}],
    [{"id": "COMPONENT", "component_id": "othercode000", "status": "major_outage"}],
    [{"id": 7, "status": "major_outage"}],
    [{"id": "COMPONENT", "status": "major_outage"}, {"id": "COMPONENT", "status": "operational"}],
])
def test_a_components_list_of_another_shape_is_a_422(client, session, page_code, headers, database, components):
    if isinstance(components, list):
        components = [item if not isinstance(item, dict) else
                      {k: (database.code if v == "COMPONENT" else v) for k, v in item.items()}
                      for item in components]
        components = [database.code if item == "COMPONENT" else item for item in components]
    response = create(client, page_code, headers, name="x", body="y", components=components)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == "components"
    assert count_incidents(session) == 0
    assert status_of(session, database) == "operational"


def test_a_misspelt_field_is_named_in_the_422(client, session, page_code, headers, database):
    response = create(client, page_code, headers, name="x", body="y", deliver_notification=False)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "deliver_notification"
    assert "deliver_notification" in response.get_json()["message"]
    assert count_incidents(session) == 0


def test_statuspages_defaults_as_a_client_sends_them_are_accepted(client, session, page_code, headers, database):
    """A real client's body (a React dashboard): every Statuspage switch, off or at its default."""
    response = create(
        client, page_code, headers, name="Checkout errors", status="investigating", impact_override="minor",
        body="Looking.", components={database.code: "degraded_performance"}, component_ids=[database.code],
        deliver_notifications=True, metadata={}, reminder_intervals="[3, 6, 12, 24]",
        scheduled_remind_prior=False, auto_transition_to_maintenance_state=False,
        auto_transition_to_operational_state=False, scheduled_auto_in_progress=False,
        scheduled_auto_completed=False, auto_transition_deliver_notifications_at_start=False,
        auto_transition_deliver_notifications_at_end=False, auto_tweet_at_beginning=False,
        auto_tweet_on_completion=False, auto_tweet_on_creation=False, auto_tweet_one_hour_before=False,
        scheduled_auto_transition=False, backfilled=False)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["impact"] == "minor"
    assert response.get_json()["scheduled_for"] is None


@pytest.mark.parametrize("fields, field", [
    ({"metadata": {"jira": {"key": "OPS-1"}}}, "metadata"),
    ({"reminder_intervals": "[1, 5, 7, 10]"}, "reminder_intervals"),
    ({"reminder_intervals": "4"}, "reminder_intervals"),
    ({"wants_twitter_update": True}, "wants_twitter_update"),
    ({"auto_tweet_on_creation": "true"}, "auto_tweet_on_creation"),
    ({"backfilled": True, "backfill_date": "2024-01-01"}, "backfilled"),
    ({"backfill_date": "2024-01-01"}, "backfill_date"),
    ({"display_at": "2024-08-14T14:40:00Z"}, "display_at"),
    ({"restore_components": False}, "restore_components"),
    ({"scheduled_auto_completed": "sometimes"}, "scheduled_auto_completed"),
])
def test_a_statuspage_field_we_cannot_honour_is_refused_by_name(client, session, page_code, headers, database,
                                                                 fields, field):
    response = create(client, page_code, headers, name="x", body="y",
                      components={database.code: "major_outage"}, **fields)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert count_incidents(session) == 0
    assert status_of(session, database) == "operational"


def test_reminders_switched_off_are_accepted(client, page_code, headers, database):
    for value in (None, "[]", []):
        assert create(client, page_code, headers, name="x", body="y", reminder_intervals=value).status_code == 201


def patch(client, page_code, headers, code, **incident):
    return client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers, json={"incident": incident})


@pytest.mark.parametrize("fields, field", [
    ({"display_at": "2024-08-14T14:40:00Z"}, "display_at"),
    ({"name": "Renamed", "restore_components": False}, "restore_components"),
    ({"body": "x", "component_ids": ["OTHER"]}, "component_ids"),
    ({"body": "x", "started_at": "2024-08-14T14:40:00Z"}, "started_at"),
    ({"body": "x", "scheduled_for": "WINDOW_START"}, "scheduled_for"),
    ({"body": "x", "metadata": {"a": {"b": 1}}}, "metadata"),
])
def test_an_update_refuses_what_it_would_ignore(client, session, page_code, headers, database, fields, field):
    other = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    created = create(client, page_code, headers, name="DB", body="Looking",
                     components={database.code: "major_outage"}).get_json()
    fields = {k: ([other.code] if v == ["OTHER"] else zulu(window_ahead()[0]) if v == "WINDOW_START" else v)
              for k, v in fields.items()}
    response = patch(client, page_code, headers, created["id"], **fields)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    after = client.get(f"/api/v1/pages/{page_code}/incidents/{created['id']}", headers=headers).get_json()
    assert (after["name"], len(after["incident_updates"])) == ("DB", 1)


def test_an_update_may_name_components_it_affects_and_send_started_at_back(client, page_code, headers, database):
    created = create(client, page_code, headers, name="DB", body="Looking",
                     components={database.code: "major_outage"}).get_json()
    response = patch(client, page_code, headers, created["id"], status="identified", body="Found it.",
                     component_ids=[database.code], started_at=created["started_at"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "identified"


def test_editing_an_update_refuses_a_tweet(client, page_code, headers, database):
    created = create(client, page_code, headers, name="DB", body="Typo").get_json()
    update_id = created["incident_updates"][0]["id"]
    url = f"/api/v1/pages/{page_code}/incidents/{created['id']}/incident_updates/{update_id}"
    refused = client.patch(url, headers=headers, json={"incident_update": {"body": "Fixed",
                                                                           "wants_twitter_update": True}})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "wants_twitter_update"
    accepted = client.patch(url, headers=headers, json={"incident_update": {"body": "Fixed",
                                                                            "wants_twitter_update": False}})
    assert accepted.get_json()["body"] == "Fixed"


def test_a_template_keeps_its_components_and_whether_it_notifies(client, page_code, headers, database):
    response = client.post(f"/api/v1/pages/{page_code}/incident_templates", headers=headers, json={"template": {
        "name": "Database slow", "body": "Queries are slow.", "update_status": "identified",
        "component_ids": [database.code], "should_send_notifications": False, "should_tweet": False,
        "group_id": None}})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["should_send_notifications"] is False
    assert created["component_ids"] == [database.code]
    assert [(c["id"], c["name"]) for c in created["components"]] == [(database.code, "Database cluster")]
    listed = client.get(f"/api/v1/pages/{page_code}/incident_templates", headers=headers).get_json()
    [again] = [t for t in listed if t["id"] == created["id"]]
    assert again == created
    defaults = [t for t in listed if t["id"] != created["id"]]
    assert all(t["should_send_notifications"] is True and t["components"] == [] for t in defaults)


@pytest.mark.parametrize("fields, status, field", [
    ({"component_ids": ["nosuchcode00"]}, 422, "component_ids"),
    ({"component_ids": "COMPONENT"}, 422, "component_ids"),
    ({"should_send_notifications": "perhaps"}, 422, "should_send_notifications"),
    ({"should_tweet": True}, 422, "should_tweet"),
    ({"group_id": "somegroup000"}, 422, "group_id"),
])
def test_a_template_field_we_cannot_honour_is_refused(client, session, page_code, headers, database,
                                                      fields, status, field):
    fields = {k: (database.code if v == "COMPONENT" else v) for k, v in fields.items()}
    response = client.post(f"/api/v1/pages/{page_code}/incident_templates", headers=headers,
                           json={"template": {"name": "T", "body": "Text.", **fields}})
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["field"] == field
    listed = client.get(f"/api/v1/pages/{page_code}/incident_templates", headers=headers).get_json()
    assert "T" not in [t["name"] for t in listed]
