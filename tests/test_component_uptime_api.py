"""Statuspage's component uptime endpoint, computed from the status history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from statuspage.audit import Actor
from statuspage.components import catalog, status_rules
from statuspage.db import utcnow
from statuspage.incidents import lifecycle
from statuspage.models import StatusChange

ACTOR = Actor.system("test")


@pytest.fixture
def database(session):
    """A component created 10 days ago that was down 2 h (major) and 10 h (partial) 3 days ago."""
    ten_days_ago = utcnow() - timedelta(days=10)
    component = catalog.create_component(session, ACTOR, "Database cluster")
    component.created_at = ten_days_ago
    for change in session.query(StatusChange).filter_by(component_id=component.id):
        change.at = ten_days_ago
    day = datetime.combine(date.today() - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    incident = lifecycle.open_incident(session, ACTOR, name="DB down", body="x", now=day + timedelta(hours=3),
                                       started_at=day + timedelta(hours=1),
                                       component_statuses={component.code: "major_outage"})
    status_rules.set_status(session, component, catalog.ComponentStatus.PARTIAL_OUTAGE, ACTOR,
                       at=day + timedelta(hours=5))
    lifecycle.post_update(session, ACTOR, incident, status="resolved", body="ok", now=day + timedelta(hours=15))
    for change in session.query(StatusChange).filter_by(component_id=component.id):
        if change.to_status == catalog.ComponentStatus.MAJOR_OUTAGE:
            change.at = day + timedelta(hours=3)
    session.commit()
    return component


def test_uptime_weights_outages_over_the_range(client, api_token, page_code, database):
    start = (date.today() - timedelta(days=5)).isoformat()
    response = client.get(f"/api/v1/pages/{page_code}/components/{database.code}/uptime?start={start}",
                          headers=api_token())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["major_outage"] == 2 * 3600
    assert body["partial_outage"] == 10 * 3600
    measured = 5 * 86400 + (utcnow() - datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC)).seconds
    expected = 100 * (1 - (2 * 3600 + 0.3 * 10 * 3600) / measured)
    assert body["uptime_percentage"] == pytest.approx(expected, abs=0.01)
    assert body["range_start"] == start and body["range_end"] == date.today().isoformat()
    assert [e["name"] for e in body["related_events"]["incidents"]] == ["DB down"]
    assert body["warnings"] == []


def test_a_range_before_the_component_existed_says_so(client, api_token, page_code, database):
    start = (date.today() - timedelta(days=30)).isoformat()
    body = client.get(f"/api/v1/pages/{page_code}/components/{database.code}/uptime?start={start}",
                      headers=api_token()).get_json()
    assert body["warnings"] and "Counting starts" in body["warnings"][0]


@pytest.mark.parametrize("query", ["start=2024-02-10&end=2024-01-01", "start=2022-01-01&end=2024-01-01",
                                   "start=yesterday", "end=2999-01-01"])
def test_ranges_that_make_no_sense_are_refused(client, api_token, page_code, database, query):
    response = client.get(f"/api/v1/pages/{page_code}/components/{database.code}/uptime?{query}",
                          headers=api_token())
    assert response.status_code == 400
    assert response.get_json()["message"]


def test_an_unknown_component_is_404(client, api_token, page_code):
    assert client.get(f"/api/v1/pages/{page_code}/components/nosuchthing0/uptime",
                      headers=api_token()).status_code == 404
