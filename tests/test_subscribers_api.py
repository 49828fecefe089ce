"""The management API for subscribers: Statuspage's shapes, filters, bulk calls, and refusals that save nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage.accounts import users
from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.models import Component, OutboxEvent, Subscriber

ACTOR = Actor.system("test")
SUBSCRIBER_KEYS = {
    "id", "mode", "email", "endpoint", "phone_number", "phone_country", "display_phone_number",
    "obfuscated_channel_name", "workspace_name", "quarantined_at", "purge_at", "components",
    "page_access_user_id", "created_at", "skip_confirmation_notification",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Cheap argon2 parameters for the API token's user."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def client(mail_app, session) -> FlaskClient:
    return mail_app.test_client()


@dataclass
class Api:
    """Calls under /api/v1/pages/{page_id}/subscribers with a token."""

    client: FlaskClient
    headers: dict[str, str]
    base: str

    def __call__(self, method: str, path: str = "", **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(self.base + path, method=method, headers=headers, **kwargs)

    def create(self, **subscriber):
        return self("POST", json={"subscriber": subscriber})

    def created(self, **subscriber) -> dict:
        response = self.create(**subscriber)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def ids(self, query: str = "") -> list[str]:
        response = self("GET", query)
        assert response.status_code == 200, response.get_json()
        return [s["id"] for s in response.get_json()]


@pytest.fixture
def api(client, api_token, page_code) -> Api:
    """A responder's key: adds subscribers, reads, resends; cannot remove or opt anyone in."""
    return Api(client, api_token("responder"), f"/api/v1/pages/{page_code}/subscribers")


@pytest.fixture
def admin_api(client, api_token, page_code) -> Api:
    """An admin's key: may also remove subscribers and skip their confirmation."""
    return Api(client, api_token("admin"), f"/api/v1/pages/{page_code}/subscribers")


@pytest.fixture
def stack(session: Session) -> dict[str, Component]:
    database = catalog.create_component(session, ACTOR, "Database cluster")
    website = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    return {"database": database, "website": website}


