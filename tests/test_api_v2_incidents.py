"""The public v2 lists of incidents and scheduled maintenances: which ones each endpoint shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_api_v2 import validator

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle, windows

ACTOR = Actor.system("test")
INCIDENT_LISTS = {"summary": "summary.json", "incidents": "incidents.json",
                  "incidents/unresolved": "incidents.json"}
MAINTENANCE_LISTS = {"summary": "summary.json", "scheduled-maintenances": "scheduled-maintenances.json",
                     "scheduled-maintenances/upcoming": "scheduled-maintenances.json",
                     "scheduled-maintenances/active": "scheduled-maintenances.json"}


def listed(client, app, endpoint: str, key: str, schema: str) -> list[tuple[str, str]]:
    """(name, status) of each item the endpoint lists under `key`, its body checked against the schema."""
    app.extensions["statuspage.public_cache"].clear()
    response = client.get(f"/api/v2/{endpoint}.json")
    assert response.status_code == 200
    body = response.get_json()
    validator(schema).validate(body)
    return [(item["name"], item["status"]) for item in body[key]]


@pytest.fixture
def two_incidents(session):
    database = catalog.create_component(session, ACTOR, "Database")
    now = utcnow()
    solved = lifecycle.open_incident(session, ACTOR, name="Login errors", body="Looking.",
                                     component_statuses={database.code: "partial_outage"},
                                     now=now - timedelta(hours=2))
    lifecycle.post_update(session, ACTOR, solved, status="resolved", body="Fixed.", now=now - timedelta(hours=1))
    lifecycle.open_incident(session, ACTOR, name="Slow queries", body="Looking.",
                            component_statuses={database.code: "degraded_performance"}, now=now)
    session.commit()


@pytest.mark.parametrize("endpoint, expected", [
    ("summary", [("Slow queries", "investigating")]),
    ("incidents/unresolved", [("Slow queries", "investigating")]),
    ("incidents", [("Slow queries", "investigating"), ("Login errors", "resolved")]),
])
def test_each_incident_list_shows_the_incidents_it_promises(client, app, two_incidents, endpoint, expected):
    assert listed(client, app, endpoint, "incidents", INCIDENT_LISTS[endpoint]) == expected


@pytest.fixture
def three_windows(session):
    storage = catalog.create_component(session, ACTOR, "Storage")
    now = utcnow()

    def window(name, start_in):
        return windows.schedule_maintenance(
            session, ACTOR, name=name, body="Planned.", scheduled_for=now + start_in,
            scheduled_until=now + start_in + timedelta(hours=2), component_codes=[storage.code], now=now)

    window("Storage upgrade", timedelta(days=2))
    started = window("CDN switch", -timedelta(minutes=30))
    windows.advance_maintenance(session, started, now)
    done = window("Old window", timedelta(hours=1))
    lifecycle.post_update(session, ACTOR, done, status="completed", body="Cancelled.", now=now)
    session.commit()


@pytest.mark.parametrize("endpoint, expected", [
    ("summary", {("Storage upgrade", "scheduled"), ("CDN switch", "in_progress")}),
    ("scheduled-maintenances/upcoming", {("Storage upgrade", "scheduled")}),
    ("scheduled-maintenances/active", {("CDN switch", "in_progress")}),
    ("scheduled-maintenances", {("Storage upgrade", "scheduled"), ("CDN switch", "in_progress"),
                                ("Old window", "completed")}),
])
def test_each_maintenance_list_shows_the_windows_it_promises(client, app, three_windows, endpoint, expected):
    items = listed(client, app, endpoint, "scheduled_maintenances", MAINTENANCE_LISTS[endpoint])
    assert len(items) == len(expected)
    assert set(items) == expected


@pytest.mark.parametrize("endpoint, key", [
    *[(endpoint, "incidents") for endpoint in INCIDENT_LISTS],
    *[(endpoint, "scheduled_maintenances") for endpoint in MAINTENANCE_LISTS],
])
def test_a_page_without_incidents_or_maintenance_lists_none(client, app, session, endpoint, key):
    schema = {**INCIDENT_LISTS, **MAINTENANCE_LISTS}[endpoint]
    assert listed(client, app, endpoint, key, schema) == []
