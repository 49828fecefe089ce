"""Probes through the management API: CRUD, checks, check now, and bad input that saves nothing."""

from __future__ import annotations

import time

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from statuspage.api.openapi import document
from statuspage.models import AuditEntry, Probe
from statuspage.probes import service
from tests.probe_builders import a_component, api_headers

DOCUMENT = document()
PATHS = {path: item for path, item in DOCUMENT["paths"].items() if path.startswith("/pages/{page_id}/probes")}
SCHEMAS = DOCUMENT["components"]["schemas"]


@pytest.fixture
def admin(session):
    return api_headers(session, "admin")


@pytest.fixture
def api_component(session):
    return a_component(session, "Checkout API")


def path(page_code: str, suffix: str = "") -> str:
    return f"/api/v1/pages/{page_code}/probes{suffix}"


def create(client, page_code, auth, **probe):
    return client.post(path(page_code), headers=auth, json={"probe": probe})


def probe_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count(Probe.id)))


def test_an_admin_creates_an_http_probe_and_reads_it_back(client, page_code, admin, api_component):
    response = create(client, page_code, admin, name="Checkout health", kind="http",
                      component_id=api_component.code, target="https://shop.example/health",
                      interval_seconds=30, timeout_seconds=5, expected_status=[200, 204], keyword="ok",
                      latency_threshold_ms=800, failures_to_outage=3, successes_to_recover=2,
                      outage_status="partial_outage", auto_incident="publish",
                      headers={"Authorization": "Bearer s3cret", "Accept": "application/json"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "http" and body["component_id"] == api_component.code
    assert body["expected_status"] == [200, 204] and body["keyword"] == "ok"
    assert body["outage_status"] == "partial_outage" and body["auto_incident"] == "publish"
    assert body["state"] == "unknown" and body["last_check_at"] is None and body["url"] is None
    assert body["headers"] == {"Authorization": "********", "Accept": "application/json"}
    again = client.get(path(page_code, f"/{body['id']}"), headers=admin).get_json()
    assert again == body
    assert [p["id"] for p in client.get(path(page_code), headers=admin).get_json()] == [body["id"]]


def test_a_masked_header_sent_back_keeps_the_secret(client, page_code, admin, api_component, session):
    code = create(client, page_code, admin, name="h", kind="http", component_id=api_component.code,
                  target="http://a.example/", headers={"Authorization": "Bearer s3cret"}).get_json()["id"]
    response = client.patch(path(page_code, f"/{code}"), headers=admin,
                            json={"probe": {"headers": {"Authorization": "********"}, "name": "h2"}})
    assert response.status_code == 200
    session.rollback()
    stored = session.scalars(select(Probe).where(Probe.code == code)).one()
    assert stored.options["headers"] == {"Authorization": "Bearer s3cret"}


def test_push_probes_answer_with_the_url_to_call(client, page_code, admin, api_component):
    heartbeat = create(client, page_code, admin, name="Nightly backup", kind="heartbeat",
                       component_id=api_component.code, interval_seconds=86400, grace_seconds=600).get_json()
    assert heartbeat["url"].startswith("http://status.test/api/heartbeat/")
    assert heartbeat["target"] is None and heartbeat["grace_seconds"] == 600
    alerts = create(client, page_code, admin, name="Prometheus", kind="alertmanager",
                    component_id=api_component.code, warning_status="partial_outage").get_json()
    assert alerts["url"].startswith("http://status.test/api/integrations/alertmanager/")
    assert alerts["firing_alerts"] == []


def test_a_database_probe_never_stores_or_shows_a_password(client, page_code, admin, api_component):
    refused = create(client, page_code, admin, name="db", kind="database", component_id=api_component.code,
                     target="postgresql+psycopg://app:hunter2@db.internal/app")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "target"
    assert "hunter2" not in refused.get_data(as_text=True)
    body = create(client, page_code, admin, name="db", kind="database", component_id=api_component.code,
                  target="postgresql+psycopg://app@db.internal:5432/app",
                  password_env="PROBE_PASSWORD_APP").get_json()
    assert body["target"] == "postgresql+psycopg://app@db.internal:5432/app"
    assert body["password_env"] == "PROBE_PASSWORD_APP"
    other_secret = create(client, page_code, admin, name="db2", kind="database",
                          component_id=api_component.code, target="sqlite:////tmp/x.db",
                          password_env="STATUSPAGE_SECRET_KEY")
    assert other_secret.status_code == 422 and other_secret.get_json()["error"]["field"] == "password_env"


def test_patch_changes_settings_and_delete_removes_the_probe(client, page_code, admin, api_component, session):
    code = create(client, page_code, admin, name="tcp", kind="tcp", component_id=api_component.code,
                  target="db.internal:5432").get_json()["id"]
    changed = client.patch(path(page_code, f"/{code}"), headers=admin,
                           json={"probe": {"interval_seconds": 120, "paused": True}}).get_json()
    assert changed["interval_seconds"] == 120 and changed["paused"] is True
    assert client.delete(path(page_code, f"/{code}"), headers=admin).status_code == 200
    assert client.get(path(page_code, f"/{code}"), headers=admin).status_code == 404
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"probe.create", "probe.update", "probe.delete"} <= actions


def test_check_now_runs_a_check_and_lists_it_newest_first(client, page_code, admin, api_component, http_target):
    code = create(client, page_code, admin, name="web", kind="http", component_id=api_component.code,
                  target=http_target.url("/ok")).get_json()["id"]
    first = client.post(path(page_code, f"/{code}/check"), headers=admin)
    assert first.status_code == 201
    assert first.get_json()["ok"] is True and first.get_json()["reason"] == "ok"
    client.patch(path(page_code, f"/{code}"), headers=admin,
                 json={"probe": {"target": http_target.url("/status/500")}})
    second = client.post(path(page_code, f"/{code}/check"), headers=admin).get_json()
    assert second["ok"] is False and second["reason"] == "HTTP 500 (expected 2xx)"
    checks = client.get(path(page_code, f"/{code}/checks"), headers=admin).get_json()
    assert [c["id"] for c in checks] == [second["id"], first.get_json()["id"]]
    assert set(checks[0]) == {"id", "at", "ok", "slow", "latency_ms", "reason"}
    assert client.get(path(page_code, f"/{code}"), headers=admin).get_json()["state"] == "down"


def test_check_now_of_a_hanging_target_answers_in_time_with_a_timed_out_check_and_frees_the_probe(
        client, page_code, admin, api_component, http_target, session, monkeypatch):
    monkeypatch.setattr(service, "CHECK_NOW_SECONDS", 1.0)  # 10 s in production, under gunicorn's 30 s
    code = create(client, page_code, admin, name="hangs", kind="http", component_id=api_component.code,
                  target=http_target.url("/hang"), interval_seconds=60, timeout_seconds=60).get_json()["id"]
    started = time.monotonic()
    response = client.post(path(page_code, f"/{code}/check"), headers=admin)
    assert time.monotonic() - started < 5
    assert response.status_code == 201
    check = response.get_json()
    assert check["ok"] is False
    assert check["reason"] == ("timed out after 1 s (check now waits at most 1 s; "
                               "the worker waits the probe's 60 s)")
    session.rollback()
    assert session.scalars(select(Probe.lease_until).where(Probe.code == code)).one() is None
    again = client.post(path(page_code, f"/{code}/check"), headers=admin)  # not 409: the lease is free
    assert again.status_code == 201 and again.get_json()["id"] != check["id"]


def test_responders_read_and_check_but_only_admins_change(client, page_code, admin, session, api_component,
                                                          http_target):
    responder = api_headers(session, "responder")
    assert create(client, page_code, responder, name="x", kind="tcp", component_id=api_component.code,
                  target="a.example:80").status_code == 403
    code = create(client, page_code, admin, name="x", kind="http", component_id=api_component.code,
                  target=http_target.url("/ok")).get_json()["id"]
    assert client.get(path(page_code), headers=responder).status_code == 200
    assert client.post(path(page_code, f"/{code}/check"), headers=responder).status_code == 201
    assert client.delete(path(page_code, f"/{code}"), headers=responder).status_code == 403
    assert client.get(path(page_code), headers={}).status_code == 401


BAD_INPUT = [
    ({"kind": "gopher"}, "kind"),
    ({"target": "not a url"}, "target"),
    ({"target": "ftp://files.example/"}, "target"),
    ({"target": "http://a.example:99999/"}, "target"),
    ({"target": "http://user:pw@a.example/"}, "target"),
    ({"target": None}, "target"),
    ({"kind": "tcp", "target": "db.internal:0"}, "target"),
    ({"kind": "tcp", "target": "db.internal:70000"}, "target"),
    ({"kind": "tcp", "target": "db.internal"}, "target"),
    ({"kind": "dns", "target": "bad..name"}, "target"),
    ({"kind": "heartbeat", "target": "http://a.example/"}, "target"),
    ({"kind": "database", "target": "mysql://app@db/app"}, "target"),
    ({"interval_seconds": 0}, "interval_seconds"),
    ({"interval_seconds": 10_000_000}, "interval_seconds"),
    ({"interval_seconds": "often"}, "interval_seconds"),
    ({"interval_seconds": True}, "interval_seconds"),
    ({"timeout_seconds": 0}, "timeout_seconds"),
    ({"timeout_seconds": 3600}, "timeout_seconds"),
    ({"timeout_seconds": 50, "interval_seconds": 30}, "timeout_seconds"),
    ({"expected_status": [200, 999]}, "expected_status"),
    ({"expected_status": "two hundred"}, "expected_status"),
    ({"failures_to_outage": 0}, "failures_to_outage"),
    ({"successes_to_recover": 1000}, "successes_to_recover"),
    ({"outage_status": "degraded_performance"}, "outage_status"),
    ({"auto_incident": "sometimes"}, "auto_incident"),
    ({"latency_threshold_ms": -5}, "latency_threshold_ms"),
    ({"failure_rate_threshold": 1.5}, "failure_rate_threshold"),
    ({"method": "BREW"}, "method"),
    ({"headers": {"Bad Header": "x"}}, "headers"),
    ({"headers": {"X-Ok": "line\nbreak"}}, "headers"),
    ({"kind": "tcp", "target": "a.example:80", "keyword": "ok"}, "keyword"),
    ({"component_id": "nosuchthing"}, "component_id"),
    ({"name": ""}, "name"),
    ({"name": "x" * 300}, "name"),
    ({"paused": "perhaps"}, "paused"),
    ({"unknown_field": 1}, "unknown_field"),
]


def test_every_bad_input_is_a_clear_4xx_naming_its_field_and_nothing_is_saved(client, page_code, admin,
                                                                             api_component, session):
    # One app for all cases: each case is one request, so a loop keeps the suite fast.
    for change, field in BAD_INPUT:
        probe = {"name": "x", "kind": "http", "component_id": api_component.code,
                 "target": "http://a.example/", "interval_seconds": 30, "timeout_seconds": 5, **change}
        response = create(client, page_code, admin, **probe)
        assert 400 <= response.status_code < 500, (change, response.get_json())
        error = response.get_json()["error"]
        assert (error["field"], bool(error["message"])) == (field, True), change
    assert probe_count(session) == 0


@pytest.mark.parametrize("probe", [
    {"kind": "http", "target": "http://169.254.169.254/latest/meta-data/"},
    {"kind": "http", "target": "http://[fd00:ec2::254]/"},
    {"kind": "http", "target": "http://[64:ff9b::a9fe:a9fe]/"},
    {"kind": "tcp", "target": "169.254.169.254:80"},
    {"kind": "database", "target": "postgresql+psycopg://app@169.254.169.254/app"},
])
def test_a_metadata_address_as_target_is_refused_when_the_probe_is_saved(client, page_code, admin, api_component,
                                                                         session, probe):
    response = create(client, page_code, admin, name="x", component_id=api_component.code, **probe)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "target" and "link-local or cloud-metadata" in error["message"]
    assert probe_count(session) == 0
    code = create(client, page_code, admin, name="x", component_id=api_component.code, kind=probe["kind"],
                  target={"http": "http://a.example/", "tcp": "a.example:80",
                          "database": "postgresql+psycopg://app@a.example/app"}[probe["kind"]]).get_json()["id"]
    changed = client.patch(path(page_code, f"/{code}"), headers=admin, json={"probe": {"target": probe["target"]}})
    assert changed.status_code == 422 and changed.get_json()["error"]["field"] == "target"
    assert client.get(path(page_code, f"/{code}"), headers=admin).get_json()["target"] != probe["target"]


def test_a_malformed_body_is_refused(client, page_code, admin, session):
    for body in ({}, {"probe": "http"}, {"probe": []}, {"probes": {"name": "x"}}):
        assert client.post(path(page_code), headers=admin, json=body).status_code == 422, body
    assert probe_count(session) == 0


def test_non_json_bodies_and_unknown_probes_are_clear_errors(client, page_code, admin, api_component):
    assert client.post(path(page_code), headers=admin, data="{not json",
                       content_type="application/json").status_code == 400
    assert client.get(path(page_code, "/nosuchprobe"), headers=admin).status_code == 404
    assert client.post(path(page_code, "/nosuchprobe/check"), headers=admin).status_code == 404
    assert client.get(path(page_code, "/nosuchprobe/checks"), headers=admin).status_code == 404
    assert client.get(path(page_code, "/x/checks?limit=0"), headers=admin).status_code in (400, 404)


def test_a_probes_kind_cannot_change(client, page_code, admin, api_component):
    code = create(client, page_code, admin, name="x", kind="http", component_id=api_component.code,
                  target="http://a.example/").get_json()["id"]
    response = client.patch(path(page_code, f"/{code}"), headers=admin, json={"probe": {"kind": "tcp"}})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "kind"


# --- the OpenAPI description ---------------------------------------------------------------------------


def _validator(name: str):
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}})


