"""Scheduled maintenance through the management API v1: its components, Statuspage's auto-transition
switches, and rescheduling with PATCH."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from statuspage.components import catalog
from statuspage.incidents import lookups
from statuspage.models import AuditEntry, Incident, OutboxEvent
from tests.test_incidents_api import ACTOR, window_ahead, zulu


@pytest.fixture
def headers(api_token):
    return api_token("responder")


@pytest.fixture
def database(session):
    component = catalog.create_component(session, ACTOR, "Database cluster")
    session.commit()
    return component


@pytest.fixture
def website(session):
    component = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    return component


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def schedule(client, page_code, headers, **fields):
    start, end = window_ahead()
    incident = {"name": "Database upgrade", "status": "scheduled", "body": "Upgrading.",
                "scheduled_for": zulu(start), "scheduled_until": zulu(end), **fields}
    return client.post(f"/api/v1/pages/{page_code}/incidents", headers=headers, json={"incident": incident})


def patch(client, page_code, headers, code, **incident):
    return client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers, json={"incident": incident})


def count_incidents(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Incident))


def stored(session, code: str) -> Incident:
    session.expire_all()
    return lookups.get_incident(session, code)


# --- scheduling -----------------------------------------------------------------------------------


def test_the_components_map_and_component_ids_both_name_affected_components(
        client, session, page_code, headers, database, website):
    response = schedule(client, page_code, headers, components={database.code: "under_maintenance"},
                        component_ids=[website.code])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert sorted(c["id"] for c in body["components"]) == sorted([database.code, website.code])
    # Scheduling changes no status: the window has not begun.
    assert {c["status"] for c in body["components"]} == {"operational"}
    assert body["impact"] == "maintenance"


def test_a_list_of_components_with_their_status_now_is_accepted(client, page_code, headers, database):
    response = schedule(client, page_code, headers, components=[{"id": database.code, "status": "operational"}])
    assert response.status_code == 201, response.get_json()
    assert [c["id"] for c in response.get_json()["components"]] == [database.code]


def test_a_maintenance_moves_itself_by_default_and_says_so_as_statuspage_does(client, page_code, headers):
    body = schedule(client, page_code, headers).get_json()
    for field in ("scheduled_auto_in_progress", "scheduled_auto_completed", "auto_transition_to_maintenance_state",
                  "auto_transition_to_operational_state", "auto_transition_deliver_notifications_at_start",
                  "auto_transition_deliver_notifications_at_end"):
        assert body[field] is True, field
    assert body["scheduled_remind_prior"] is False


def test_all_switches_off_makes_a_maintenance_that_waits_for_a_responder(client, session, page_code, headers):
    switches = {field: False for field in (
        "scheduled_auto_transition", "scheduled_auto_in_progress", "scheduled_auto_completed",
        "auto_transition_to_maintenance_state", "auto_transition_to_operational_state",
        "auto_transition_deliver_notifications_at_start", "auto_transition_deliver_notifications_at_end")}
    response = schedule(client, page_code, headers, **switches)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert stored(session, body["id"]).auto_transition is False
    assert not any(body[field] for field in switches if field in body)


def test_the_switches_sent_must_agree_and_any_one_alone_decides(client, session, page_code, headers):
    response = schedule(client, page_code, headers, auto_transition_to_maintenance_state=False)
    assert response.status_code == 201, response.get_json()
    assert stored(session, response.get_json()["id"]).auto_transition is False
    assert response.get_json()["scheduled_auto_in_progress"] is False


def test_switches_sent_as_form_strings_are_read(client, session, page_code, headers, database):
    start, end = window_ahead()
    response = client.post(f"/api/v1/pages/{page_code}/incidents", headers=headers, data={
        "incident[name]": "Form maintenance", "incident[scheduled_for]": zulu(start),
        "incident[scheduled_until]": zulu(end), f"incident[components][{database.code}]": "under_maintenance",
        "incident[scheduled_auto_in_progress]": "false", "incident[scheduled_auto_completed]": "false"})
    assert response.status_code == 201, response.get_json()
    assert stored(session, response.get_json()["id"]).auto_transition is False
    assert [c["id"] for c in response.get_json()["components"]] == [database.code]


@pytest.mark.parametrize("fields, field", [
    ({"components": {"DB": "major_outage"}}, "components"),
    ({"scheduled_auto_in_progress": True, "scheduled_auto_completed": False}, "scheduled_auto_completed"),
    ({"scheduled_auto_in_progress": True, "auto_transition_to_operational_state": False},
     "auto_transition_to_operational_state"),
    ({"auto_transition_deliver_notifications_at_start": False}, "auto_transition_deliver_notifications_at_start"),
    ({"scheduled_auto_in_progress": True, "auto_transition_deliver_notifications_at_end": False},
     "auto_transition_deliver_notifications_at_end"),
    ({"scheduled_remind_prior": True}, "scheduled_remind_prior"),
    ({"status": "in_progress"}, "status"),
    ({"impact_override": "major"}, "impact_override"),
    ({"started_at": "2024-08-14T14:30:00Z"}, "started_at"),
    ({"display_at": "2024-08-14T14:30:00Z"}, "display_at"),
    ({"scheduled_for": None}, "scheduled_for"),
    ({"scheduled_until": "BEFORE_START"}, "scheduled_until"),
    ({"scheduled_for": "2020-01-01T10:00:00Z", "scheduled_until": "2020-01-01T12:00:00Z"}, "scheduled_until"),
])
def test_what_a_maintenance_cannot_honour_is_a_422_naming_the_field(client, session, page_code, headers, database,
                                                                   fields, field):
    start, _end = window_ahead()
    fields = {k: ({database.code: v["DB"]} if k == "components" else
                  zulu(start - timedelta(hours=1)) if v == "BEFORE_START" else v) for k, v in fields.items()}
    response = schedule(client, page_code, headers, component_ids=[database.code], **fields)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert response.get_json()["message"]
    assert count_incidents(session) == 0


def test_only_a_window_end_still_means_a_maintenance(client, session, page_code, headers):
    start, end = window_ahead()
    response = client.post(f"/api/v1/pages/{page_code}/incidents", headers=headers, json={
        "incident": {"name": "Upgrade", "scheduled_until": zulu(end)}})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "scheduled_for"
    assert count_incidents(session) == 0


# --- rescheduling ---------------------------------------------------------------------------------


def test_a_patch_with_a_new_window_reschedules_without_an_update(client, app, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    start, end = window_ahead(days=12, hours=3)
    response = patch(client, page_code, headers, created["id"], scheduled_for=zulu(start),
                     scheduled_until=zulu(end))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (instant(body["scheduled_for"]), instant(body["scheduled_until"])) == (start, end)
    assert len(body["incident_updates"]) == 1
    maintenance = stored(session, created["id"])
    assert (maintenance.scheduled_for, maintenance.scheduled_until) == (start, end)
    assert session.scalar(select(func.count()).where(AuditEntry.action == "maintenance.reschedule")) == 1
    app.extensions["statuspage.public_cache"].clear()
    upcoming = client.get("/api/v2/scheduled-maintenances/upcoming.json").get_json()["scheduled_maintenances"]
    assert instant(upcoming[0]["scheduled_for"]) == start


def test_a_reschedule_alone_is_silent_unless_asked_to_notify(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    events = select(func.count()).select_from(OutboxEvent)
    before = session.scalar(events)
    start, end = window_ahead(days=11)
    patch(client, page_code, headers, created["id"], scheduled_for=zulu(start), scheduled_until=zulu(end))
    assert session.scalar(events) == before
    start, end = window_ahead(days=13)
    patch(client, page_code, headers, created["id"], scheduled_for=zulu(start), scheduled_until=zulu(end),
          deliver_notifications=True)
    assert session.scalar(events) == before + 1


def test_one_edge_may_move_alone(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    start, _end = window_ahead()
    later_end = start + timedelta(hours=5)
    response = patch(client, page_code, headers, created["id"], scheduled_until=zulu(later_end))
    assert response.status_code == 200, response.get_json()
    assert instant(response.get_json()["scheduled_for"]) == start
    assert instant(response.get_json()["scheduled_until"]) == later_end


def test_a_reschedule_and_an_update_go_together(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    start, end = window_ahead(days=14)
    response = patch(client, page_code, headers, created["id"], scheduled_for=zulu(start),
                     scheduled_until=zulu(end), body="Moved to a quieter day.")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert instant(body["scheduled_for"]) == start
    assert [u["body"] for u in body["incident_updates"]][0] == "Moved to a quieter day."


@pytest.mark.parametrize("edges, field", [
    ("END_BEFORE_START", "scheduled_until"),
    ("PAST", "scheduled_until"),
    ("NOT_A_TIME", "scheduled_for"),
])
def test_a_bad_new_window_is_a_422_and_keeps_the_old_one(client, session, page_code, headers, edges, field):
    created = schedule(client, page_code, headers).get_json()
    start, end = window_ahead(days=12)
    asked = {"END_BEFORE_START": (zulu(end), zulu(start)),
             "PAST": (zulu(start - timedelta(days=30)), zulu(end - timedelta(days=30))),
             "NOT_A_TIME": ("next tuesday", zulu(end))}[edges]
    response = patch(client, page_code, headers, created["id"], scheduled_for=asked[0], scheduled_until=asked[1])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == field
    maintenance = stored(session, created["id"])
    assert maintenance.scheduled_for == instant(created["scheduled_for"])
    assert maintenance.scheduled_until == instant(created["scheduled_until"])


def test_a_reschedule_with_a_refused_update_saves_neither(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    start, end = window_ahead(days=12)
    response = patch(client, page_code, headers, created["id"], scheduled_for=zulu(start),
                     scheduled_until=zulu(end), status="investigating", body="?")
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "status"
    maintenance = stored(session, created["id"])
    assert maintenance.scheduled_for == instant(created["scheduled_for"])
    assert len(maintenance.updates) == 1


def test_a_completed_maintenance_cannot_be_rescheduled(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    assert patch(client, page_code, headers, created["id"], status="completed", body="Done early.").status_code == 200
    start, end = window_ahead(days=12)
    response = patch(client, page_code, headers, created["id"], scheduled_for=zulu(start), scheduled_until=zulu(end))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "status"
    assert stored(session, created["id"]).scheduled_for == instant(created["scheduled_for"])


def test_a_completed_maintenance_sent_back_as_read_is_accepted(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    done = patch(client, page_code, headers, created["id"], status="completed", body="Done early.").get_json()

    response = patch(client, page_code, headers, created["id"],
                     scheduled_for=done["scheduled_for"], scheduled_until=done["scheduled_until"])

    assert response.status_code == 200, response.get_json()
    assert stored(session, created["id"]).status == "completed"


def test_once_begun_only_the_end_moves(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    patch(client, page_code, headers, created["id"], status="in_progress", body="Started early.")
    start, end = window_ahead(days=12)
    moved_start = patch(client, page_code, headers, created["id"], scheduled_for=zulu(start))
    assert moved_start.status_code == 422
    assert moved_start.get_json()["error"]["field"] == "scheduled_for"
    original_start = instant(created["scheduled_for"])
    later = original_start + timedelta(hours=4)
    moved_end = patch(client, page_code, headers, created["id"], scheduled_until=zulu(later))
    assert moved_end.status_code == 200, moved_end.get_json()
    assert instant(moved_end.get_json()["scheduled_until"]) == later


def test_the_switches_are_fixed_once_scheduled(client, session, page_code, headers):
    created = schedule(client, page_code, headers).get_json()
    same = patch(client, page_code, headers, created["id"], body="Still on.", scheduled_auto_in_progress=True)
    assert same.status_code == 200, same.get_json()
    changed = patch(client, page_code, headers, created["id"], scheduled_auto_in_progress=False,
                    scheduled_auto_completed=False, auto_transition_to_maintenance_state=False,
                    auto_transition_to_operational_state=False)
    assert changed.status_code == 422
    assert changed.get_json()["error"]["field"] == "scheduled_auto_in_progress"
    assert stored(session, created["id"]).auto_transition is True


def test_an_incident_has_no_window_to_reschedule(client, session, page_code, headers):
    created = client.post(f"/api/v1/pages/{page_code}/incidents", headers=headers,
                          json={"incident": {"name": "Errors", "body": "Looking."}}).get_json()
    start, end = window_ahead()
    response = patch(client, page_code, headers, created["id"], scheduled_for=zulu(start), scheduled_until=zulu(end))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "scheduled_for"