def rows(session: Session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def stored(session: Session, code: str) -> Subscriber:
    session.expire_all()
    return session.scalars(select(Subscriber).where(Subscriber.code == code)).one()


def open_incident(api: Api, page_code: str, **incident) -> str:
    response = api.client.post(f"/api/v1/pages/{page_code}/incidents", headers=api.headers,
                               json={"incident": incident})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


# --- creating -----------------------------------------------------------------------------------


def test_creating_an_email_subscriber_answers_201_in_statuspages_shape_and_mails_a_confirmation(
        api, stack, mail_app, worker_for, smtp_server):
    sink, _port = smtp_server
    response = api.create(email="Ana@Example.org", component_ids=[stack["website"].code])
    assert response.status_code == 201
    body = response.get_json()
    assert SUBSCRIBER_KEYS <= set(body)
    assert body["mode"] == "email"
    assert body["email"] == "ana@example.org"
    assert body["endpoint"] is None
    assert body["components"] == [stack["website"].code]
    assert body["quarantined_at"] is None
    assert body["state"] == "unconfirmed"
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None
    assert "webhook_secret" not in body
    assert api("GET", f"/{body['id']}").get_json() == body

    worker_for(mail_app).run_once()
    [confirmation] = sink.to("ana@example.org")
    assert confirmation["Subject"] == "[Acme] Confirm your subscription"
    assert "/subscribers/confirm/" in confirmation.get_body(("plain",)).get_content()


def test_skip_confirmation_notification_opts_in_at_once_without_a_confirmation_mail(
        admin_api, api, stack, page_code, mail_app, worker_for, smtp_server):
    sink, _port = smtp_server
    body = admin_api.created(email="bo@example.org", skip_confirmation_notification=True)
    assert body["state"] == "active" and body["skip_confirmation_notification"] is True
    assert body["confirmed_at"] is not None
    worker = worker_for(mail_app)
    worker.run_once()
    assert sink.to("bo@example.org") == []

    open_incident(api, page_code, name="Website down", body="Looking into it.",
                  components={stack["website"].code: "major_outage"})
    worker.run_once()
    assert [m["Subject"] for m in sink.to("bo@example.org")] == ["[Acme] Website down - Investigating"]


def test_a_webhook_subscriber_is_shown_its_signing_secret_once(api, session):
    body = api.created(endpoint="https://hooks.example.org/status", email="ops@example.org")
    assert body["mode"] == "webhook"
    assert body["endpoint"] == "https://hooks.example.org/status"
    assert body["email"] == "ops@example.org"
    assert body["state"] == "active"
    assert len(body["webhook_secret"]) == 64
    assert stored(session, body["id"]).webhook_secret == body["webhook_secret"]
    assert "webhook_secret" not in api("GET", f"/{body['id']}").get_json()
    assert all("webhook_secret" not in s for s in api("GET", "?state=all").get_json())


def test_a_form_encoded_create_works_like_json(api, stack):
    response = api("POST", data={"subscriber[email]": "form@example.org",
                                 "subscriber[component_ids][]": [stack["database"].code, stack["website"].code]})
    assert response.status_code == 201, response.get_json()
    assert sorted(response.get_json()["components"]) == sorted([stack["database"].code, stack["website"].code])


# --- reading and filtering ------------------------------------------------------------------------


@pytest.fixture
def population(admin_api, api, session) -> dict[str, str]:
    """One subscriber in each state: active and unconfirmed email, an active and a quarantined webhook."""
    codes = {
        "active": admin_api.created(email="active@example.org", skip_confirmation_notification=True)["id"],
        "unconfirmed": api.created(email="pending@example.org")["id"],
        "hook": api.created(endpoint="https://hooks.example.org/a")["id"],
        "quarantined": api.created(endpoint="https://broken.example.net/b")["id"],
    }
    stored(session, codes["quarantined"]).quarantined_at = utcnow()
    session.commit()
    return codes


def test_the_list_shows_active_subscribers_unless_a_state_is_asked_for(api, population):
    assert set(api.ids()) == {population["active"], population["hook"]}
    assert api.ids("?state=unconfirmed") == [population["unconfirmed"]]
    assert api.ids("?state=quarantined") == [population["quarantined"]]
    assert set(api.ids("?state=all")) == set(population.values())
    quarantined = api("GET", f"/{population['quarantined']}").get_json()
    assert quarantined["state"] == "quarantined"
    assert quarantined["quarantined_at"] is not None


def test_the_list_filters_by_text_and_type(api, population):
    assert api.ids("?q=PENDING&state=all") == [population["unconfirmed"]]
    assert api.ids("?q=broken.example&state=all") == [population["quarantined"]]
    assert set(api.ids("?type=webhook&state=all")) == {population["hook"], population["quarantined"]}
    assert set(api.ids("?type=email&state=all")) == {population["active"], population["unconfirmed"]}
    assert api.ids("?q=nobody&state=all") == []


def test_the_list_pages_from_0_as_statuspage_does_without_overlap(api, population):
    first = api.ids("?state=all&limit=3&page=0")
    second = api.ids("?state=all&limit=3&page=1")
    assert len(first) == 3
    assert len(second) == 1
    assert set(first + second) == set(population.values())
    assert api.ids("?state=all&limit=3") == first
    assert api.ids("?state=all&limit=3&page=2") == []
    assert set(api.ids(".json?state=all")) == set(population.values())


NONE_BY_TYPE = {"email": 0, "sms": 0, "webhook": 0, "slack": 0, "teams": 0, "integration_partner": 0,
                "discord": 0, "mattermost": 0}


def test_the_count_is_by_type_as_statuspage_answers_and_follows_the_filters(api, population):
    assert api("GET", "/count").get_json() == NONE_BY_TYPE | {"email": 1, "webhook": 1}
    assert api("GET", "/count?state=all").get_json() == NONE_BY_TYPE | {"email": 2, "webhook": 2}
    assert api("GET", "/count?state=all&type=webhook").get_json() == NONE_BY_TYPE | {"webhook": 2}
    assert api("GET", "/count?state=unconfirmed&q=pending").get_json() == NONE_BY_TYPE | {"email": 1}
    assert api("GET", "/count.json?type=sms").get_json() == NONE_BY_TYPE


def test_the_histogram_counts_each_type_by_state(api, population):
    histogram = api("GET", "/histogram_by_state").get_json()
    assert set(histogram) == set(NONE_BY_TYPE)
    assert histogram["email"] == {"active": 1, "unconfirmed": 1, "quarantined": 0, "total": 2}
    assert histogram["webhook"] == {"active": 1, "unconfirmed": 0, "quarantined": 1, "total": 2}
    assert histogram["sms"] == {"active": 0, "unconfirmed": 0, "quarantined": 0, "total": 0}


def test_the_unsubscribed_list_is_empty_because_unsubscribing_removes_the_subscriber(admin_api, population):
    assert admin_api("DELETE", f"/{population['active']}").status_code == 200
    response = admin_api("GET", "/unsubscribed?page=0&per_page=50")
    assert response.status_code == 200 and response.get_json() == []
    assert admin_api("GET", "/unsubscribed?per_page=0").status_code == 400


@pytest.mark.parametrize("kind", ["sms", "slack", "teams", "integration_partner", "discord", "mattermost"])
def test_a_type_no_subscriber_has_lists_no_one(api, population, kind):
    assert api.ids(f"?type={kind}&state=all") == []


@pytest.mark.parametrize("query, status, field", [
    ("?state=gone", 422, "state"),
    ("?type=fax", 422, "type"),
    ("?limit=0", 400, None),
    ("?limit=1001", 400, None),
    ("?limit=ten", 400, None),
    ("?page=-1", 400, None),
])
def test_bad_filters_are_refused_with_the_error_shape(api, population, query, status, field):
    response = api("GET", query)
    assert response.status_code == status
    assert response.get_json()["error"]["field"] == field
    assert response.get_json()["message"]


def test_an_unknown_subscriber_is_404(admin_api):
    for method in ("GET", "PATCH", "DELETE"):
        response = admin_api(method, "/nosuchsub000", json={"component_ids": []})
        assert response.status_code == 404, method
        assert response.get_json()["error"]["code"] == "not_found"


# --- changing and removing -------------------------------------------------------------------------


def test_patch_changes_the_components_and_an_empty_list_means_all(api, stack, session):
    code = api.created(email="c@example.org", component_ids=[stack["database"].code])["id"]
    response = api("PATCH", f"/{code}", json={"component_ids": [stack["website"].code]})
    assert response.status_code == 200
    assert response.get_json()["components"] == [stack["website"].code]
    assert api("PATCH", f"/{code}", json={"component_ids": []}).get_json()["components"] == []
    assert stored(session, code).all_components is True


def test_patch_refuses_unknown_components_and_fields_and_changes_nothing(api, stack, session):
    code = api.created(email="d@example.org", component_ids=[stack["database"].code])["id"]
    unknown_component = api("PATCH", f"/{code}", json={"component_ids": [stack["website"].code, "nosuchcomp00"]})
    assert unknown_component.status_code == 404
    unknown_field = api("PATCH", f"/{code}", json={"component_ids": [], "email": "new@example.org"})
    assert unknown_field.status_code == 422
    assert unknown_field.get_json()["error"]["field"] == "email"
    subscriber = stored(session, code)
    assert [c.code for c in subscriber.components] == [stack["database"].code]
    assert subscriber.email == "d@example.org"


def test_delete_removes_the_subscriber_and_answers_what_it_was(admin_api, api, session):
    code = api.created(email="e@example.org")["id"]
    response = admin_api("DELETE", f"/{code}")
    assert response.status_code == 200
    assert response.get_json()["email"] == "e@example.org"
    assert api("GET", f"/{code}").status_code == 404
    assert rows(session, Subscriber) == 0


def test_bulk_unsubscribe_removes_the_listed_ids_only(admin_api, population):
    response = admin_api("POST", "/unsubscribe",
                         json={"subscribers": [population["active"], population["unconfirmed"], population["active"]]})
    assert response.status_code == 201
    assert response.get_json() == {"unsubscribed": 2}
    assert set(admin_api.ids("?state=all")) == {population["hook"], population["quarantined"]}


def test_bulk_unsubscribe_of_all_takes_active_ones_unless_a_state_is_given(admin_api, population):
    response = admin_api("POST", "/unsubscribe", json={"subscribers": "all", "type": "webhook"})
    assert response.get_json() == {"unsubscribed": 1}
    assert set(admin_api.ids("?state=all")) == {population["active"], population["unconfirmed"],
                                                 population["quarantined"]}
    assert admin_api("POST", "/unsubscribe", json={"subscribers": "all", "type": "sms"}).get_json() == {
        "unsubscribed": 0}
    assert admin_api("POST", "/unsubscribe", json={"subscribers": "all"}).get_json() == {"unsubscribed": 1}
    assert set(admin_api.ids("?state=all")) == {population["unconfirmed"], population["quarantined"]}
    everyone = admin_api("POST", "/unsubscribe", data={"subscribers": "all", "state": "all",
                                                       "skip_unsubscription_notification": "true"})
    assert everyone.status_code == 201 and everyone.get_json() == {"unsubscribed": 2}
    assert admin_api.ids("?state=all") == []


@pytest.mark.parametrize("body, status", [
    ({"subscribers": ["KNOWN", "nosuchsub000"]}, 404),
    ({"subscribers": []}, 422),
    ({"subscribers": "some"}, 422),
    ({"subscribers": [7]}, 422),
    ({}, 422),
    ({"subscribers": "all", "purge": True}, 422),
    ({"subscribers": "all", "state": "gone"}, 422),
    ({"subscribers": "all", "type": "fax"}, 422),
    ({"subscribers": "all", "skip_unsubscription_notification": "maybe"}, 422),
])
def test_a_bad_bulk_unsubscribe_removes_no_one(admin_api, population, body, status):
    body = json.loads(json.dumps(body).replace("KNOWN", population["active"]))
    response = admin_api("POST", "/unsubscribe", json=body)
    assert response.status_code == status
    assert set(admin_api.ids("?state=all")) == set(population.values())


# --- what a responder's key may not do ---------------------------------------------------------------


def test_a_responder_cannot_unsubscribe_everyone(api, population):
    response = api("POST", "/unsubscribe", json={"subscribers": "all", "state": "all"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert set(api.ids("?state=all")) == set(population.values())


def test_a_responder_cannot_delete_a_subscriber(api, population):
    assert api("DELETE", f"/{population['active']}").status_code == 403
    assert set(api.ids("?state=all")) == set(population.values())


def test_a_responder_cannot_opt_someone_in_without_confirmation(api, session):
    response = api.create(email="victim@example.org", skip_confirmation_notification=True)
    assert response.status_code == 403
    assert rows(session, Subscriber) == 0
    assert rows(session, OutboxEvent) == 0
    assert api.created(email="victim@example.org")["state"] == "unconfirmed"


def test_the_answer_says_whether_the_confirmation_was_skipped(admin_api, api):
    assert admin_api.created(email="yes@example.org", skip_confirmation_notification="true")[
        "skip_confirmation_notification"] is True
    assert admin_api.created(email="no@example.org", skip_confirmation_notification=False)[
        "skip_confirmation_notification"] is False
    assert api.created(email="plain@example.org")["skip_confirmation_notification"] is False


# --- quarantined webhooks back ----------------------------------------------------------------------


def test_reactivate_lifts_the_quarantine_of_the_listed_or_all_quarantined(api, population, session):
    response = api("POST", "/reactivate", json={"subscribers": [population["quarantined"], population["hook"]]})
    assert response.status_code == 201 and response.get_json() == {"reactivated": 1}
    assert stored(session, population["quarantined"]).quarantined_at is None
    assert api("GET", f"/{population['quarantined']}").get_json()["state"] == "active"
    stored(session, population["hook"]).quarantined_at = utcnow()
    session.commit()
    assert api("POST", "/reactivate", json={"subscribers": "all", "type": "webhook"}).get_json() == {
        "reactivated": 1}
    assert api("GET", "/count").get_json()["webhook"] == 2


def test_a_bad_reactivate_changes_nothing(api, population, session):
    for body in ({"subscribers": "all", "state": "all"}, {"subscribers": ["nosuchsub000"]}, {}):
        assert api("POST", "/reactivate", json=body).status_code in (404, 422)
    assert stored(session, population["quarantined"]).quarantined_at is not None


# --- confirmations again ---------------------------------------------------------------------------


def test_resending_a_confirmation_mails_it_again_to_an_unconfirmed_subscriber(
        api, population, mail_app, worker_for, smtp_server):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    worker.run_once()
    response = api("POST", f"/{population['unconfirmed']}/resend_confirmation")
    assert response.status_code == 201
    worker.run_once()
    subjects = [m["Subject"] for m in sink.to("pending@example.org")]
    assert subjects == ["[Acme] Confirm your subscription"] * 2


def test_resending_to_a_confirmed_or_webhook_subscriber_is_refused(api, population):
    assert api("POST", f"/{population['active']}/resend_confirmation").status_code == 422
    assert api("POST", f"/{population['hook']}/resend_confirmation").status_code == 422
    assert api("POST", "/nosuchsub000/resend_confirmation").status_code == 404


def test_bulk_resend_reaches_only_the_unconfirmed(api, population, mail_app, worker_for, smtp_server):
    sink, _port = smtp_server
    worker = worker_for(mail_app)
    worker.run_once()
    before = len(sink.messages)
    response = api("POST", "/resend_confirmation", json={"subscribers": "all"})
    assert response.status_code == 201
    assert response.get_json() == {"resent": 1}
    worker.run_once()
    assert [m["To"] for m in sink.messages[before:]] == ["pending@example.org"]


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("subscriber, status, field", [
    ({"email": "not-an-address"}, 422, "email"),
    ({"email": "x" * 320 + "@example.org"}, 422, "email"),
    ({"email": ""}, 422, "email"),
    ({}, 422, "email"),
    ({"email": "f@example.org", "component_ids": ["nosuchcomp00"]}, 404, "component_id"),
    ({"email": "f@example.org", "component_ids": []}, 422, "component_ids"),
    ({"email": "f@example.org", "component_ids": "WEBSITE"}, 422, "component_ids"),
    ({"phone_country": "US", "phone_number": "2025550100"}, 422, "phone_number"),
    ({"email": "f@example.org", "nickname": "eff"}, 422, "nickname"),
    ({"endpoint": "ftp://hooks.example.org/x"}, 422, "endpoint"),
    ({"endpoint": "https://hooks.example.org/" + "x" * 2000}, 422, "endpoint"),
    ({"endpoint": "https://hooks.example.org/x", "email": "nope"}, 422, "email"),
])
def test_bad_input_is_refused_and_nothing_is_saved(api, stack, session, subscriber, status, field):
    if subscriber.get("component_ids") == "WEBSITE":
        subscriber["component_ids"] = stack["website"].code
    response = api.create(**subscriber)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["message"]
    if field != "component_id":
        assert error["field"] == field
    assert rows(session, Subscriber) == 0
    assert rows(session, OutboxEvent) == 0


def test_a_duplicate_email_is_a_conflict_and_nothing_more_is_queued(admin_api, session):
    admin_api.created(email="g@example.org")
    response = admin_api.create(email="G@EXAMPLE.ORG", skip_confirmation_notification=True)
    assert response.status_code == 409
    assert response.get_json()["error"]["field"] == "email"
    assert rows(session, Subscriber) == 1
    assert rows(session, OutboxEvent) == 1
    assert session.scalars(select(Subscriber)).one().confirmed_at is None


def test_a_duplicate_endpoint_is_a_conflict(api, session):
    api.created(endpoint="https://hooks.example.org/same")
    response = api.create(endpoint="https://hooks.example.org/same", email="h@example.org")
    assert response.status_code == 409
    assert response.get_json()["error"]["field"] == "endpoint"
    assert rows(session, Subscriber) == 1


def test_the_same_address_may_be_a_webhook_contact_and_an_email_subscriber(api, session):
    api.created(endpoint="https://hooks.example.org/ops", email="ops@example.org")
    api.created(email="ops@example.org")
    assert rows(session, Subscriber) == 2


@pytest.mark.parametrize("data, content_type, status", [
    ('{"subscriber": {"email": "i@example.org"', "application/json", 400),
    ('[{"subscriber": {"email": "i@example.org"}}]', "application/json", 400),
    ('{"email": "i@example.org"}', "application/json", 422),
    ('{"subscriber": "i@example.org"}', "application/json", 422),
    ('{"subscriber": {"email": "i\\u0000@example.org"}}', "application/json", 422),
    ("email=i@example.org", "text/plain", 415),
])
def test_a_malformed_body_is_refused_and_nothing_is_saved(api, session, data, content_type, status):
    response = api("POST", data=data, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert rows(session, Subscriber) == 0


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "OAuth not-a-real-key"}, 401),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
])
def test_a_missing_or_bad_token_is_refused_and_nothing_is_saved(client, page_code, session, headers, status):
    base = f"/api/v1/pages/{page_code}/subscribers"
    response = client.post(base, headers=headers, json={"subscriber": {"email": "j@example.org"}})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.get(base, headers=headers).status_code == status
    assert rows(session, Subscriber) == 0


def test_another_pages_id_is_404(api, session):
    response = api.client.post("/api/v1/pages/notourpage00/subscribers", headers=api.headers,
                               json={"subscriber": {"email": "k@example.org"}})
    assert response.status_code == 404
    assert response.get_json()["error"]["field"] == "page_id"
    assert rows(session, Subscriber) == 0
