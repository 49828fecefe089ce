"""Rescheduling a maintenance window from its admin page, in the page's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from statuspage.db import utcnow
from statuspage.incidents import lifecycle, windows
from statuspage.models import AuditEntry, Incident, OutboxEvent
from tests.conftest import post_form
from tests.test_admin_incidents import (
    ACTOR,
    BERLIN,
    a_component,
    alert,
    an_incident,
    count,
    local_input,
    parse,
    reloaded,
)


def days_ahead_at(days: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A time `days` from today at a wall-clock hour in the page's time zone (aware)."""
    day = (datetime.now(BERLIN) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=BERLIN)


def upcoming_maintenance(session, start: datetime | None = None, hours: int = 2, **fields) -> Incident:
    """A maintenance scheduled now, for a window ahead (default: in three days at 10:00, Berlin)."""
    start = start or days_ahead_at(3, 10)
    maintenance = windows.schedule_maintenance(session, ACTOR, name="Database upgrade", body="Upgrading.",
                                                 scheduled_for=start, scheduled_until=start + timedelta(hours=hours),
                                                 **fields)
    session.commit()
    return maintenance


def reschedule_form(client, maintenance: Incident, start: str, end: str, **data):
    return post_form(client, f"/admin/incidents/{maintenance.code}/reschedule",
                     {"scheduled_for": start, "scheduled_until": end, **data})


def test_the_maintenance_page_shows_its_window_in_the_page_timezone(client, session, login_as):
    maintenance = upcoming_maintenance(session)
    login_as("responder")

    document = parse(client.get(f"/admin/incidents/{maintenance.code}"))

    [start] = document.xpath("//form[@id='reschedule']//input[@name='scheduled_for']")
    [end] = document.xpath("//form[@id='reschedule']//input[@name='scheduled_until']")
    assert start.get("value") == local_input(maintenance.scheduled_for)
    assert end.get("value") == local_input(maintenance.scheduled_until)
    assert start.get("readonly") is None
    assert document.xpath("//form[@id='reschedule']//input[@name='deliver_notifications']/@checked") == []


def test_a_responder_moves_the_window_in_the_page_timezone(client, session, login_as):
    maintenance = upcoming_maintenance(session)
    login_as("responder")
    start, end = days_ahead_at(5, 20), days_ahead_at(6, 9, 30)

    response = reschedule_form(client, maintenance, local_input(start), local_input(end))

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/incidents/{maintenance.code}")
    moved = reloaded(session, maintenance)
    assert (moved.scheduled_for, moved.scheduled_until) == (start, end)
    assert moved.status == "scheduled"
    assert len(moved.updates) == 1
    assert session.scalar(select(func.count()).where(AuditEntry.action == "maintenance.reschedule")) == 1


def test_subscribers_hear_of_a_new_window_only_when_the_box_is_ticked(client, session, login_as):
    maintenance = upcoming_maintenance(session)
    login_as("responder")
    before = count(session, OutboxEvent)

    reschedule_form(client, maintenance, local_input(days_ahead_at(4, 10)), local_input(days_ahead_at(4, 11)))
    assert count(session, OutboxEvent) == before
    reschedule_form(client, maintenance, local_input(days_ahead_at(5, 10)), local_input(days_ahead_at(5, 11)),
                    deliver_notifications="on")
    assert count(session, OutboxEvent) == before + 1


def test_once_begun_the_start_as_shown_keeps_its_exact_time_and_the_end_moves(client, session, login_as):
    website = a_component(session, "Website")
    start = utcnow().replace(microsecond=0) + timedelta(minutes=30, seconds=17)
    maintenance = upcoming_maintenance(session, start=start, component_codes=[website.code])
    lifecycle.post_update(session, ACTOR, maintenance, status="in_progress", body="Started early.")
    session.commit()
    login_as("responder")

    document = parse(client.get(f"/admin/incidents/{maintenance.code}"))
    assert document.xpath("//form[@id='reschedule']//input[@name='scheduled_for']/@readonly")
    new_end = start + timedelta(hours=5)
    response = reschedule_form(client, maintenance, local_input(start), local_input(new_end))

    assert response.status_code == 302, alert(response)
    moved = reloaded(session, maintenance)
    assert moved.scheduled_for == start
    assert moved.scheduled_until == new_end.replace(second=0)
    assert moved.status == "in_progress"


def test_it_refuses_a_window_that_ends_before_it_starts_and_keeps_the_old_one(client, session, login_as):
    maintenance = upcoming_maintenance(session)
    login_as("responder")

    response = reschedule_form(client, maintenance, local_input(days_ahead_at(5, 12)),
                               local_input(days_ahead_at(5, 11)))

    assert response.status_code == 422
    assert "end after it starts" in alert(response)
    # The form keeps what was typed.
    assert parse(response).xpath("//form[@id='reschedule']//input[@name='scheduled_for']/@value") == [
        local_input(days_ahead_at(5, 12))]
    unchanged = reloaded(session, maintenance)
    assert unchanged.scheduled_for == days_ahead_at(3, 10)


def test_it_refuses_a_window_that_is_already_over(client, session, login_as):
    maintenance = upcoming_maintenance(session)
    login_as("responder")

    response = reschedule_form(client, maintenance, local_input(days_ahead_at(-3, 10)),
                               local_input(days_ahead_at(-3, 12)))

    assert response.status_code == 422
    assert "already over" in alert(response)
    assert reloaded(session, maintenance).scheduled_for == days_ahead_at(3, 10)


def test_it_refuses_a_time_that_is_not_a_time(client, session, login_as):
    maintenance = upcoming_maintenance(session)
    login_as("responder")

    response = reschedule_form(client, maintenance, "next tuesday", local_input(days_ahead_at(5, 11)))

    assert response.status_code == 422
    assert alert(response)
    assert reloaded(session, maintenance).scheduled_until == days_ahead_at(3, 12)


def test_a_completed_maintenance_is_not_offered_and_cannot_be_rescheduled(client, session, login_as):
    maintenance = upcoming_maintenance(session)
    lifecycle.post_update(session, ACTOR, maintenance, status="completed", body="Done early.")
    session.commit()
    login_as("responder")

    assert parse(client.get(f"/admin/incidents/{maintenance.code}")).xpath("//form[@id='reschedule']") == []
    response = reschedule_form(client, maintenance, local_input(days_ahead_at(5, 10)),
                               local_input(days_ahead_at(5, 11)))

    assert response.status_code == 422
    assert "completed" in alert(response)
    assert reloaded(session, maintenance).scheduled_for == days_ahead_at(3, 10)


def test_an_incident_has_no_window_to_reschedule(client, session, login_as):
    incident = an_incident(session)
    login_as("responder")

    assert parse(client.get(f"/admin/incidents/{incident.code}")).xpath("//form[@id='reschedule']") == []
    response = reschedule_form(client, incident, local_input(days_ahead_at(5, 10)), local_input(days_ahead_at(5, 11)))

    assert response.status_code == 422
    assert reloaded(session, incident).scheduled_for is None


def test_an_outsider_cannot_reschedule(client, session):
    maintenance = upcoming_maintenance(session)

    response = reschedule_form(client, maintenance, local_input(days_ahead_at(5, 10)),
                               local_input(days_ahead_at(5, 11)))

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert reloaded(session, maintenance).scheduled_for == days_ahead_at(3, 10)
