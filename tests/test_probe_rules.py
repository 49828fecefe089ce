"""How checks become component status: hysteresis, failure rate, combining, pinning, history, incidents."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from statuspage.components import catalog
from statuspage.errors import Conflict
from statuspage.incidents import lifecycle, lookups
from statuspage.models import ComponentStatus, Incident, IncidentDraft, Probe
from statuspage.probes import drafts, service
from statuspage.probes.base import CheckResult
from statuspage.probes.rules import apply_check
from tests.probe_builders import ACTOR, T0, a_component, a_probe, bad, changes_of, checks_of, good, minutes, slow

OPERATIONAL = ComponentStatus.OPERATIONAL
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE
MAJOR = ComponentStatus.MAJOR_OUTAGE


class Feed:
    """Applies results to a probe one minute apart, as the worker would, and reads the component back."""

    def __init__(self, session, probe: Probe, start: datetime = T0) -> None:
        self.session, self.probe, self.at = session, probe, start

    def __call__(self, *results: CheckResult) -> ComponentStatus:
        for result in results:
            apply_check(self.session, self.probe, result, self.at)
            self.session.commit()
            self.at += minutes(1)
        self.session.expire_all()
        return self.probe.component.status


@pytest.fixture
def api(session):
    return a_component(session, "API")


def feed_for(session, component, **fields) -> Feed:
    fields.setdefault("auto_incident", "off")
    return Feed(session, a_probe(session, component, **fields))


# --- one probe ----------------------------------------------------------------------------------------


def test_n_failures_in_a_row_take_the_component_to_the_probes_outage_status(session, api):
    feed = feed_for(session, api, failures_to_outage=3, outage_status="partial_outage")
    assert feed(bad(), bad()) == OPERATIONAL
    assert feed(bad()) == PARTIAL
    assert feed.probe.verdict == PARTIAL and feed.probe.state.value == "down"


def test_a_good_check_breaks_the_failure_streak(session, api):
    feed = feed_for(session, api, failures_to_outage=3, failure_rate_window=10)
    assert feed(bad(), bad(), good(), bad(), bad(), good()) == OPERATIONAL


def test_recovery_needs_m_good_checks_in_a_row(session, api):
    feed = feed_for(session, api, failures_to_outage=2, successes_to_recover=3)
    assert feed(bad(), bad()) == MAJOR
    assert feed(good(), good(), bad(), good(), good()) == MAJOR
    assert feed(good()) == OPERATIONAL


def test_n_slow_checks_are_degraded_and_m_good_ones_recover(session, api):
    feed = feed_for(session, api, slow_to_degrade=3, successes_to_recover=2)
    assert feed(slow(), slow()) == OPERATIONAL
    assert feed(slow()) == DEGRADED
    assert feed(good(), slow(), good()) == DEGRADED
    assert feed(good()) == OPERATIONAL


def test_failures_count_towards_slowness_so_a_flapping_target_is_at_least_degraded(session, api):
    feed = feed_for(session, api, slow_to_degrade=3, failures_to_outage=5, failure_rate_window=20)
    assert feed(slow(), bad(), slow()) == DEGRADED


def test_a_failure_rate_over_the_window_is_an_outage_without_n_in_a_row(session, api):
    feed = feed_for(session, api, failures_to_outage=5, failure_rate_window=4, failure_rate_threshold=0.5,
                    slow_to_degrade=10)
    assert feed(bad(), good(), bad(), good()) == OPERATIONAL
    assert feed(bad()) == MAJOR


def test_an_outage_from_the_failure_rate_starts_at_the_earliest_failure_of_the_window(session, api):
    feed = feed_for(session, api, failures_to_outage=5, failure_rate_window=7, failure_rate_threshold=0.5,
                    slow_to_degrade=10, auto_incident="draft")
    assert feed(good(), good(), good()) == OPERATIONAL  # 12:00-12:02, before the window
    assert feed(bad(), good(), bad(), good(), bad(), good()) == OPERATIONAL  # from 12:03, every other fails
    assert feed(bad()) == MAJOR  # 12:09: 4 of the last 7 failed
    [draft] = drafts.open_drafts(session)
    assert draft.started_at == T0 + minutes(3)


def test_the_failure_rate_needs_a_full_window(session, api):
    feed = feed_for(session, api, failures_to_outage=5, failure_rate_window=6, failure_rate_threshold=0.5,
                    slow_to_degrade=10)
    assert feed(bad(), good(), bad()) == OPERATIONAL


def test_an_outage_that_is_up_but_slow_steps_down_to_degraded(session, api):
    feed = feed_for(session, api, failures_to_outage=2, successes_to_recover=2)
    assert feed(bad(), bad()) == MAJOR
    assert feed(slow()) == MAJOR
    assert feed(slow()) == DEGRADED
    assert feed(good(), good()) == OPERATIONAL


# --- history ------------------------------------------------------------------------------------------


def test_every_change_is_a_history_row_naming_the_probe_and_the_check(session, api):
    feed = feed_for(session, api, failures_to_outage=2, successes_to_recover=1)
    feed(bad(), bad(), good())
    checks = checks_of(session, feed.probe)
    changes = changes_of(session, api)[1:]
    assert [(c.from_status, c.to_status) for c in changes] == [(OPERATIONAL, MAJOR), (MAJOR, OPERATIONAL)]
    assert [c.cause for c in changes] == [f"probe {feed.probe.code}, check {checks[1].id}",
                                          f"probe {feed.probe.code}, check {checks[2].id}"]
    assert {c.source for c in changes} == {"probe"}
    assert changes[0].at == checks[1].at


def test_a_manual_status_stands_until_the_probes_verdict_changes(session, api):
    feed = feed_for(session, api, failures_to_outage=2)
    catalog.update_component(session, ACTOR, api, status="partial_outage")
    session.commit()
    assert feed(good(), good(), bad()) == PARTIAL
    assert feed(bad()) == MAJOR


# --- several probes -------------------------------------------------------------------------------------


def test_several_probes_on_a_component_combine_to_the_worst(session, api):
    down = feed_for(session, api, name="errors", failures_to_outage=1, successes_to_recover=1)
    sluggish = feed_for(session, api, name="latency", slow_to_degrade=1, successes_to_recover=1)
    assert down(bad()) == MAJOR
    assert sluggish(slow()) == MAJOR
    assert down(good()) == DEGRADED
    assert sluggish(good()) == OPERATIONAL


def test_probes_of_other_components_do_not_count(session, api):
    web = a_component(session, "Web")
    feed_for(session, web, failures_to_outage=1)(bad())
    assert feed_for(session, api, failures_to_outage=1)(good()) == OPERATIONAL


def test_pausing_or_deleting_a_failing_probe_lets_the_component_follow_the_others(session, api):
    failing = feed_for(session, api, name="a", failures_to_outage=1)
    healthy = feed_for(session, api, name="b")
    healthy(good())
    assert failing(bad()) == MAJOR
    service.update_probe(session, ACTOR, failing.probe, {"paused": True}, T0 + minutes(5))
    session.commit()
    session.expire_all()
    assert api.status == OPERATIONAL
    assert changes_of(session, api)[-1].cause == f"probe {failing.probe.code} paused"
    service.update_probe(session, ACTOR, failing.probe, {"paused": False}, T0 + minutes(6))
    assert failing(bad()) == MAJOR
    service.delete_probe(session, ACTOR, failing.probe, T0 + minutes(10))
    session.commit()
    session.expire_all()
    assert api.status == OPERATIONAL


# --- pinning and maintenance ------------------------------------------------------------------------------


def test_a_pinned_component_records_checks_but_keeps_its_status(session, api):
    feed = feed_for(session, api, failures_to_outage=1)
    service.pin_component(session, ACTOR, api, True, T0)
    session.commit()
    assert feed(bad(), bad()) == OPERATIONAL
    assert feed.probe.verdict == MAJOR and len(checks_of(session, feed.probe)) == 2
    assert len(changes_of(session, api)) == 1
    service.pin_component(session, ACTOR, api, False, T0 + minutes(5))
    session.commit()
    session.expire_all()
    assert api.status == MAJOR
    assert changes_of(session, api)[-1].cause == "probes (unpinned by test)"


def test_a_component_under_maintenance_keeps_its_status(session, api):
    feed = feed_for(session, api, failures_to_outage=1)
    catalog.update_component(session, ACTOR, api, status="under_maintenance")
    session.commit()
    assert feed(bad()) == ComponentStatus.UNDER_MAINTENANCE


# --- incidents probes open ----------------------------------------------------------------------------------


def test_a_draft_proposes_an_incident_started_at_the_first_failing_check(session, api):
    feed = feed_for(session, api, failures_to_outage=3, auto_incident="draft")
    feed(good(), bad(), bad(), bad())
    [draft] = drafts.open_drafts(session)
    assert draft.name == "Elevated errors on API" and draft.status == MAJOR
    assert draft.started_at == T0 + minutes(1)
    assert session.scalars(select(Incident)).all() == []
    assert feed(slow(), slow()) == DEGRADED  # not recovered: the draft still waits
    assert feed(bad(), bad(), bad()) == MAJOR
    assert drafts.open_drafts(session) == [draft]  # no second draft for the same trouble

    incident = drafts.publish_draft(session, ACTOR, draft, T0 + minutes(20))
    session.commit()
    assert incident.started_at == T0 + minutes(1)
    assert incident.status == "investigating" and [c.code for c in incident.components] == [api.code]
    with pytest.raises(Conflict):
        drafts.publish_draft(session, ACTOR, draft, T0 + minutes(21))


def test_a_draft_can_be_dismissed(session, api):
    feed_for(session, api, failures_to_outage=1, auto_incident="draft")(bad())
    [draft] = drafts.open_drafts(session)
    drafts.dismiss_draft(session, ACTOR, draft)
    session.commit()
    assert drafts.open_drafts(session) == []


def test_publish_opens_the_incident_at_once_and_posts_monitoring_on_recovery(session, api):
    feed = feed_for(session, api, failures_to_outage=2, successes_to_recover=2, auto_incident="publish")
    feed(bad(), bad())
    [incident] = lookups.unresolved_incidents(session)
    assert incident.name == "Elevated errors on API" and incident.started_at == T0
    assert incident.impact.value == "critical"
    feed(good(), good())
    incident = lookups.get_incident(session, incident.code)
    assert [u.status for u in incident.updates] == ["monitoring", "investigating"]
    assert "passing" in incident.updates[0].body
    assert incident.status == "monitoring"  # a human resolves it


def test_publish_posts_monitoring_when_recovery_passes_through_degraded_performance(session, api):
    feed = feed_for(session, api, failures_to_outage=2, successes_to_recover=2, auto_incident="publish")
    feed(bad(), bad())
    assert feed(slow(), slow()) == DEGRADED  # up again but slow: the outage steps down
    [incident] = lookups.unresolved_incidents(session)
    assert [u.status for u in lookups.get_incident(session, incident.code).updates] == ["investigating"]
    assert feed(good(), good()) == OPERATIONAL
    incident = lookups.get_incident(session, incident.code)
    assert [u.status for u in incident.updates] == ["monitoring", "investigating"]
    assert incident.status == "monitoring"


def test_a_draft_still_waiting_when_the_component_recovers_is_set_aside_as_recovered(session, api):
    feed = feed_for(session, api, failures_to_outage=1, successes_to_recover=2, auto_incident="draft")
    feed(bad())
    [draft] = drafts.open_drafts(session)
    feed(good(), good())
    session.expire_all()
    assert drafts.open_drafts(session) == [] and draft.state == "recovered"
    assert drafts.recovered_drafts(session, T0 + minutes(10)) == [draft]
    assert drafts.recovered_drafts(session, T0 + minutes(60 * 25)) == []  # the admin lists them for a day
    with pytest.raises(Conflict, match="already recovered"):
        drafts.publish_draft(session, ACTOR, draft, T0 + minutes(10))
    assert lookups.unresolved_incidents(session) == []
    feed(bad())  # a new outage proposes a new incident
    assert [d.state for d in drafts.open_drafts(session)] == ["open"]


def test_no_second_incident_while_one_is_open_for_the_component(session, api):
    lifecycle.open_incident(session, ACTOR, name="Known problem", body="", component_codes=[api.code], now=T0)
    session.commit()
    feed_for(session, api, failures_to_outage=1, auto_incident="publish")(bad())
    assert [i.name for i in lookups.unresolved_incidents(session)] == ["Known problem"]
    assert session.scalars(select(IncidentDraft)).all() == []


def test_off_opens_nothing_and_degradation_alone_opens_nothing(session, api):
    feed_for(session, api, failures_to_outage=1, auto_incident="off")(bad())
    feed_for(session, a_component(session, "Web"), slow_to_degrade=1, auto_incident="publish")(slow())
    assert session.scalars(select(IncidentDraft)).all() == []
    assert lookups.unresolved_incidents(session) == []


def test_a_component_with_a_long_name_still_gets_an_incident_that_fits(session):
    long = a_component(session, "X" * 250)
    feed_for(session, long, failures_to_outage=1, auto_incident="publish")(bad())
    [incident] = lookups.unresolved_incidents(session)
    assert len(incident.name) == 255 and incident.name.endswith("…")
