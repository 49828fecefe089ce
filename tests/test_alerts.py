"""Alerts to responders: each event reaches the routes listening to it through real local receivers (a signed
webhook, Slack, PagerDuty's Events API, email), retried through the outbox; no route, no alert."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from statuspage.db import utcnow
from statuspage.incidents import lifecycle
from statuspage.models import AlertChannel, DeliveryStatus, EventKind, Incident, IncidentDraft, OutboxEvent
from statuspage.notify import alert_routes, webhooks
from statuspage.outbound.guard import Policy
from statuspage.postmortems import action_items
from statuspage.probes import drafts
from statuspage.probes.rules import apply_check
from tests.channel_builders import ACTOR, deliveries, subscribe, worker
from tests.probe_builders import a_component, a_probe, bad, good

ROUTING_KEY = "R0123456789abcdef0123456789ABCDE"
PROBE_POLICY = Policy()


@pytest.fixture
def clock():
    return [utcnow()]


@pytest.fixture
def alert_settings(smtp_settings, chat_receiver):
    """Settings whose PagerDuty Events API is a local receiver (`alert_settings.pagerduty`)."""
    pagerduty = chat_receiver("pagerduty", "/v2/enqueue")
    settings = dataclasses.replace(smtp_settings, pagerduty_events_url=pagerduty.url)
    return settings, pagerduty


@pytest.fixture
def pagerduty(alert_settings):
    return alert_settings[1]


@pytest.fixture
def run(mail_app, alert_settings, clock):
    return worker(mail_app, alert_settings[0], clock).run_once


def a_route(session, kind: str, target: str, events=None, name: str = "On call") -> AlertChannel:
    route = alert_routes.create_route(session, ACTOR, name=name, kind=kind, target=target, events=events,
                                      policy=PROBE_POLICY, now=utcnow())
    session.commit()
    return route


def fail_until_down(session, probe, clock) -> None:
    """Two failed checks ten seconds apart: the defaults' confirmed outage."""
    for _ in range(probe.failures_to_outage):
        apply_check(session, probe, bad("connection refused"), clock[0])
        session.commit()
        clock[0] += timedelta(seconds=10)


def recover(session, probe, clock) -> None:
    for _ in range(probe.successes_to_recover):
        apply_check(session, probe, good(), clock[0])
        session.commit()
        clock[0] += timedelta(seconds=10)


@pytest.fixture
def api(session):
    return a_component(session, "API")


def test_a_probe_draft_alerts_the_routes_listening_with_a_signed_json_and_a_link_to_review_it(
        session, api, chat_receiver, run, clock):
    hook = chat_receiver("webhook")
    slack = chat_receiver("slack")
    route = a_route(session, "webhook", hook.url, ["draft_proposed"])
    a_route(session, "slack", slack.url, ["incident_resolved"], name="Resolutions only")
    probe = a_probe(session, api, now=clock[0])

    fail_until_down(session, probe, clock)
    run()

    [draft] = session.scalars(select(IncidentDraft)).all()
    [received] = hook.delivered
    assert hook.problems == [] and slack.requests == []
    assert webhooks.verify(route.secret, received.headers["X-Statuspage-Signature"], received.body, int(time.time()))
    body = received.json()
    assert body["event"] == "draft_proposed"
    assert body["draft"]["id"] == draft.code and body["draft"]["state"] == "open"
    assert body["component"]["id"] == api.code and body["component"]["status"] == "major_outage"
    assert body["page"]["status_indicator"] in ("major", "critical")
    assert body["alert"]["url"] == f"http://status.test/admin/drafts/{draft.code}"
    assert "API is down" in body["alert"]["title"]


def test_no_route_means_no_alert_event_at_all(session, api, run, clock):
    probe = a_probe(session, api, now=clock[0])
    fail_until_down(session, probe, clock)
    assert session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.kind == EventKind.ALERT)) == 0


