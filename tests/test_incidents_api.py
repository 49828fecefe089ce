"""Incidents and maintenance through the management API v1 and as public v2 shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from test_api_v2 import validator

from statuspage import components, incidents
from statuspage.audit import Actor
from statuspage.models import Incident, IncidentUpdate

ACTOR = Actor.system("test")
BERLIN = ZoneInfo("Europe/Berlin")  # the test page's time zone


def window_ahead(days: int = 10, hours: int = 2) -> tuple[datetime, datetime]:
    """A maintenance window `days` ahead at 10:00 UTC, so it is upcoming whenever the tests run."""
    start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=hours)


def zulu(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(when: datetime) -> str:
    """A time as the API shows it: milliseconds, in the page's zone."""
    return when.astimezone(BERLIN).isoformat(timespec="milliseconds")


@pytest.fixture
def headers(api_token):
    return api_token("responder")


@pytest.fixture
def database(session):
    component = components.create_component(session, ACTOR, "Database cluster")
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
    assert components.get_component(session, database.code).status.value == "operational"


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
    defaults = [name for name, *_rest in incidents.DEFAULT_TEMPLATES]
    assert [t["name"] for t in listed] == sorted([*defaults, "Investigating"])
