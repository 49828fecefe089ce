"""Overlapping incidents and maintenance give a component back to what the others still declare."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle, windows
from statuspage.models import ComponentStatus
from tests.probe_builders import a_probe

RESPONDER = Actor.system("admin", "responder@example.com")
OPERATIONAL = ComponentStatus.OPERATIONAL
UNDER_MAINTENANCE = ComponentStatus.UNDER_MAINTENANCE


@pytest.fixture
def now():
    return utcnow()


@pytest.fixture
def database(session):
    return catalog.create_component(session, RESPONDER, "Database cluster")


def an_incident(session, component, status, now, name="Elevated error rates"):
    return lifecycle.open_incident(session, RESPONDER, name=name, body="Investigating.",
                                   component_statuses={component.code: status}, now=now)


def declare(session, incident, component, status, now):
    lifecycle.post_update(session, RESPONDER, incident, status="identified", body="Update.",
                          component_statuses={component.code: status}, now=now)


def resolve(session, incident, now):
    lifecycle.post_update(session, RESPONDER, incident, status="resolved", body="Resolved.", now=now)


def a_started_maintenance(session, component, now, name="Database upgrade"):
    maintenance = windows.schedule_maintenance(
        session, RESPONDER, name=name, body="Upgrading.", scheduled_for=now - timedelta(minutes=1),
        scheduled_until=now + timedelta(hours=2), component_codes=[component.code], now=now)
    windows.advance_maintenance(session, maintenance, now)
    return maintenance


def complete(session, maintenance, now):
    lifecycle.post_update(session, RESPONDER, maintenance, status="completed", body="Done.", now=now)


def test_resolving_one_incident_keeps_the_status_another_still_declares(session, database, now):
    first = an_incident(session, database, "major_outage", now)
    second = an_incident(session, database, "partial_outage", now, name="Slow queries")

    resolve(session, first, now)
    assert database.status == ComponentStatus.PARTIAL_OUTAGE

    resolve(session, second, now)
    assert database.status == OPERATIONAL


def test_another_incident_holds_its_latest_declaration_not_its_worst(session, database, now):
    other = an_incident(session, database, "major_outage", now, name="Replica lag")
    declare(session, other, database, "degraded_performance", now + timedelta(minutes=5))
    resolving = an_incident(session, database, "partial_outage", now + timedelta(minutes=6))

    resolve(session, resolving, now + timedelta(minutes=10))

    assert database.status == ComponentStatus.DEGRADED_PERFORMANCE


def test_the_worst_of_several_other_declarations_wins(session, database, now):
    an_incident(session, database, "degraded_performance", now, name="Replica lag")
    an_incident(session, database, "major_outage", now, name="Disk full")
    resolving = an_incident(session, database, "partial_outage", now)

    resolve(session, resolving, now)

    assert database.status == ComponentStatus.MAJOR_OUTAGE


def test_an_incident_that_declared_the_component_operational_holds_nothing(session, database, now):
    other = an_incident(session, database, "major_outage", now, name="Replica lag")
    declare(session, other, database, "operational", now + timedelta(minutes=5))
    resolving = an_incident(session, database, "partial_outage", now + timedelta(minutes=6))

    resolve(session, resolving, now + timedelta(minutes=10))

    assert database.status == OPERATIONAL


def test_an_incident_resolved_during_maintenance_leaves_the_component_under_maintenance(
        session, database, now):
    incident = an_incident(session, database, "partial_outage", now)
    a_started_maintenance(session, database, now)

    resolve(session, incident, now)

    assert database.status == UNDER_MAINTENANCE


def test_a_completed_maintenance_leaves_an_incidents_declaration_in_place(session, database, now):
    maintenance = a_started_maintenance(session, database, now)
    an_incident(session, database, "major_outage", now + timedelta(minutes=5))

    complete(session, maintenance, now + timedelta(minutes=10))

    assert database.status == ComponentStatus.MAJOR_OUTAGE


def test_a_completed_maintenance_gives_back_the_status_from_before_its_window(session, database, now):
    catalog.update_component(session, RESPONDER, database, status="degraded_performance")
    maintenance = a_started_maintenance(session, database, now)
    assert database.status == UNDER_MAINTENANCE

    complete(session, maintenance, now + timedelta(minutes=10))

    assert database.status == ComponentStatus.DEGRADED_PERFORMANCE


def test_a_status_from_before_the_window_set_by_an_incident_resolved_since_is_not_brought_back(
        session, database, now):
    incident = an_incident(session, database, "partial_outage", now)
    maintenance = a_started_maintenance(session, database, now)
    resolve(session, incident, now + timedelta(minutes=5))

    complete(session, maintenance, now + timedelta(minutes=10))

    assert database.status == OPERATIONAL


def test_overlapping_maintenance_windows_hand_the_component_over(session, database, now):
    first = a_started_maintenance(session, database, now)
    second = a_started_maintenance(session, database, now, name="Kernel patches")

    complete(session, first, now + timedelta(minutes=10))
    assert database.status == UNDER_MAINTENANCE

    complete(session, second, now + timedelta(minutes=20))
    assert database.status == OPERATIONAL


def test_cancelling_a_window_that_never_began_leaves_the_component_alone(session, database, now):
    catalog.update_component(session, RESPONDER, database, status="degraded_performance")
    maintenance = windows.schedule_maintenance(
        session, RESPONDER, name="Later", body="Planned.", scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1), component_codes=[database.code], now=now)

    complete(session, maintenance, now)

    assert database.status == ComponentStatus.DEGRADED_PERFORMANCE


def a_failing_probe(session, component, now):
    probe = a_probe(session, component, now)
    probe.verdict = ComponentStatus.MAJOR_OUTAGE
    return probe


def test_probes_decide_for_the_components_they_watch_once_given_back(session, database, now):
    incident = an_incident(session, database, "partial_outage", now)
    a_failing_probe(session, database, now)

    resolve(session, incident, now)

    assert database.status == ComponentStatus.MAJOR_OUTAGE
    [update] = [u for u in incident.updates if u.status == "resolved"]
    assert update.affected_components[0]["new_status"] == "operational"  # what the incident gave back


def test_probes_decide_after_a_maintenance_too(session, database, now):
    maintenance = a_started_maintenance(session, database, now)
    a_failing_probe(session, database, now)

    complete(session, maintenance, now)

    assert database.status == ComponentStatus.MAJOR_OUTAGE


def test_a_pinned_component_keeps_what_the_incident_gave_back(session, database, now):
    incident = an_incident(session, database, "partial_outage", now)
    a_failing_probe(session, database, now)
    database.pinned = True

    resolve(session, incident, now)

    assert database.status == OPERATIONAL


def test_a_paused_probe_does_not_decide(session, database, now):
    incident = an_incident(session, database, "partial_outage", now)
    a_failing_probe(session, database, now).paused = True

    resolve(session, incident, now)

    assert database.status == OPERATIONAL