def test_pagerduty_is_triggered_by_the_draft_and_resolved_with_the_incident_it_became_under_one_dedup_key(
        session, api, pagerduty, run, clock):
    a_route(session, "pagerduty", ROUTING_KEY)
    probe = a_probe(session, api, now=clock[0])
    fail_until_down(session, probe, clock)
    run()
    draft = session.scalars(select(IncidentDraft)).one()
    incident = drafts.publish_draft(session, ACTOR, draft, clock[0])
    session.commit()
    run()
    lifecycle.post_update(session, ACTOR, incident, status="resolved", body="Fixed.", now=clock[0])
    session.commit()
    run()

    assert pagerduty.problems == []
    events = [(p["event_action"], p["dedup_key"]) for p in pagerduty.payloads()]
    key = f"statuspage-draft-{draft.code}"
    # The component's own moves are told too (probes moved it, not an incident update): their key is the component's.
    assert [e for e in events if e[1] == key] == [("trigger", key), ("trigger", key), ("resolve", key)]
    trigger = next(p for p in pagerduty.payloads() if p["dedup_key"] == key)
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["source"] == "status.test"
    assert trigger["links"][0]["href"].endswith(f"/admin/drafts/{draft.code}")


def test_a_pagerduty_429_waits_for_its_retry_after_without_spending_an_attempt(
        session, api, pagerduty, run, clock):
    a_route(session, "pagerduty", ROUTING_KEY, ["incident_opened"])
    pagerduty.answers = [(429, {"Retry-After": "30"}, b'{"status": "throttle event"}')]
    lifecycle.open_incident(session, ACTOR, name="Checkout fails", body="Looking.", now=clock[0])
    session.commit()

    run()
    [delivery] = deliveries(session)
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 0
    assert delivery.next_attempt_at >= clock[0] + timedelta(seconds=29)

    clock[0] += timedelta(seconds=31)
    run()
    [delivery] = deliveries(session)
    assert delivery.status == DeliveryStatus.SENT
    assert [p["event_action"] for p in pagerduty.payloads()] == ["trigger"]


def test_a_pagerduty_400_fails_for_good_and_a_500_is_retried(session, api, pagerduty, run, clock):
    a_route(session, "pagerduty", ROUTING_KEY, ["incident_opened"])
    pagerduty.answers = [(400, {}, b'{"status": "invalid event"}'), (500, {}, b"")]
    for name in ("First", "Second"):
        lifecycle.open_incident(session, ACTOR, name=name, body="Looking.", now=clock[0])
    session.commit()
    run()
    statuses = sorted(d.status.value for d in deliveries(session))
    assert statuses == ["failed", "retrying"]


def test_a_receiver_that_is_down_is_retried_through_the_outbox_and_never_blocks_the_probes(
        session, api, run, clock):
    route = a_route(session, "webhook", "http://127.0.0.1:9/down", ["draft_proposed"])
    probe = a_probe(session, api, now=clock[0])
    fail_until_down(session, probe, clock)
    run()
    [delivery] = [d for d in deliveries(session) if d.alert_channel_id == route.id]
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 1
    assert session.scalars(select(IncidentDraft)).one().state.value == "open"


def test_slack_alerts_carry_the_review_link_and_escape_what_people_wrote(session, chat_receiver, run, clock):
    slack = chat_receiver("slack")
    a_route(session, "slack", slack.url, ["incident_opened"])
    incident = lifecycle.open_incident(session, ACTOR, name="<!channel> Checkout", body="@everyone <@U123> down",
                                       now=clock[0])
    session.commit()
    run()
    assert slack.problems == []
    [payload] = slack.payloads()
    assert f"http://status.test/admin/incidents/{incident.code}" in payload["blocks"][0]["text"]["text"]
    assert "<!channel>" not in json.dumps(payload) and "@everyone" not in payload["text"]


def test_an_email_route_gets_the_alert_by_mail_with_the_link(session, api, smtp_server, run, clock):
    sink, _port = smtp_server
    a_route(session, "email", "oncall@example.com", ["draft_proposed"])
    probe = a_probe(session, api, now=clock[0])
    fail_until_down(session, probe, clock)
    run()
    draft = session.scalars(select(IncidentDraft)).one()
    [message] = sink.messages
    assert message["To"] == "oncall@example.com"
    assert message["Subject"].startswith("[") and "API is down" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert f"http://status.test/admin/drafts/{draft.code}" in text
    assert "Review and publish the draft" in text and "List-Unsubscribe" not in message


