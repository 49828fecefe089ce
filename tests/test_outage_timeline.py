"""The outage loop's rules: fast confirmation at the retry interval, the defaults' timeline, publishing only after
an outage has lasted, resolving by itself after good checks, and no incident storm from a flapping target."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuspage.db import utcnow
from statuspage.models import ComponentStatus, DraftState, Incident, IncidentDraft, OutboxEvent, Probe
from statuspage.probes import drafts, service
from statuspage.probes.base import CheckResult
from statuspage.probes.runner import claim_due, write_result
from tests.probe_builders import ACTOR, T0, a_component, a_probe, bad, good

MAJOR = ComponentStatus.MAJOR_OUTAGE
OPERATIONAL = ComponentStatus.OPERATIONAL


@pytest.fixture
def db(app):
    return app.extensions["statuspage.db"]


@pytest.fixture
def api(session):
    return a_component(session, "API")


class Schedule:
    """Runs a probe as the worker does: claim when due, write the result, read when it is due next."""

    def __init__(self, db, session, probe: Probe) -> None:
        self.db, self.session, self.probe = db, session, probe

    def check(self, result: CheckResult) -> Probe:
        with self.db.transaction() as tx:
            probe = tx.get(Probe, self.probe.id)
            [claim] = claim_due(tx, probe.next_run_at, 10)
        with self.db.transaction() as tx:
            write_result(tx, claim, result)
        self.session.expire_all()
        return self.session.get(Probe, self.probe.id)

    def run(self, *results: CheckResult) -> list:
        """The due times of each check run, and the probe after the last."""
        times = []
        for result in results:
            times.append(self.session.get(Probe, self.probe.id).next_run_at)
            self.check(result)
        return times


def new_probe(session, component, **fields) -> Probe:
    """A probe with the defaults a new user gets (only what the test names is set)."""
    values = {"name": "check", "kind": "http", "component_id": component.code, "target": "http://127.0.0.1:9/",
              **fields}
    probe = service.create_probe(session, ACTOR, values, T0)
    probe.next_run_at = T0
    session.commit()
    return probe


def test_the_defaults_confirm_an_outage_within_30_seconds_and_say_so():
    defaults = service.DEFAULTS
    assert (defaults["interval_seconds"], defaults["retry_interval_seconds"], defaults["failures_to_outage"]) == (
        20, 10, 2)
    assert service.detection_seconds(20, 10, 2) == 30


def test_a_failed_check_is_confirmed_at_the_retry_interval_then_the_interval_resumes(db, session, api):
    probe = new_probe(session, api)
    schedule = Schedule(db, session, probe)
    times = schedule.run(good(), bad(), bad(), good(), good(), good())
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    # good -> 20 s; the failure is confirmed 10 s later; down: checks every 10 s until recovered; then 20 s.
    assert gaps == [20, 10, 10, 10, 10]
    probe = session.get(Probe, probe.id)
    assert probe.component.status == OPERATIONAL
    assert (schedule.session.get(Probe, probe.id).next_run_at - times[-1]).total_seconds() == 20


def test_one_lost_check_does_not_flap_the_component(db, session, api):
    probe = new_probe(session, api, auto_incident="publish")
    Schedule(db, session, probe).run(good(), bad(), good(), good())
    assert session.get(Probe, probe.id).component.status == OPERATIONAL
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_target_that_flaps_every_check_opens_one_incident_and_emails_once(db, session, api):
    probe = new_probe(session, api, auto_incident="publish")
    Schedule(db, session, probe).run(*[bad() if i % 2 else good() for i in range(40)])
    # Never two failures in a row, but half of the last 10 checks failed: one outage, held.
    assert len(session.scalars(select(Incident)).all()) == 1
    firsts = [e for e in session.scalars(select(OutboxEvent)) if e.kind == "incident" and e.payload["first"]]
    assert len(firsts) == 1


def test_the_retry_interval_must_fit_in_the_interval(session, api):
    from statuspage.errors import InvalidInput
    with pytest.raises(InvalidInput) as caught:
        new_probe(session, api, interval_seconds=30, retry_interval_seconds=40)
    assert caught.value.field == "retry_interval_seconds"
    session.rollback()
    assert new_probe(session, api, interval_seconds=10).retry_interval_seconds == 10


# --- publish after N minutes, resolve after M minutes -----------------------------------------------------------


def down(session, probe, at):
    from statuspage.probes.rules import apply_check
    for i in range(probe.failures_to_outage):
        apply_check(session, probe, bad(), at + timedelta(seconds=10 * i))
    session.commit()
    return at + timedelta(seconds=10 * probe.failures_to_outage)


def up(session, probe, at):
    from statuspage.probes.rules import apply_check
    for i in range(probe.successes_to_recover):
        apply_check(session, probe, good(), at + timedelta(seconds=10 * i))
    session.commit()
    return at + timedelta(seconds=10 * probe.successes_to_recover)


def test_a_delayed_publish_tells_customers_only_once_the_outage_has_lasted(session, api):
    probe = a_probe(session, api, auto_incident="publish", publish_after_minutes=5)
    at = down(session, probe, T0)
    draft = session.scalars(select(IncidentDraft)).one()
    # Five minutes after the first failed check.
    assert draft.state == DraftState.OPEN and draft.publish_at == T0 + timedelta(minutes=5)
    assert drafts.publish_one_due(session, at + timedelta(minutes=4)) is None
    assert drafts.publish_one_due(session, draft.publish_at) is draft
    session.commit()
    incident = session.scalars(select(Incident)).one()
    assert draft.state == DraftState.PUBLISHED and incident.started_at == T0
    assert [c.code for c in incident.components] == [api.code]


def test_a_blip_shorter_than_the_delay_never_reaches_customers(session, api):
    probe = a_probe(session, api, auto_incident="publish", publish_after_minutes=5)
    at = up(session, probe, down(session, probe, T0))
    assert drafts.publish_one_due(session, at + timedelta(minutes=10)) is None
    assert session.scalars(select(IncidentDraft)).one().state == DraftState.RECOVERED
    assert session.scalar(select(func.count()).select_from(Incident)) == 0
    assert all(e.kind != "incident" for e in session.scalars(select(OutboxEvent)))


def test_auto_resolve_closes_the_incident_after_m_minutes_of_good_checks_with_a_plain_message(session, api):
    now = utcnow()  # after the component's creation, its first status change
    probe = a_probe(session, api, now, auto_incident="publish", auto_resolve_minutes=10)
    back = up(session, probe, down(session, probe, now))
    incident = session.scalars(select(Incident)).one()
    assert incident.status.value == "monitoring"
    assert drafts.resolve_one_recovered(session, back + timedelta(minutes=9)) is None
    assert drafts.resolve_one_recovered(session, back + timedelta(minutes=10)) is incident
    session.commit()
    assert incident.status.value == "resolved"
    newest = incident.updates[0]
    assert newest.body == "Checks on API have passed for 10 minutes. This incident is resolved."


def test_without_auto_resolve_a_responder_resolves(session, api):
    now = utcnow()
    probe = a_probe(session, api, now, auto_incident="publish")
    back = up(session, probe, down(session, probe, now))
    assert drafts.resolve_one_recovered(session, back + timedelta(days=1)) is None


def test_auto_resolve_waits_while_the_component_is_down_again(session, api):
    now = utcnow()  # after the component's creation, its first status change
    probe = a_probe(session, api, now, auto_incident="publish", auto_resolve_minutes=10)
    back = up(session, probe, down(session, probe, now))
    down(session, probe, back + timedelta(minutes=1))
    assert drafts.resolve_one_recovered(session, back + timedelta(hours=1)) is None
