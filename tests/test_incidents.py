"""The incident and maintenance lifecycle, called directly with a session and an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.incidents import lifecycle, lookups, templates, windows
from statuspage.models import (
    AuditEntry,
    ComponentStatus,
    Impact,
    Incident,
    IncidentUpdate,
    OutboxEvent,
    Page,
    StatusChange,
)
from statuspage.tools.setup import setup_page
from statuspage.worker import Worker

NOW = datetime(2024, 8, 14, 14, 40, tzinfo=UTC)
RESPONDER = Actor.system("admin", "responder@example.com")


@pytest.fixture
def database(session):
    return catalog.create_component(session, RESPONDER, "Database cluster")


@pytest.fixture
def website(session):
    return catalog.create_component(session, RESPONDER, "Website")


def open_db_incident(session, database, **overrides):
    arguments = dict(
        name="Elevated error rates", body="We are investigating.",
        component_statuses={database.code: "major_outage"},
        started_at=NOW - timedelta(minutes=10), now=NOW,
    )
    arguments.update(overrides)
    return lifecycle.open_incident(session, RESPONDER, **arguments)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_opening_an_incident_sets_components_and_writes_the_first_update(session, database):
    incident = open_db_incident(session, database)
    session.commit()

    assert incident.status == "investigating"
    assert incident.impact == Impact.CRITICAL
    assert incident.started_at == NOW - timedelta(minutes=10)
    assert database.status == ComponentStatus.MAJOR_OUTAGE
    [update] = incident.updates
    assert update.affected_components == [{"code": database.code, "name": "Database cluster",
                                           "old_status": "operational", "new_status": "major_outage"}]
    change = session.scalars(select(StatusChange).where(StatusChange.to_status == "major_outage")).one()
    assert change.incident_id == incident.id
    assert change.cause == f"incident {incident.code}"


def test_impact_is_derived_from_component_statuses_unless_overridden(session, database, website):
    partial = open_db_incident(session, database, component_statuses={database.code: "partial_outage"})
    assert partial.impact == Impact.MAJOR
    overridden = open_db_incident(session, website, name="Slow pages", impact_override="minor",
                                  component_statuses={website.code: "major_outage"})
    assert overridden.impact == Impact.MINOR


@pytest.mark.parametrize("cleared", [None, ""])
def test_clearing_the_override_brings_back_the_impact_declared_over_the_incidents_life(
        session, database, website, cleared):
    incident = open_db_incident(session, database, impact_override="minor")
    lifecycle.post_update(session, RESPONDER, incident, status="identified", body="Found it.",
                          component_statuses={website.code: "degraded_performance"}, now=NOW)
    lifecycle.post_update(session, RESPONDER, incident, status="resolved", body="Fixed.", now=NOW)
    assert incident.impact == Impact.MINOR

    lifecycle.post_update(session, RESPONDER, incident, status="resolved", body="Impact corrected.",
                          impact_override=cleared, now=NOW)

    assert incident.impact_override is None
    assert incident.impact == Impact.CRITICAL  # the major outage declared first, not today's statuses


def test_an_override_of_none_is_kept_as_an_override(session, database):
    incident = open_db_incident(session, database)
    lifecycle.post_update(session, RESPONDER, incident, status="identified", body="Not customer facing.",
                          impact_override="none", now=NOW)
    assert (incident.impact_override, incident.impact) == (Impact.NONE, Impact.NONE)


def test_changing_details_clears_the_override_the_same_way(session, database):
    incident = open_db_incident(session, database, impact_override="minor")
    lifecycle.post_update(session, RESPONDER, incident, status="resolved", body="Fixed.", now=NOW)

    lifecycle.change_details(session, RESPONDER, incident, impact_override=None)

    assert incident.impact == Impact.CRITICAL


def test_resolving_returns_affected_components_to_operational(session, database):
    incident = open_db_incident(session, database)
    lifecycle.post_update(session, RESPONDER, incident, status="identified", body="Database cluster failed.",
                          now=NOW + timedelta(minutes=20))
    lifecycle.post_update(session, RESPONDER, incident, status="resolved", body="Recovered.",
                          now=NOW + timedelta(hours=4))

    assert database.status == ComponentStatus.OPERATIONAL
    assert incident.resolved_at == NOW + timedelta(hours=4)
    assert [u.status for u in incident.updates] == ["resolved", "identified", "investigating"]


def test_resolving_can_leave_components_as_they_are(session, database):
    incident = open_db_incident(session, database)
    lifecycle.post_update(session, RESPONDER, incident, status="resolved", body="Resolved; replica still down.",
                          restore_components=False, now=NOW + timedelta(hours=1))
    assert database.status == ComponentStatus.MAJOR_OUTAGE


def test_monitoring_time_is_kept_from_the_first_monitoring_update(session, database):
    incident = open_db_incident(session, database)
    first = NOW + timedelta(hours=1)
    lifecycle.post_update(session, RESPONDER, incident, status="monitoring", body="Fix deployed.", now=first)
    lifecycle.post_update(session, RESPONDER, incident, status="monitoring", body="Still watching.",
                          now=first + timedelta(minutes=30))
    assert incident.monitoring_at == first


@pytest.mark.parametrize("started_at, message", [
    (NOW + timedelta(hours=1), "future"),
    ("2024-08-14T14:30:00", "time zone"),
    ("yesterday", "ISO 8601"),
])
def test_it_refuses_a_start_time_in_the_future_or_without_a_zone(session, database, started_at, message):
    with pytest.raises(InvalidInput, match=message):
        open_db_incident(session, database, started_at=started_at)


@pytest.mark.parametrize("overrides, field", [
    ({"status": "postmortem"}, "status"),
    ({"status": "exploded"}, "status"),
    ({"impact_override": "catastrophic"}, "impact_override"),
    ({"body": "x" * 25_001}, "body"),
    ({"name": ""}, "name"),
    ({"component_statuses": {"nosuchcode": "major_outage"}}, "component_id"),
])
def test_it_refuses_bad_input_and_saves_nothing(session, database, overrides, field):
    session.commit()
    with pytest.raises((InvalidInput, NotFound)) as raised:
        open_db_incident(session, database, **overrides)
    assert raised.value.field == field or raised.value.field.startswith(field)
    session.rollback()
    assert count(session, Incident) == 0
    assert database.status == ComponentStatus.OPERATIONAL


@pytest.mark.parametrize("overrides, field, message", [
    ({"body": "Down\x00again"}, "body", "control characters"),
    ({"body": "Colour \x1b[31mred"}, "body", "control characters"),
    ({"body": "Bell\x07 and delete\x7f"}, "body", "control characters"),
    ({"body": "Broken \ud800 text"}, "body", "unpaired surrogates"),
    ({"name": "Broken \udfff name"}, "name", "unpaired surrogates"),
    ({"name": "Two\nlines"}, "name", "control characters"),
])
def test_text_no_database_can_store_is_refused_with_a_clear_message(session, database, overrides, field,
                                                                       message):
    with pytest.raises(InvalidInput, match=message) as raised:
        open_db_incident(session, database, **overrides)
    assert raised.value.field == field


def test_a_message_keeps_its_line_breaks_and_tabs(session, database):
    incident = open_db_incident(session, database, body="Steps:\r\n\t1. restart\n\t2. watch")
    session.commit()
    session.expire_all()
    assert incident.updates[0].body == "Steps:\r\n\t1. restart\n\t2. watch"


def test_updates_and_templates_refuse_control_characters_too(session, database):
    incident = open_db_incident(session, database)
    with pytest.raises(InvalidInput, match="control characters"):
        lifecycle.post_update(session, RESPONDER, incident, status="identified", body="x\x00", now=NOW)
    with pytest.raises(InvalidInput, match="control characters"):
        templates.save_template(session, RESPONDER, name="NUL", title="", body="x\x00")


def test_a_resolved_incident_cannot_jump_to_postmortem_by_an_update(session, database):
    incident = open_db_incident(session, database, status="resolved")
    with pytest.raises(InvalidInput, match="cannot become postmortem"):
        lifecycle.post_update(session, RESPONDER, incident, status="postmortem", body="x", now=NOW)


def test_a_resolved_incident_can_be_reopened(session, database):
    incident = open_db_incident(session, database)
    lifecycle.post_update(session, RESPONDER, incident, status="resolved", body="ok", now=NOW)
    lifecycle.post_update(session, RESPONDER, incident, status="investigating", body="It is back.",
                          component_statuses={database.code: "partial_outage"}, now=NOW + timedelta(minutes=5))
    assert incident.status == "investigating"
    assert incident.resolved_at is None
    assert database.status == ComponentStatus.PARTIAL_OUTAGE


def test_an_update_to_a_deleted_incident_is_not_found(session, database):
    incident = open_db_incident(session, database)
    code = incident.code
    lifecycle.delete_incident(session, RESPONDER, incident)
    session.commit()
    with pytest.raises(NotFound):
        lookups.get_incident(session, code)


def test_a_failure_half_way_leaves_nothing_behind(app, session, database, monkeypatch):
    """The incident, its update, the component status, history and version are one transaction."""
    session.commit()
    version_before = session.scalar(select(Page.version))
    changes_before = count(session, StatusChange)

    def explode(*_args, **_kwargs):
        raise RuntimeError("database went away after the first writes")

    monkeypatch.setattr(lifecycle.audit, "record", explode)
    db = app.extensions["statuspage.db"]
    with pytest.raises(RuntimeError), db.transaction() as other:
        code = catalog.get_component(other, database.code).code
        lifecycle.open_incident(other, RESPONDER, name="Half", body="x",
                                component_statuses={code: "major_outage"}, now=NOW)

    session.expire_all()
    assert count(session, Incident) == 0
    assert count(session, IncidentUpdate) == 0
    assert count(session, StatusChange) == changes_before
    assert session.scalar(select(Page.version)) == version_before
    assert catalog.get_component(session, database.code).status == ComponentStatus.OPERATIONAL


def outbox_fails(monkeypatch, after: int = 0) -> None:
    """Make queueing a notification fail, after `after` notifications went through."""
    real = lifecycle.queue.incident_event
    calls = []

    def fail(*args, **kwargs):
        calls.append(args)
        if len(calls) > after:
            raise RuntimeError("the outbox insert failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(lifecycle.queue, "incident_event", fail)


def saved_state(session, component, incident) -> tuple:
    """Everything one change writes: statuses, timeline, history, outbox and page version."""
    session.expire_all()
    fresh = lookups.get_incident(session, incident.code)
    return (fresh.status, fresh.impact, len(fresh.updates), catalog.get_component(session, component.code).status,
            count(session, StatusChange), count(session, OutboxEvent), session.scalar(select(Page.version)))


def test_an_update_whose_notification_fails_leaves_nothing_behind(app, session, database, website, monkeypatch):
    incident = open_db_incident(session, database)
    session.commit()
    before = saved_state(session, database, incident)
    outbox_fails(monkeypatch)

    with pytest.raises(RuntimeError), app.extensions["statuspage.db"].transaction() as other:
        lifecycle.post_update(other, RESPONDER, lookups.get_incident(other, incident.code), status="resolved",
                              body="Fixed.", component_statuses={website.code: "degraded_performance"}, now=NOW)

    assert saved_state(session, database, incident) == before
    assert catalog.get_component(session, website.code).status == ComponentStatus.OPERATIONAL


@pytest.mark.parametrize("clock, fail_after", [
    (NOW + timedelta(hours=1, minutes=1), 0),  # the window begins: its one notification fails
    (NOW + timedelta(days=1), 1),  # the whole window passed: the second edge's notification fails
])
def test_a_maintenance_transition_whose_notification_fails_leaves_nothing_behind(
        app, session, database, monkeypatch, clock, fail_after):
    maintenance = schedule(session, database)
    session.commit()
    before = saved_state(session, database, maintenance)
    outbox_fails(monkeypatch, after=fail_after)
    worker = Worker(app.extensions["statuspage.db"], clock=lambda: clock)

    with pytest.raises(RuntimeError):
        worker.handle_one_maintenance_transition()

    assert saved_state(session, database, maintenance) == before
    assert before[0] == "scheduled" and before[3] == ComponentStatus.OPERATIONAL


def test_every_change_is_audited_and_bumps_the_page_version(session, database):
    session.commit()
    before = session.scalar(select(Page.version))
    incident = open_db_incident(session, database)
    lifecycle.post_update(session, RESPONDER, incident, status="identified", body="Found it.", now=NOW)
    session.commit()
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_code == incident.code)).all()
    assert actions == ["incident.open", "incident.update"]
    assert session.scalar(select(Page.version)) > before


# --- maintenance ---------------------------------------------------------------------------------


def schedule(session, database, start_in=timedelta(hours=1), length=timedelta(hours=2), **overrides):
    arguments = dict(name="Database upgrade", body="Upgrading PostgreSQL.",
                     scheduled_for=NOW + start_in, scheduled_until=NOW + start_in + length,
                     component_codes=[database.code], now=NOW)
    arguments.update(overrides)
    return windows.schedule_maintenance(session, RESPONDER, **arguments)


def test_it_refuses_a_maintenance_that_ends_before_it_starts(session, database):
    with pytest.raises(InvalidInput, match="end after it starts"):
        schedule(session, database, length=-timedelta(minutes=5))


def test_it_refuses_a_maintenance_window_that_is_already_over(session, database):
    with pytest.raises(InvalidInput, match="already over"):
        schedule(session, database, start_in=-timedelta(hours=5))


def test_the_worker_moves_maintenance_across_its_window(app, session, database):
    maintenance = schedule(session, database)
    session.commit()
    clock = [NOW]
    worker = Worker(app.extensions["statuspage.db"], clock=lambda: clock[0])

    assert worker.run_once() == 0
    clock[0] = NOW + timedelta(hours=1, minutes=1)
    assert worker.run_once() == 1
    session.expire_all()
    assert lookups.get_incident(session, maintenance.code).status == "in_progress"
    assert catalog.get_component(session, database.code).status == ComponentStatus.UNDER_MAINTENANCE

    clock[0] = NOW + timedelta(hours=3, minutes=1)
    assert worker.run_once() == 1
    session.expire_all()
    finished = lookups.get_incident(session, maintenance.code)
    assert finished.status == "completed"
    assert [u.status for u in finished.updates] == ["completed", "in_progress", "scheduled"]
    assert catalog.get_component(session, database.code).status == ComponentStatus.OPERATIONAL


def test_a_window_missed_entirely_records_both_edges(app, session, database):
    maintenance = schedule(session, database)
    session.commit()
    worker = Worker(app.extensions["statuspage.db"], clock=lambda: NOW + timedelta(days=1))
    assert worker.run_once() == 1
    session.expire_all()
    assert [u.status for u in lookups.get_incident(session, maintenance.code).updates] == [
        "completed", "in_progress", "scheduled"]


def test_maintenance_without_auto_transition_waits_for_a_responder(app, session, database):
    maintenance = schedule(session, database, auto_transition=False)
    session.commit()
    worker = Worker(app.extensions["statuspage.db"], clock=lambda: NOW + timedelta(hours=2))
    assert worker.run_once() == 0
    lifecycle.post_update(session, RESPONDER, maintenance, status="in_progress", body="Starting now.",
                          now=NOW + timedelta(hours=2))
    assert database.status == ComponentStatus.UNDER_MAINTENANCE


def test_maintenance_cannot_go_back_to_scheduled_once_completed(session, database):
    maintenance = schedule(session, database)
    lifecycle.post_update(session, RESPONDER, maintenance, status="completed", body="Cancelled.", now=NOW)
    with pytest.raises(InvalidInput, match="cannot become scheduled"):
        lifecycle.post_update(session, RESPONDER, maintenance, status="scheduled", body="Again", now=NOW)


def version(session) -> int:
    return session.scalar(select(Page.version))


def reschedule_actions(session, maintenance) -> list[str]:
    return session.scalars(select(AuditEntry.action).where(
        AuditEntry.target_code == maintenance.code, AuditEntry.action == "maintenance.reschedule")).all()


def test_a_scheduled_maintenance_moves_both_edges_without_a_new_update(session, database):
    maintenance = schedule(session, database)
    session.commit()
    before = version(session)
    later_start, later_end = NOW + timedelta(days=1), NOW + timedelta(days=1, hours=3)

    windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=later_start.isoformat(),
                                     scheduled_until=later_end, now=NOW)
    session.commit()

    assert (maintenance.scheduled_for, maintenance.scheduled_until) == (later_start, later_end)
    assert maintenance.started_at == later_start
    assert [u.status for u in maintenance.updates] == ["scheduled"]
    assert reschedule_actions(session, maintenance) == ["maintenance.reschedule"]
    assert version(session) == before + 1
    assert count(session, OutboxEvent) == 1  # only the scheduling's own notification


def test_the_worker_follows_the_rescheduled_window(app, session, database):
    maintenance = schedule(session, database)
    windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=NOW + timedelta(hours=5),
                                     scheduled_until=NOW + timedelta(hours=6), now=NOW)
    session.commit()
    clock = [NOW + timedelta(hours=2)]
    worker = Worker(app.extensions["statuspage.db"], clock=lambda: clock[0])

    assert worker.run_once() == 0
    clock[0] = NOW + timedelta(hours=5, minutes=1)
    assert worker.run_once() == 1


def test_rescheduling_to_the_same_window_records_nothing(session, database):
    maintenance = schedule(session, database)
    session.commit()
    before = version(session)

    windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=maintenance.scheduled_for,
                                     scheduled_until=maintenance.scheduled_until.astimezone(
                                         timezone(timedelta(hours=2))).isoformat(), now=NOW)
    session.commit()

    assert reschedule_actions(session, maintenance) == []
    assert version(session) == before


@pytest.mark.parametrize("start_in, length, message", [
    (timedelta(hours=2), -timedelta(minutes=1), "end after it starts"),
    (timedelta(hours=2), timedelta(days=31), "at most 30 days"),
    (timedelta(days=400), timedelta(hours=1), "a year ahead"),
    (-timedelta(hours=3), timedelta(hours=1), "already over"),
    ("tomorrow", timedelta(hours=1), "ISO 8601"),
])
def test_a_reschedule_is_checked_like_a_schedule(session, database, start_in, length, message):
    maintenance = schedule(session, database)
    session.commit()
    start = NOW + start_in if isinstance(start_in, timedelta) else start_in
    end = (start if isinstance(start, datetime) else NOW) + length
    with pytest.raises(InvalidInput, match=message):
        windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=start,
                                         scheduled_until=end, now=NOW)
    session.rollback()
    assert maintenance.scheduled_for == NOW + timedelta(hours=1)
    assert reschedule_actions(session, maintenance) == []


def test_a_maintenance_in_progress_may_only_move_its_end(session, database):
    maintenance = schedule(session, database, start_in=-timedelta(minutes=5))
    windows.advance_maintenance(session, maintenance, NOW)
    start = maintenance.scheduled_for

    with pytest.raises(InvalidInput, match="only scheduled_until") as raised:
        windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=start + timedelta(hours=1),
                                         scheduled_until=NOW + timedelta(hours=4), now=NOW)
    assert raised.value.field == "scheduled_for"
    with pytest.raises(InvalidInput, match="already over"):
        windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=start,
                                         scheduled_until=NOW - timedelta(minutes=1), now=NOW)

    windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=start,
                                     scheduled_until=NOW + timedelta(hours=4), now=NOW)
    assert maintenance.scheduled_until == NOW + timedelta(hours=4)
    assert maintenance.status == "in_progress"
    assert maintenance.started_at == NOW


def test_a_completed_maintenance_cannot_be_rescheduled(session, database):
    maintenance = schedule(session, database)
    lifecycle.post_update(session, RESPONDER, maintenance, status="completed", body="Cancelled.", now=NOW)
    with pytest.raises(InvalidInput, match="completed maintenance"):
        windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=NOW + timedelta(days=1),
                                         scheduled_until=NOW + timedelta(days=1, hours=1), now=NOW)


def test_an_incident_has_no_window_to_reschedule(session, database):
    incident = open_db_incident(session, database)
    with pytest.raises(InvalidInput, match="Only a maintenance"):
        windows.reschedule_maintenance(session, RESPONDER, incident, scheduled_for=NOW + timedelta(days=1),
                                         scheduled_until=NOW + timedelta(days=1, hours=1), now=NOW)


def test_a_notified_reschedule_sends_the_latest_update_with_the_new_window(session, database):
    maintenance = schedule(session, database, deliver_notifications=False)
    later = NOW + timedelta(days=2)

    windows.reschedule_maintenance(session, RESPONDER, maintenance, scheduled_for=later,
                                     scheduled_until=later + timedelta(hours=1), deliver_notifications=True,
                                     now=NOW)
    session.commit()

    [event] = session.scalars(select(OutboxEvent)).all()
    assert event.payload["update"] == maintenance.updates[0].code
    assert event.payload["scheduled_for"] == later.isoformat()
    assert event.payload["first"] is False


def test_page_impacts_include_open_incidents_and_active_maintenance(session, database, website):
    schedule(session, website, start_in=-timedelta(minutes=5))
    assert lookups.page_impacts(session) == []
    maintenance = lookups.maintenances(session, [lifecycle.MaintenanceStatus.SCHEDULED])[0]
    windows.advance_maintenance(session, maintenance, NOW)
    assert lookups.page_impacts(session) == ["maintenance"]
    open_db_incident(session, database)
    assert sorted(lookups.page_impacts(session)) == ["critical", "maintenance"]


def test_a_new_page_starts_with_the_default_templates_once(session):
    names = [t.name for t in templates.list_templates(session)]
    assert names == ["Fix deployed, monitoring", "Investigating elevated error rates"]
    assert templates.seed_templates(session, RESPONDER) == 0
    setup_page(session, "Acme", "Europe/Berlin")
    assert len(templates.list_templates(session)) == len(templates.DEFAULT_TEMPLATES)
    with pytest.raises(Conflict, match="already exists"):
        templates.save_template(session, RESPONDER, name="fix deployed, MONITORING", title="", body="x")


def test_seeding_fills_in_only_the_missing_templates_and_audits_the_command(session):
    [gone] = [t for t in templates.list_templates(session) if t.name == "Fix deployed, monitoring"]
    templates.delete_template(session, RESPONDER, gone)
    assert templates.seed_templates(session, RESPONDER) == 1
    saved = session.scalars(select(AuditEntry.action).where(AuditEntry.action == "template.save")).all()
    assert saved == ["template.save"]


def test_a_template_keeps_its_components_and_whether_it_notifies(session, database, website):
    template = templates.save_template(session, RESPONDER, name="Database down", title="Database outage",
                                       body="The database is down.", component_ids=[database.code, website.code,
                                                                                     database.code],
                                       should_send_notifications="false")
    session.commit()
    session.expire_all()
    template = templates.get_template(session, template.code)
    assert template.component_ids == [database.code, website.code]
    assert template.should_send_notifications is False


def test_a_template_notifies_and_names_no_components_by_default(session):
    template = templates.save_template(session, RESPONDER, name="Generic", title="", body="Looking into it.")
    assert (template.component_ids, template.should_send_notifications) == ([], True)


@pytest.mark.parametrize("fields, field, message", [
    ({"component_ids": ["nosuchcompo"]}, "component_ids", "No component"),
    ({"component_ids": "abc"}, "component_ids", "list of component ids"),
    ({"component_ids": [1, 2]}, "component_ids", "list of component ids"),
    ({"should_send_notifications": "maybe"}, "should_send_notifications", "true or false"),
])
def test_a_template_with_bad_components_or_notification_flag_is_refused(session, fields, field, message):
    session.commit()
    with pytest.raises(InvalidInput, match=message) as raised:
        templates.save_template(session, RESPONDER, name="Bad", title="", body="x", **fields)
    assert raised.value.field == field
    session.rollback()
    defaults = sorted(name for name, *_rest in templates.DEFAULT_TEMPLATES)
    assert [t.name for t in templates.list_templates(session)] == defaults