def test_a_draft_that_recovers_resolves_its_pagerduty_alert(session, api, pagerduty, run, clock):
    a_route(session, "pagerduty", ROUTING_KEY, ["draft_proposed"])
    probe = a_probe(session, api, now=clock[0])
    fail_until_down(session, probe, clock)
    recover(session, probe, clock)
    run()
    draft = session.scalars(select(IncidentDraft)).one()
    assert draft.state.value == "recovered"
    assert [(p["event_action"], p["dedup_key"]) for p in pagerduty.payloads()] == [
        ("trigger", f"statuspage-draft-{draft.code}"), ("resolve", f"statuspage-draft-{draft.code}")]


def test_an_outage_the_probes_draft_pages_once_and_routes_without_drafts_still_hear_the_move(
        session, api, pagerduty, chat_receiver, run, clock):
    a_route(session, "pagerduty", ROUTING_KEY)  # every event, as a new route listens
    moves_only = chat_receiver("webhook")
    a_route(session, "webhook", moves_only.url, ["component_changed"], name="Component log")
    probe = a_probe(session, api, now=clock[0])
    fail_until_down(session, probe, clock)
    run()

    draft = session.scalars(select(IncidentDraft)).one()
    assert [(p["event_action"], p["dedup_key"]) for p in pagerduty.payloads()] == [
        ("trigger", f"statuspage-draft-{draft.code}")]
    [move] = [r.json() for r in moves_only.delivered]
    assert move["event"] == "component_changed" and move["alert"]["details"]["new_status"] == "major_outage"


def test_a_component_moved_by_hand_is_alerted_but_not_one_moved_by_an_incident_update(
        session, api, chat_receiver, run, clock):
    hook = chat_receiver("webhook")
    a_route(session, "webhook", hook.url, ["component_changed"])
    from statuspage.components.status_rules import set_status
    from statuspage.models import ComponentStatus
    set_status(session, api, ComponentStatus.DEGRADED_PERFORMANCE, ACTOR, at=clock[0])
    lifecycle.open_incident(session, ACTOR, name="Slow", body="Looking.",
                            component_statuses={api.code: "major_outage"}, now=clock[0])
    session.commit()
    run()
    assert [r.json()["event"] for r in hook.delivered] == ["component_changed"]
    assert hook.delivered[0].json()["alert"]["details"]["new_status"] == "degraded_performance"


def test_failed_subscriber_deliveries_alert_once_in_ten_minutes(session, chat_receiver, run, clock):
    hook = chat_receiver("webhook")
    a_route(session, "webhook", hook.url, ["delivery_failed"])
    gone = chat_receiver("slack")
    gone.answers = [(404, {}, b"no_service")] * 2
    subscribe(session, "slack", gone.url)
    subscribe(session, "mattermost", gone.url)
    lifecycle.open_incident(session, ACTOR, name="Checkout fails", body="Looking.", now=clock[0])
    session.commit()
    run()
    lifecycle.open_incident(session, ACTOR, name="Again", body="Looking.", now=clock[0])
    session.commit()
    run()
    alerts = [r.json() for r in hook.delivered]
    assert [a["event"] for a in alerts] == ["delivery_failed"]
    assert alerts[0]["alert"]["details"]["failed"] == 2


def test_an_overdue_action_item_is_alerted_once(session, chat_receiver, run, clock):
    hook = chat_receiver("webhook")
    a_route(session, "webhook", hook.url, ["action_item_overdue"])
    incident = lifecycle.open_incident(session, ACTOR, name="Checkout fails", body="Looking.",
                                       started_at=clock[0] - timedelta(days=3), now=clock[0])
    item = action_items.add_item(session, ACTOR, incident, title="Add a replica",
                                 due_date=(clock[0] - timedelta(days=1)).date().isoformat())
    session.commit()
    run()
    run()
    assert [r.json()["event"] for r in hook.delivered] == ["action_item_overdue"]
    assert "Add a replica" in hook.delivered[0].json()["alert"]["title"]
    # A new due date can fall overdue again.
    action_items.update_item(session, ACTOR, item, title="Add a replica", due_date=date.today().isoformat())
    session.commit()
    assert item.overdue_alerted_at is None


def test_a_test_alert_goes_to_its_one_route_whatever_it_listens_to(session, chat_receiver, run, clock):
    hook, other = chat_receiver("webhook"), chat_receiver("webhook")
    route = a_route(session, "webhook", hook.url, ["incident_resolved"])
    a_route(session, "webhook", other.url, name="Other")
    alert_routes.send_test(session, ACTOR, route, clock[0])
    session.commit()
    run()
    assert [r.json()["event"] for r in hook.delivered] == ["test"] and other.requests == []


