"""Alert channels through the management API: CRUD, the secret shown once, the test alert, roles, and bad
input that saves nothing."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from statuspage.api.openapi import document
from statuspage.models import AlertChannel, AuditEntry, EventKind, OutboxEvent
from tests.probe_builders import api_headers

SCHEMAS = document()["components"]["schemas"]
ALL_EVENTS = ["draft_proposed", "incident_opened", "incident_updated", "incident_resolved", "component_changed",
              "delivery_failed", "action_item_overdue"]
ROUTING_KEY = "0123456789abcdef0123456789ABCDEF"


@pytest.fixture
def admin(session):
    return api_headers(session, "admin")


@pytest.fixture
def responder(session):
    return api_headers(session, "responder")


def path(page_code: str, suffix: str = "") -> str:
    return f"/api/v1/pages/{page_code}/alert_channels{suffix}"


def create(client, page_code, auth, **alert_channel):
    return client.post(path(page_code), headers=auth, json={"alert_channel": alert_channel})


def route_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count(AlertChannel.id)))


def documented(name: str, body) -> None:
    Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}}).validate(body)


def test_an_admin_creates_an_email_route_that_listens_to_every_event_by_default(client, page_code, admin):
    response = create(client, page_code, admin, name="On-call lead", kind="email", target="lead@example.com")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    documented("AlertChannelWritten", body)
    assert (body["name"], body["kind"], body["target"], body["events"]) == (
        "On-call lead", "email", "lead@example.com", ALL_EVENTS)
    assert "secret" not in body and body["created_at"] == body["updated_at"]
    again = client.get(path(page_code, f"/{body['id']}"), headers=admin).get_json()
    assert again == body
    assert [r["id"] for r in client.get(path(page_code), headers=admin).get_json()] == [body["id"]]


def test_a_webhook_routes_signing_secret_is_shown_only_in_the_create_answer(client, page_code, admin, session):
    created = create(client, page_code, admin, name="Ops hook", kind="webhook",
                     target="https://ops.example/alerts", events=["incident_opened", "draft_proposed"]).get_json()
    assert len(created["secret"]) == 64
    assert created["events"] == ["draft_proposed", "incident_opened"]  # kept in the events' own order
    session.rollback()
    assert session.scalars(select(AlertChannel.secret)).one() == created["secret"]
    one = path(page_code, f"/{created['id']}")
    for shown in (client.get(one, headers=admin).get_json(), client.get(path(page_code), headers=admin).get_json()[0],
                  client.patch(one, headers=admin, json={"alert_channel": {"name": "Ops"}}).get_json(),
                  client.delete(one, headers=admin).get_json()):
        documented("AlertChannel", shown)
        assert "secret" not in shown


def test_an_admin_changes_any_field_and_a_new_kind_needs_its_target(client, page_code, admin, session):
    code = create(client, page_code, admin, name="Lead", kind="email", target="lead@example.com").get_json()["id"]
    one = path(page_code, f"/{code}")
    changed = client.patch(one, headers=admin, json={"alert_channel": {"name": "Team lead",
                                                                       "events": ["incident_resolved"]}})
    assert changed.status_code == 200
    assert (changed.get_json()["name"], changed.get_json()["events"]) == ("Team lead", ["incident_resolved"])
    refused = client.patch(one, headers=admin, json={"alert_channel": {"kind": "pagerduty"}})
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "target"
    paged = client.put(one, headers=admin, json={"alert_channel": {"kind": "pagerduty", "target": ROUTING_KEY}})
    assert paged.status_code == 200
    assert (paged.get_json()["kind"], paged.get_json()["target"]) == ("pagerduty", ROUTING_KEY)
    assert "secret" not in paged.get_json()
    hooked = client.patch(one, headers=admin, json={"alert_channel": {"kind": "webhook",
                                                                      "target": "http://127.0.0.1:8080/hook"}})
    documented("AlertChannelWritten", hooked.get_json())
    assert len(hooked.get_json()["secret"]) == 64  # a new secret, shown with the change that made it
    assert "secret" not in client.get(one, headers=admin).get_json()
    session.rollback()
    assert [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.target_code == code)
                                              .order_by(AuditEntry.id))] == [
        "alert_channel.create", "alert_channel.update", "alert_channel.update", "alert_channel.update"]


def test_deleting_a_route_answers_it_as_it_was_and_then_it_is_gone(client, page_code, admin, session):
    created = create(client, page_code, admin, name="Discord", kind="discord",
                     target="https://discord.com/api/webhooks/1/abc").get_json()
    one = path(page_code, f"/{created['id']}")
    response = client.delete(one, headers=admin)
    assert response.status_code == 200 and response.get_json()["id"] == created["id"]
    assert route_count(session) == 0
    assert client.get(one, headers=admin).status_code == 404


def test_the_test_button_queues_an_alert_for_that_route_alone(client, page_code, admin, session):
    code = create(client, page_code, admin, name="Slack", kind="slack",
                  target="https://hooks.slack.com/services/T0/B0/XX").get_json()["id"]
    response = client.post(path(page_code, f"/{code}/test"), headers=admin)
    assert response.status_code == 201 and response.get_json() == {}
    session.rollback()
    [event] = session.scalars(select(OutboxEvent)).all()
    assert event.kind == EventKind.ALERT
    assert (event.payload["route"], event.payload["event"]) == (code, "test")


def test_responders_read_and_test_routes_but_only_admins_change_them(client, page_code, admin, responder, session):
    assert create(client, page_code, responder, name="x", kind="email", target="x@example.com").status_code == 403
    code = create(client, page_code, admin, name="Lead", kind="email", target="lead@example.com").get_json()["id"]
    one = path(page_code, f"/{code}")
    assert client.get(path(page_code), headers=responder).status_code == 200
    assert client.get(one, headers=responder).status_code == 200
    assert client.post(f"{one}/test", headers=responder).status_code == 201
    for answer in (client.patch(one, headers=responder, json={"alert_channel": {"name": "Mine"}}),
                   client.put(one, headers=responder, json={"alert_channel": {"name": "Mine"}}),
                   client.delete(one, headers=responder)):
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert client.get(one, headers=admin).get_json()["name"] == "Lead"
    assert client.get(path(page_code)).status_code == 401



@pytest.mark.parametrize(("kind", "target", "masked"), [
    ("slack", "https://hooks.slack.com/services/T0/B0/XX", "https://hooks.slack.com/…"),
    ("webhook", "https://bot:token@ops.example/alerts?key=k", "https://ops.example/…"),
    ("pagerduty", ROUTING_KEY, "0123…CDEF"),
    ("email", "lead@example.com", "lead@example.com"),
])
def test_a_responders_key_sees_a_target_masked_as_the_admin_shows_it(client, page_code, admin, responder,
                                                                     kind, target, masked):
    code = create(client, page_code, admin, name="Route", kind=kind, target=target).get_json()["id"]
    one = path(page_code, f"/{code}")

    assert client.get(one, headers=responder).get_json()["target"] == masked
    assert [r["target"] for r in client.get(path(page_code), headers=responder).get_json()] == [masked]
    assert client.get(one, headers=admin).get_json()["target"] == target
    assert [r["target"] for r in client.get(path(page_code), headers=admin).get_json()] == [target]
    documented("AlertChannel", client.get(one, headers=responder).get_json())

BAD_INPUT = [
    ({"kind": "carrier_pigeon"}, "kind"),
    ({"kind": None}, "kind"),
    ({"kind": "pagerduty", "target": "not-a-routing-key"}, "target"),
    ({"kind": "pagerduty", "target": ROUTING_KEY + "0"}, "target"),
    ({"kind": "webhook", "target": "http://169.254.169.254/latest/meta-data/"}, "target"),
    ({"kind": "webhook", "target": "http://[fd00:ec2::254]/"}, "target"),
    ({"kind": "webhook", "target": "ftp://files.example/"}, "target"),
    ({"kind": "slack", "target": "https://discord.com/api/webhooks/1/abc"}, "target"),
    ({"kind": "email", "target": "not an address"}, "target"),
    ({"events": ["incident_opened", "moon_phase"]}, "events"),
    ({"events": []}, "events"),
    ({"events": "incident_opened,nope"}, "events"),
    ({"events": [1, 2]}, "events"),
    ({"name": None}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 300}, "name"),
    ({"target": None}, "target"),
    ({"target": ""}, "target"),
    ({"colour": "red"}, "colour"),
]


def test_every_bad_input_is_a_clear_4xx_naming_its_field_and_nothing_is_saved(client, page_code, admin, session):
    for change, field in BAD_INPUT:
        fields = {"name": "Ops", "kind": "webhook", "target": "https://ops.example/alerts", **change}
        response = create(client, page_code, admin, **fields)
        assert 400 <= response.status_code < 500, (change, response.get_json())
        error = response.get_json()["error"]
        assert (error["field"], bool(error["message"])) == (field, True), (change, error)
    for left_out in ("name", "kind", "target"):
        fields = {"name": "Ops", "kind": "webhook", "target": "https://ops.example/alerts"}
        del fields[left_out]
        response = create(client, page_code, admin, **fields)
        assert response.status_code == 422 and response.get_json()["error"]["field"] == left_out
    assert route_count(session) == 0


def test_a_metadata_url_is_refused_but_a_loopback_receiver_is_allowed(client, page_code, admin, session):
    refused = create(client, page_code, admin, name="x", kind="webhook", target="http://169.254.169.254/")
    assert refused.status_code == 422
    assert "link-local or cloud-metadata" in refused.get_json()["error"]["message"]
    assert route_count(session) == 0
    allowed = create(client, page_code, admin, name="local", kind="webhook", target="http://127.0.0.1:9000/hook")
    assert allowed.status_code == 201 and allowed.get_json()["target"] == "http://127.0.0.1:9000/hook"
    one = path(page_code, f"/{allowed.get_json()['id']}")
    changed = client.patch(one, headers=admin, json={"alert_channel": {"target": "http://169.254.169.254/"}})
    assert changed.status_code == 422 and changed.get_json()["error"]["field"] == "target"
    assert client.get(one, headers=admin).get_json()["target"] == "http://127.0.0.1:9000/hook"


def test_a_malformed_body_or_an_unknown_id_is_a_clear_error(client, page_code, admin, session):
    for body in ({}, {"alert_channel": "email"}, {"alert_channels": {"name": "x"}}):
        assert client.post(path(page_code), headers=admin, json=body).status_code == 422, body
    assert route_count(session) == 0
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(path(page_code, "/nosuchroute"), headers=admin,
                                           json={"alert_channel": {"name": "x"}})
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert client.post(path(page_code, "/nosuchroute/test"), headers=admin).status_code == 404


def test_a_route_is_created_from_a_form_too(client, page_code, admin):
    response = client.post(path(page_code), headers=admin, data={
        "alert_channel[name]": "PagerDuty", "alert_channel[kind]": "pagerduty", "alert_channel[target]": ROUTING_KEY,
        "alert_channel[events][]": ["incident_opened", "incident_resolved"]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["events"] == ["incident_opened", "incident_resolved"]


def test_the_openapi_document_lists_every_alert_channel_route(app):
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api_v1_alert_channels.") and not rule.rule.endswith(".json"):
            documented_path = rule.rule.removeprefix("/api/v1").replace("<page_id>", "{page_id}")
            documented_path = documented_path.replace("<alert_channel_id>", "{alert_channel_id}")
            served.setdefault(documented_path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    paths = document()["paths"]
    assert served == {p: set(item) - {"parameters"} for p, item in paths.items() if "alert_channels" in p}
