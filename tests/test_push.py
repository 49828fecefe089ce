"""Pushes: heartbeat pings and silence, Alertmanager webhooks, and wrong tokens or payloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuspage.models import Check, ComponentStatus, Incident, StatusChange
from statuspage.probes import service
from statuspage.worker import Worker
from tests.probe_builders import ACTOR, T0, a_component, a_probe, changes_of, checks_of


def alert(status: str = "firing", severity: str = "critical", component: str | None = "API", **labels):
    labels = {"alertname": "HighErrorRate", "severity": severity, **labels}
    if component is not None:
        labels["component"] = component
    return {"status": status, "labels": labels, "annotations": {"summary": "5xx above 5%"},
            "startsAt": "2024-08-14T11:58:03.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": "f1" + severity}


def webhook(*alerts, version: str = "4"):
    return {"version": version, "groupKey": "{}:{}", "status": "firing", "receiver": "statuspage",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
            "truncatedAlerts": 0, "alerts": list(alerts)}


@pytest.fixture
def component(session):
    return a_component(session, "API")


@pytest.fixture
def worker(app, settings):
    clock = [T0]
    worker = Worker(app.extensions["statuspage.db"], clock=lambda: clock[0], settings=settings)
    worker.at = clock  # the test moves worker.at[0]
    yield worker
    worker.close()


def counts(session) -> tuple[int, int]:
    session.rollback()
    return session.scalar(select(func.count(Check.id))), session.scalar(select(func.count(StatusChange.id)))


# --- heartbeat ---------------------------------------------------------------------------------------


def test_a_ping_records_a_good_check_and_moves_the_deadline(client, session, component):
    probe = a_probe(session, component, kind="heartbeat", target=None, interval_seconds=3600, grace_seconds=300)
    response = client.post(f"/api/heartbeat/{probe.token}")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    session.expire_all()
    [check] = checks_of(session, probe)
    assert check.ok and check.reason == "ping received"
    assert probe.last_ping_at is not None
    assert probe.next_run_at == probe.last_ping_at + timedelta(seconds=3900)


def test_a_wrong_heartbeat_token_is_a_bare_404(client, session, component):
    probe = a_probe(session, component, kind="heartbeat", target=None)
    alerts = a_probe(session, component, kind="alertmanager", target=None, name="am")
    for token in ("nope", probe.token + "x", alerts.token, "x" * 300):
        response = client.post(f"/api/heartbeat/{token}")
        assert response.status_code == 404
        assert response.get_json()["error"] == {"code": "not_found", "message": "Not found.", "field": None}
    assert client.get(f"/api/heartbeat/{probe.token}").status_code == 405
    assert counts(session)[0] == 0


def test_silence_past_period_and_grace_is_a_failed_check_once_per_period(worker, session, component):
    probe = a_probe(session, component, kind="heartbeat", target=None, interval_seconds=60, grace_seconds=30,
                    failures_to_outage=2, auto_incident="off")
    worker.at[0] = T0 + timedelta(seconds=89)
    assert not worker.handle_one_heartbeat_timeout()
    worker.at[0] = T0 + timedelta(seconds=91)
    assert worker.handle_one_heartbeat_timeout()
    assert not worker.handle_one_heartbeat_timeout()
    [first] = checks_of(session, probe)
    assert not first.ok and first.reason.startswith("no ping within 60 s + 30 s grace (last ping: never)")
    worker.at[0] = T0 + timedelta(seconds=152)
    assert worker.handle_one_heartbeat_timeout()
    session.expire_all()
    assert component.status == ComponentStatus.MAJOR_OUTAGE
    assert changes_of(session, component)[-1].cause == f"probe {probe.code}, check {checks_of(session, probe)[-1].id}"


def test_a_ping_after_silence_counts_towards_recovery(client, worker, session, component):
    probe = a_probe(session, component, kind="heartbeat", target=None, interval_seconds=60, grace_seconds=0,
                    failures_to_outage=1, successes_to_recover=1, auto_incident="off")
    worker.at[0] = T0 + timedelta(seconds=61)
    worker.handle_one_heartbeat_timeout()
    session.expire_all()
    assert component.status == ComponentStatus.MAJOR_OUTAGE
    client.post(f"/api/heartbeat/{probe.token}")
    session.expire_all()
    assert component.status == ComponentStatus.OPERATIONAL


# --- alertmanager --------------------------------------------------------------------------------------


def post(client, probe, body):
    return client.post(f"/api/integrations/alertmanager/{probe.token}", json=body)


@pytest.fixture
def am(session, component):
    return a_probe(session, component, kind="alertmanager", target=None, name="Prometheus", auto_incident="off")


def test_a_critical_alert_is_a_major_outage_until_it_resolves(client, session, component, am):
    response = post(client, am, webhook(alert()))
    assert response.status_code == 200 and response.get_json()["alerts"] == 1
    session.expire_all()
    assert component.status == ComponentStatus.MAJOR_OUTAGE
    [check] = checks_of(session, am)
    assert not check.ok and check.reason == "HighErrorRate firing on API (severity critical)"
    assert changes_of(session, component)[-1].cause == f"probe {am.code}, check {check.id}"
    post(client, am, webhook(alert("resolved")))
    session.expire_all()
    assert component.status == ComponentStatus.OPERATIONAL
    assert am.options["firing"] == {}


def test_warning_maps_to_degraded_by_default_or_the_probes_warning_status(client, session, component, am):
    post(client, am, webhook(alert(severity="warning", component=component.code)))
    session.expire_all()
    assert component.status == ComponentStatus.DEGRADED_PERFORMANCE
    post(client, am, webhook(alert("resolved", severity="warning")))
    service.update_probe(session, ACTOR, am, {"warning_status": "partial_outage"}, T0)
    session.commit()
    post(client, am, webhook(alert(severity="warning")))
    session.expire_all()
    assert component.status == ComponentStatus.PARTIAL_OUTAGE


def test_info_alerts_are_recorded_without_changing_status(client, session, component, am):
    post(client, am, webhook(alert(severity="info")))
    session.expire_all()
    assert component.status == ComponentStatus.OPERATIONAL
    assert checks_of(session, am)[0].ok


def test_alerts_without_a_component_label_use_the_probes_matchers(client, session, component, am):
    service.update_probe(session, ACTOR, am, {"matchers": {"service": "api"}}, T0)
    session.commit()
    post(client, am, webhook(alert(component=None, service="api")))
    session.expire_all()
    assert component.status == ComponentStatus.MAJOR_OUTAGE


def test_an_alert_that_starts_an_outage_can_publish_an_incident_from_its_start(client, session, component):
    probe = a_probe(session, component, kind="alertmanager", target=None, auto_incident="publish")
    post(client, probe, webhook(alert()))
    session.rollback()
    [incident] = session.scalars(select(Incident)).all()
    assert incident.name == "Elevated errors on API" and incident.status == "investigating"
    assert incident.started_at.isoformat() == "2024-08-14T11:58:03.123456+00:00"


@pytest.mark.parametrize("stop", ["pause", "delete"])
def test_pausing_or_deleting_an_alertmanager_probe_releases_every_component_its_alerts_hold_down(
        client, session, component, am, stop):
    web = a_component(session, "Web")
    db = a_component(session, "Database")
    post(client, am, webhook(alert(component="Web"), {**alert(component="Database", severity="warning"),
                                                       "fingerprint": "db-warning"}))
    session.expire_all()
    assert (web.status, db.status) == (ComponentStatus.MAJOR_OUTAGE, ComponentStatus.DEGRADED_PERFORMANCE)
    assert component.status == ComponentStatus.OPERATIONAL  # the probe's own component is not named
    when = T0 + timedelta(minutes=5)
    if stop == "pause":
        service.update_probe(session, ACTOR, am, {"paused": True}, when)
    else:
        service.delete_probe(session, ACTOR, am, when)
    session.commit()
    session.expire_all()
    assert (web.status, db.status) == (ComponentStatus.OPERATIONAL, ComponentStatus.OPERATIONAL)
    cause = f"probe {am.code} {'paused' if stop == 'pause' else 'deleted'}"
    assert changes_of(session, web)[-1].cause == cause and changes_of(session, db)[-1].cause == cause


INVALID = [
    ({"version": "3", "alerts": [alert()]}, "version"),
    ({"version": "4"}, "alerts"),
    (webhook(), "alerts"),
    (webhook("firing"), "alerts[0]"),
    (webhook({**alert(), "status": "pending"}), "alerts[0].status"),
    (webhook({**alert(), "labels": {"component": "API", "severity": 3}}), "alerts[0].labels"),
    (webhook(alert(severity="urgent")), "alerts[0].labels.severity"),
    (webhook(alert(component="Nonexistent")), "alerts[0].labels.component"),
    (webhook(alert(component=None)), "alerts[0].labels.component"),
    (webhook({**alert(), "startsAt": "yesterday"}), "alerts[0].startsAt"),
    (webhook(alert(), {**alert(), "status": "pending"}), "alerts[1].status"),
    ([1, 2, 3], None),
]


def test_invalid_payloads_are_400_with_a_clear_message_and_nothing_saved(client, session, component, am):
    for body, field in INVALID:
        response = post(client, am, body)
        assert response.status_code == 400, (body, response.get_json())
        error = response.get_json()["error"]
        assert error["message"] and error["field"] == field, (field, error)
    for raw in ("{not json", ""):
        response = client.post(f"/api/integrations/alertmanager/{am.token}", data=raw,
                               content_type="application/json")
        assert response.status_code == 400
    assert client.post(f"/api/integrations/alertmanager/{am.token}", data="x",
                       content_type="text/plain").status_code == 415
    assert counts(session) == (0, 1)  # only the component's creation row
    session.expire_all()
    assert am.options.get("firing") in (None, {})


def test_a_wrong_alertmanager_token_is_a_bare_404(client, session, component, am):
    heartbeat = a_probe(session, component, kind="heartbeat", target=None, name="hb")
    for token in ("nope", heartbeat.token):
        response = client.post(f"/api/integrations/alertmanager/{token}", json=webhook(alert()))
        assert response.status_code == 404 and response.get_json()["error"]["message"] == "Not found."
    assert counts(session)[0] == 0