def test_removing_a_route_fails_what_it_still_had_waiting(session, chat_receiver, mail_app, alert_settings,
                                                          clock, run):
    hook = chat_receiver("webhook")
    route = a_route(session, "webhook", hook.url, ["incident_opened"])
    lifecycle.open_incident(session, ACTOR, name="Checkout fails", body="Looking.", now=clock[0])
    session.commit()
    expand = worker(mail_app, alert_settings[0], clock).notifier.handle_one_event_expansion
    while expand():  # the subscribers' event, then the alert: expanded, not yet sent
        pass
    assert [d.alert_channel_id for d in deliveries(session)] == [route.id]
    alert_routes.delete_route(session, ACTOR, route)
    session.commit()
    run()
    [delivery] = deliveries(session)
    assert (delivery.status, delivery.last_error, delivery.alert_channel_id) == (
        DeliveryStatus.FAILED, "alert route removed", None)
    assert hook.requests == []


def test_a_probe_opened_incident_records_when_it_was_detected_and_when_responders_were_alerted(
        session, api, chat_receiver, run, clock):
    from statuspage.postmortems import recorded
    hook = chat_receiver("webhook")
    a_route(session, "webhook", hook.url, ["incident_opened"])
    probe = a_probe(session, api, now=clock[0], auto_incident="publish")
    start = clock[0]
    fail_until_down(session, probe, clock)  # failed at start, confirmed 10 s later
    clock[0] = start + timedelta(seconds=12)
    run()
    incident = session.scalars(select(Incident)).one()
    figures = dict(recorded.figures(session, incident, "UTC").rows)
    assert incident.started_at == start
    assert figures["Time to detect"] == "10 s"
    assert figures["Time to alert responders"] == "12 s"
    assert figures["Time to acknowledge (detection to first public update)"] == "0 s"


def test_a_slow_receiver_never_delays_the_probes(session, api, chat_receiver, mail_app, alert_settings,
                                                 http_target):
    from statuspage.models import Check
    from statuspage.worker import Worker
    hook = chat_receiver("webhook")
    hook.delay = 3.0  # answers only after three seconds
    a_route(session, "webhook", hook.url, ["incident_opened"])
    lifecycle.open_incident(session, ACTOR, name="Checkout fails", body="Looking.")
    session.commit()
    worker = Worker(mail_app.extensions["statuspage.db"], settings=alert_settings[0], idle_seconds=0.05)
    loop = threading.Thread(target=worker.run_forever)
    loop.start()
    try:
        time.sleep(0.5)  # the alert is in flight now
        a_probe(session, api, now=utcnow(), target=http_target.url("/ok"))
        started = time.monotonic()
        while time.monotonic() - started < 2.5:
            session.expire_all()
            if session.scalar(select(func.count()).select_from(Check)):
                break
            time.sleep(0.05)
        checked_after = time.monotonic() - started
        assert checked_after < 2.0, "the probe waited for the alert receiver"
        assert hook.requests == []  # still waiting for its answer
    finally:
        worker.stopping.set()
        loop.join(15)
    assert [r.json()["event"] for r in hook.delivered] == ["incident_opened"]


def test_a_failed_alert_is_listed_by_its_route_and_can_be_retried(session, chat_receiver, run, clock, client):
    from statuspage.outbox import queue
    from tests.probe_builders import sign_in
    hook = chat_receiver("webhook")
    hook.answers = [(404, {}, b"")]
    route = a_route(session, "webhook", hook.url, ["incident_opened"], name="Ops hook")
    lifecycle.open_incident(session, ACTOR, name="Checkout fails", body="Looking.", now=clock[0])
    session.commit()
    run()
    [delivery] = deliveries(session)
    assert delivery.status == DeliveryStatus.FAILED
    sign_in(client, session, "admin")
    html = client.get("/admin/deliveries").get_data(as_text=True)
    assert "Alert route Ops hook" in html and hook.url not in html
    assert "Alert: Incident opened: Checkout fails" in html
    queue.retry(session, ACTOR, delivery, clock[0])
    session.commit()
    run()
    assert deliveries(session)[0].status == DeliveryStatus.SENT
    assert route.id == deliveries(session)[0].alert_channel_id