def test_the_openapi_paths_cover_every_probe_route(app):
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api_v1_probes.") and not rule.rule.endswith(".json"):
            path = rule.rule.removeprefix("/api/v1").replace("<page_id>", "{page_id}")
            path = path.replace("<probe_id>", "{probe_id}")
            served.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: set(item) - {"parameters"} for path, item in PATHS.items()}
    assert documented == served


def test_real_responses_match_the_openapi_schemas(client, page_code, admin, api_component, http_target):
    probe_schema, check_schema = _validator("Probe"), _validator("Check")
    kinds = [
        {"kind": "http", "target": http_target.url("/ok"), "headers": {"X-A": "b"}, "expected_status": [200]},
        {"kind": "tcp", "target": f"127.0.0.1:{http_target.port}"},
        {"kind": "dns", "target": "localhost", "expect": ["127.0.0.1"]},
        {"kind": "database", "target": "sqlite:////tmp/nothing-here.db", "password_env": None},
        {"kind": "heartbeat", "grace_seconds": 10},
        {"kind": "alertmanager", "matchers": {"team": "web"}},
    ]
    for fields in kinds:
        response = create(client, page_code, admin, name=fields["kind"], component_id=api_component.code,
                          **fields)
        assert response.status_code == 201, response.get_json()
        probe_schema.validate(response.get_json())
        check = client.post(path(page_code, f"/{response.get_json()['id']}/check"), headers=admin)
        check_schema.validate(check.get_json())
    for probe in client.get(path(page_code), headers=admin).get_json():
        probe_schema.validate(probe)
    create_schema = _validator("ProbeCreate")
    for fields in kinds:
        create_schema.validate({"name": "x", "component_id": "abc", **fields})


def test_the_outage_loop_settings_are_read_and_written_through_the_api(client, session, page_code, admin,
                                                                        api_component):
    made = create(client, page_code, admin, name="web", kind="http", component_id=api_component.code,
                  target="http://127.0.0.1:9/")
    assert made.status_code == 201
    body = made.get_json()
    assert (body["interval_seconds"], body["retry_interval_seconds"], body["failures_to_outage"]) == (20, 10, 2)
    assert (body["publish_after_minutes"], body["auto_resolve_minutes"]) == (0, None)
    changed = client.patch(path(page_code, f"/{body['id']}"), headers=admin,
                           json={"probe": {"auto_incident": "publish", "publish_after_minutes": 5,
                                           "auto_resolve_minutes": 30}})
    assert changed.status_code == 200
    assert (changed.get_json()["publish_after_minutes"], changed.get_json()["auto_resolve_minutes"]) == (5, 30)
    refused = client.patch(path(page_code, f"/{body['id']}"), headers=admin,
                           json={"probe": {"retry_interval_seconds": 60}})
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "retry_interval_seconds"
    assert client.get(path(page_code, f"/{body['id']}"), headers=admin).get_json()["retry_interval_seconds"] == 10
