"""Webhook subscribers: signed JSON POSTs to a real receiver on loopback, retries, quarantine, the address guard."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from statuspage.accounts import users
from statuspage.audit import Actor
from statuspage.components import catalog, status_rules
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.models import Delivery, OutboxEvent, StatusChange, Subscriber, SubscriberMode
from statuspage.notify import webhooks
from statuspage.outbox import queue
from statuspage.page.record import get_page
from statuspage.timefmt import iso
from tests.conftest import free_port

ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Cheap argon2 parameters for the API token's user."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- a real HTTP receiver on loopback ---------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool
    answered: int

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Keeps every POST, checks its signature like a subscriber would, and answers as told.

    `answers` are the statuses for the next requests, then `default`; a bad
    signature is answered 401 whatever was planned.
    """

    url: str
    secret: str | None = None
    answers: list[int] = field(default_factory=list)
    default: int = 200
    requests: list[Received] = field(default_factory=list)

    @property
    def succeeded(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.answered < 300]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signature = self.headers.get(webhooks.SIGNATURE_HEADER, "")
        valid = receiver.secret is not None and webhooks.verify(receiver.secret, signature, body, int(time.time()))
        status = receiver.answers.pop(0) if receiver.answers else receiver.default
        if not valid:
            status = 401
        # Recorded before answering, so the worker's send has returned only once this is visible.
        receiver.requests.append(Received(self.path, dict(self.headers), body, valid, status))
        self.send_response(status)
        if status in (301, 302, 307, 308):
            self.send_header("Location", "/moved")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/status")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


# --- the app around it ----------------------------------------------------------------------------


@pytest.fixture
def client(mail_app, session):
    return mail_app.test_client()


@pytest.fixture
def headers(api_token):
    return api_token("responder")


@pytest.fixture
def website(session):
    component = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    return component


@pytest.fixture
def clock():
    return [utcnow()]


@pytest.fixture
def worker(mail_app, worker_for, clock):
    return worker_for(mail_app, clock)


def subscribe_webhook(client, headers, page_code, url: str, **fields) -> dict:
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=headers,
                           json={"subscriber": {"endpoint": url, **fields}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def hook(client, headers, page_code, receiver) -> dict:
    """The receiver, subscribed to everything; it knows its secret from the create response."""
    created = subscribe_webhook(client, headers, page_code, receiver.url, email="hooks@example.org")
    receiver.secret = created["webhook_secret"]
    return created


def open_incident(client, headers, page_code, **incident) -> str:
    response = client.post(f"/api/v1/pages/{page_code}/incidents", headers=headers, json={"incident": incident})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def update_incident(client, headers, page_code, code, **incident) -> None:
    response = client.patch(f"/api/v1/pages/{page_code}/incidents/{code}", headers=headers,
                            json={"incident": incident})
    assert response.status_code == 200, response.get_json()


def deliveries(session) -> list[Delivery]:
    session.expire_all()
    return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def hook_deliveries(session) -> list[Delivery]:
    return [d for d in deliveries(session) if d.channel.value == "webhook"]


# --- delivery ------------------------------------------------------------------------------------


def test_each_incident_update_is_posted_as_signed_statuspage_json(
        client, headers, page_code, website, hook, receiver, worker, session):
    code = open_incident(client, headers, page_code, name="Checkout fails", status="investigating",
                         body="We are looking into it.", components={website.code: "major_outage"})
    worker.run_once()
    status_now = client.get("/api/v2/status.json").get_json()["status"]
    incident_now = next(i for i in client.get("/api/v2/incidents.json").get_json()["incidents"] if i["id"] == code)
    update_incident(client, headers, page_code, code, status="identified", body="A bad deploy.")
    worker.run_once()
    update_incident(client, headers, page_code, code, status="resolved", body="Rolled back.",
                    components={website.code: "operational"})
    worker.run_once()

    assert [r.answered for r in receiver.requests] == [200, 200, 200]
    first, second, third = (r.json() for r in receiver.requests)
    for request in receiver.requests:
        assert request.signature_valid
        assert request.path == "/hooks/status"
        assert request.headers["Content-Type"] == "application/json"
    assert first["page"] == {"id": page_code, "status_indicator": status_now["indicator"],
                             "status_description": status_now["description"]}
    assert first["page"]["status_indicator"] != "none"
    assert first["incident"] == incident_now
    assert [u["body"] for u in first["incident"]["incident_updates"]] == ["We are looking into it."]
    assert second["incident"]["status"] == "identified"
    assert second["incident"]["incident_updates"][0]["body"] == "A bad deploy."
    assert third["incident"]["status"] == "resolved"
    assert len(third["incident"]["incident_updates"]) == 3
    assert third["page"] == {"id": page_code, "status_indicator": "none",
                             "status_description": "All Systems Operational"}
    assert first["meta"]["unsubscribe"].startswith("http://status.test/subscribers/unsubscribe/")
    assert {d.status.value for d in hook_deliveries(session)} == {"sent"}


def test_a_signature_does_not_verify_with_another_secret_a_changed_body_or_an_old_timestamp():
    body = b'{"page":{}}'
    now = int(time.time())
    header = webhooks.sign("s3cret", now, body)
    assert webhooks.verify("s3cret", header, body, now)
    assert not webhooks.verify("other", header, body, now)
    assert not webhooks.verify("s3cret", header, body + b" ", now)
    assert not webhooks.verify("s3cret", webhooks.sign("s3cret", now - 3600, body), body, now)
    assert not webhooks.verify("s3cret", "v1=deadbeef", body, now)


def test_the_unsubscribe_link_in_the_body_removes_the_webhook(
        client, headers, page_code, website, hook, receiver, worker, session):
    code = open_incident(client, headers, page_code, name="Slow", body="x")
    worker.run_once()
    link = urlsplit(receiver.requests[0].json()["meta"]["unsubscribe"]).path
    assert client.post(link).status_code == 200
    session.expire_all()
    assert session.scalars(select(Subscriber)).all() == []
    update_incident(client, headers, page_code, code, status="resolved", body="Fine again.")
    worker.run_once()
    assert len(receiver.requests) == 1


def test_a_receiver_answering_500_is_retried_with_backoff_and_then_succeeds_exactly_once(
        client, headers, page_code, website, hook, receiver, worker, clock, session):
    receiver.answers = [500]
    open_incident(client, headers, page_code, name="Flaky", body="x")
    worker.run_once()
    [delivery] = hook_deliveries(session)
    assert delivery.status.value == "retrying"
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at - clock[0] == queue.backoff(1)

    worker.run_once()
    clock[0] += queue.backoff(1) - timedelta(seconds=1)
    worker.run_once()
    assert len(receiver.requests) == 1  # not before the backoff is over

    clock[0] += timedelta(seconds=2)
    worker.run_once()
    clock[0] += timedelta(hours=2)
    worker.run_once()
    assert [r.answered for r in receiver.requests] == [500, 200]
    assert receiver.requests[0].body == receiver.requests[1].body
    [delivery] = hook_deliveries(session)
    assert (delivery.status.value, delivery.attempts) == ("sent", 2)
    assert session.get(Subscriber, delivery.subscriber_id).consecutive_failures == 0


@pytest.mark.parametrize("answer", [404, 410])
def test_a_receiver_that_is_gone_fails_at_once_without_retrying(
        client, headers, page_code, website, hook, receiver, worker, clock, session, answer):
    receiver.default = answer
    open_incident(client, headers, page_code, name="Gone", body="x")
    worker.run_once()
    clock[0] += timedelta(hours=2)
    worker.run_once()
    [delivery] = hook_deliveries(session)
    assert (delivery.status.value, delivery.attempts, delivery.last_error) == ("failed", 1, f"HTTP {answer}")
    assert len(receiver.requests) == 1


def test_a_redirect_is_not_followed_and_counts_as_a_temporary_failure(
        client, headers, page_code, website, hook, receiver, worker, session):
    receiver.answers = [307]
    open_incident(client, headers, page_code, name="Moved", body="x")
    worker.run_once()
    assert [r.path for r in receiver.requests] == ["/hooks/status"]
    [delivery] = hook_deliveries(session)
    assert delivery.status.value == "retrying"
    assert "redirect" in delivery.last_error


def test_a_receiver_that_refuses_connections_is_retried(client, headers, page_code, website, worker, session):
    subscribe_webhook(client, headers, page_code, f"http://127.0.0.1:{free_port()}/hook")
    open_incident(client, headers, page_code, name="Nobody home", body="x")
    worker.run_once()
    [delivery] = hook_deliveries(session)
    assert delivery.status.value == "retrying"
    assert "refused" in delivery.last_error


def test_a_webhook_failing_again_and_again_is_quarantined_and_the_owner_is_emailed(
        client, headers, page_code, website, hook, receiver, worker, clock, session, smtp_server):
    sink, _port = smtp_server
    get_page(session).owner_email = "owner@acme.test"
    session.commit()
    receiver.default = 500
    for number in range(queue.WEBHOOK_FAILURES_TO_DISABLE):
        open_incident(client, headers, page_code, name=f"Incident {number}", body="x")
    worker.run_once()

    assert len(receiver.requests) == queue.WEBHOOK_FAILURES_TO_DISABLE
    shown = client.get(f"/api/v1/pages/{page_code}/subscribers/{hook['id']}", headers=headers).get_json()
    assert shown["state"] == "quarantined"
    assert shown["quarantined_at"] is not None
    [notice] = sink.to("owner@acme.test")
    assert notice["Subject"] == "[Acme] Webhook disabled"
    assert receiver.url in notice.get_body(("plain",)).get_content()
    assert len(sink.to("hooks@example.org")) == 1  # the hook's own contact is told too

    clock[0] += timedelta(hours=3)
    worker.run_once()
    open_incident(client, headers, page_code, name="After the quarantine", body="x")
    worker.run_once()
    assert len(receiver.requests) == queue.WEBHOOK_FAILURES_TO_DISABLE
    parked = [(d.status.value, d.attempts, d.last_error) for d in hook_deliveries(session)]
    assert parked == ([("failed", 1, "webhook disabled after repeated failures")] * (len(parked) - 1)
                      + [("failed", 1, "HTTP 500")])
    assert len(parked) == queue.WEBHOOK_FAILURES_TO_DISABLE
    assert len(sink.to("owner@acme.test")) == 1


def test_a_success_in_between_resets_the_count_of_failures(
        client, headers, page_code, website, hook, receiver, worker, session):
    receiver.answers = [500] * (queue.WEBHOOK_FAILURES_TO_DISABLE - 1) + [200, 500]
    for number in range(queue.WEBHOOK_FAILURES_TO_DISABLE + 1):
        open_incident(client, headers, page_code, name=f"Incident {number}", body="x")
    worker.run_once()
    assert len(receiver.requests) == queue.WEBHOOK_FAILURES_TO_DISABLE + 1
    session.expire_all()
    subscriber = session.scalars(select(Subscriber)).one()
    assert subscriber.quarantined_at is None
    assert subscriber.consecutive_failures == 1


# --- the address guard ----------------------------------------------------------------------------


@pytest.fixture
def connections(monkeypatch) -> list:
    """Every address a socket is opened to, recorded before the real connect."""
    seen: list = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return seen


METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/latest/meta-data",
    "http://[::ffff:169.254.169.254]/latest/meta-data",
    "http://[fe80::1]:8080/hook",
]


@pytest.fixture
def fake_dns(monkeypatch):
    """Names that resolve where a test says (only these names; the rest go to the system's resolver)."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (names[host], port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def subscribers_now(session) -> list[Subscriber]:
    session.expire_all()
    return list(session.scalars(select(Subscriber)))


@pytest.mark.parametrize("url, message", [
    *[(url, "link-local or cloud-metadata") for url in METADATA_URLS],
    ("http://169.254.169.254/latest", "link-local or cloud-metadata"),
    ("http://[fe80::1]/x", "link-local or cloud-metadata"),
    ("http://x y/", "spaces"),
    ("http://hooks.example.org:99999/", "port"),
    ("http://hooks.example.org:0/", "port"),
    ("http://[::1/", "not a valid URL"),
    ("ftp://hooks.example.org/", "http:// or https://"),
    ("http:///no-host", "name a host"),
    ("http://bad_host!.example/", "not a valid host name"),
    ("http://hooks.example.org/\r\nX: y", "control characters"),
])
def test_a_webhook_url_that_could_never_be_called_is_refused_at_registration(
        client, headers, page_code, session, url, message):
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=headers,
                           json={"subscriber": {"endpoint": url}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "endpoint"
    assert message in error["message"]
    assert subscribers_now(session) == []


def test_a_name_that_resolves_to_a_metadata_address_is_refused_at_registration(
        client, headers, page_code, session, fake_dns):
    fake_dns["metadata.hooks.test"] = "169.254.169.254"
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=headers,
                           json={"subscriber": {"endpoint": "http://metadata.hooks.test/latest"}})
    assert response.status_code == 422
    assert "metadata.hooks.test resolves to 169.254.169.254" in response.get_json()["error"]["message"]
    assert subscribers_now(session) == []


def test_a_name_that_does_not_resolve_yet_is_taken_and_judged_again_when_sending(
        client, headers, page_code, website, worker, session, connections, fake_dns):
    subscribe_webhook(client, headers, page_code, "http://later.hooks.test/hook")
    fake_dns["later.hooks.test"] = "169.254.169.254"  # a name that turns to the metadata service
    open_incident(client, headers, page_code, name="Rebinding", body="x")
    worker.run_once()
    [delivery] = hook_deliveries(session)
    assert (delivery.status.value, delivery.attempts) == ("failed", 1)
    assert "later.hooks.test resolves to 169.254.169.254" in delivery.last_error
    assert [address for address in connections if address[0] != "127.0.0.1"] == []


def test_allowing_link_local_addresses_for_probes_does_not_open_them_to_subscribers(
        mail_app, client, headers, page_code, session):
    import dataclasses

    settings = mail_app.config["STATUSPAGE"]
    mail_app.config["STATUSPAGE"] = dataclasses.replace(settings, probe_allow_link_local=True)
    response = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=headers,
                           json={"subscriber": {"endpoint": "http://169.254.10.20/hook"}})
    assert response.status_code == 422
    assert "169.254.10.20 is a link-local or cloud-metadata address" in response.get_json()["error"]["message"]
    assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


@pytest.mark.parametrize("url", METADATA_URLS)
def test_link_local_and_cloud_metadata_addresses_are_refused_when_sending(
        client, headers, page_code, website, worker, clock, session, connections, url):
    # Saved before registration checked addresses: the guard at send time still holds.
    session.add(Subscriber(mode=SubscriberMode.WEBHOOK, endpoint=url, webhook_secret="s" * 64, confirmed_at=utcnow()))
    session.commit()
    open_incident(client, headers, page_code, name="Probe the metadata", body="x")
    worker.run_once()
    clock[0] += timedelta(hours=2)
    worker.run_once()
    [delivery] = hook_deliveries(session)
    assert (delivery.status.value, delivery.attempts) == ("failed", 1)
    assert "link-local or cloud-metadata" in delivery.last_error
    assert [address for address in connections if address[0] != "127.0.0.1"] == []


# --- component_update ------------------------------------------------------------------------------


HOLD = timedelta(seconds=31)  # just past STATUSPAGE_COMPONENT_UPDATE_HOLD_SECONDS (30)


def set_component_status(client, headers, page_code, code: str, status: str) -> None:
    response = client.patch(f"/api/v1/pages/{page_code}/components/{code}", headers=headers,
                            json={"component": {"status": status}})
    assert response.status_code == 200, response.get_json()


def test_a_component_status_change_is_posted_to_webhooks_as_a_statuspage_component_update(
        client, headers, page_code, website, hook, receiver, worker, clock, session, smtp_server):
    sink, _port = smtp_server
    from statuspage.notify import subscribers

    subscribers.create(session, ACTOR, email="reader@example.org", skip_confirmation=True)
    session.commit()
    set_component_status(client, headers, page_code, website.code, "major_outage")
    worker.run_once()
    assert receiver.requests == []  # held a moment, in case the component flaps

    clock[0] += HOLD
    worker.run_once()
    [request] = receiver.requests
    assert request.signature_valid and request.answered == 200
    body = request.json()
    status_now = client.get("/api/v2/status.json").get_json()["status"]
    component_now = next(c for c in client.get("/api/v2/components.json").get_json()["components"]
                         if c["id"] == website.code)
    assert set(body) == {"meta", "page", "event", "component_update", "component"}
    assert body["event"] == "component_update"
    assert body["page"] == {"id": page_code, "status_indicator": status_now["indicator"],
                            "status_description": status_now["description"]}
    update = body["component_update"]
    assert set(update) == {"created_at", "new_status", "old_status", "id", "component_id"}
    assert (update["old_status"], update["new_status"], update["component_id"]) == (
        "operational", "major_outage", website.code)
    change = session.scalars(select(StatusChange).where(StatusChange.component_id == website.id,
                                                        StatusChange.to_status == "major_outage")).one()
    assert update["created_at"] == iso(change.at, "Europe/Berlin")
    assert body["component"] == {"created_at": component_now["created_at"], "id": website.code,
                                 "name": "Website", "status": "major_outage"}
    assert body["meta"]["unsubscribe"].startswith("http://status.test/subscribers/unsubscribe/")
    assert sink.to("reader@example.org") == []  # email subscribers hear about incidents, not flaps


def test_a_flap_within_the_hold_sends_nothing_and_changes_are_merged(
        client, headers, page_code, website, hook, receiver, worker, clock, session):
    set_component_status(client, headers, page_code, website.code, "major_outage")
    set_component_status(client, headers, page_code, website.code, "operational")
    clock[0] += HOLD
    worker.run_once()
    assert receiver.requests == []

    set_component_status(client, headers, page_code, website.code, "major_outage")
    set_component_status(client, headers, page_code, website.code, "partial_outage")
    set_component_status(client, headers, page_code, website.code, "degraded_performance")
    clock[0] += HOLD
    worker.run_once()
    [request] = receiver.requests
    update = request.json()["component_update"]
    assert (update["old_status"], update["new_status"]) == ("operational", "degraded_performance")

    set_component_status(client, headers, page_code, website.code, "operational")
    clock[0] += HOLD
    worker.run_once()
    assert [(r.json()["component_update"]["old_status"], r.json()["component_update"]["new_status"])
            for r in receiver.requests[1:]] == [("degraded_performance", "operational")]


def test_only_webhooks_following_the_component_hear_about_it(
        client, headers, page_code, website, receiver, worker, clock, session):
    api = catalog.create_component(session, ACTOR, "API")
    session.commit()
    created = subscribe_webhook(client, headers, page_code, receiver.url, component_ids=[api.code])
    receiver.secret = created["webhook_secret"]
    set_component_status(client, headers, page_code, website.code, "major_outage")
    set_component_status(client, headers, page_code, api.code, "partial_outage")
    clock[0] += HOLD
    worker.run_once()
    assert [r.json()["component"]["name"] for r in receiver.requests] == ["API"]


def test_without_webhooks_a_status_change_writes_no_event(client, headers, page_code, website, session):
    set_component_status(client, headers, page_code, website.code, "major_outage")
    session.expire_all()
    assert session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "component_update")).all() == []


def test_a_probe_taking_a_component_down_is_posted_too(
        client, headers, page_code, website, hook, receiver, worker, clock, session):
    # The probe path goes through the same components.set_status; one change, one component_update.
    status_rules.set_status(session, website, catalog.ComponentStatus.MAJOR_OUTAGE, Actor.system("probe"))
    session.commit()
    clock[0] += HOLD
    worker.run_once()
    [request] = receiver.requests
    assert request.json()["component_update"]["new_status"] == "major_outage"


# --- the public form's webhook sign-up -------------------------------------------------------------------


def public_hook(client, url: str, email: str = "hooks@example.org", **extra):
    return client.post("/subscribe/webhook", data={"endpoint": url, "email": email, **extra})


def confirmation_link(message) -> str:
    import re

    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://status\.test(/subscribers/confirm/\S+)", text).group(1)


def test_the_public_page_offers_a_webhook_that_starts_after_its_contact_confirms(
        client, page_code, headers, website, receiver, worker, clock, session, smtp_server):
    import re

    sink, _port = smtp_server
    assert 'action="/subscribe/webhook"' in client.get("/").get_data(as_text=True)
    response = public_hook(client, receiver.url)
    assert response.status_code == 200
    assert "Check your inbox" in response.get_data(as_text=True)

    open_incident(client, headers, page_code, name="Before confirming", body="x")
    worker.run_once()
    assert receiver.requests == []  # nothing is POSTed before the contact confirms
    [mail] = sink.to("hooks@example.org")
    assert mail["Subject"] == "[Acme] Confirm your webhook"
    assert receiver.url in mail.get_body(("plain",)).get_content()

    confirm = confirmation_link(mail)
    assert "Confirm your webhook" in client.get(confirm).get_data(as_text=True)
    page = client.post(confirm).get_data(as_text=True)
    receiver.secret = re.search(r'<code class="secret">([0-9a-f]{64})</code>', page).group(1)
    assert "You are subscribed" in page

    open_incident(client, headers, page_code, name="After confirming", body="x")
    worker.run_once()
    [request] = receiver.requests
    assert request.signature_valid
    assert request.json()["incident"]["name"] == "After confirming"


def test_the_signing_secret_is_shown_once_and_the_confirmation_link_expires(
        client, page_code, headers, website, receiver, worker, clock, session, smtp_server, monkeypatch):
    import re

    from statuspage.notify import tokens

    sink, _port = smtp_server
    public_hook(client, receiver.url)
    worker.run_once()
    confirm = confirmation_link(sink.to("hooks@example.org")[0])

    first = client.post(confirm).get_data(as_text=True)
    again = client.post(confirm).get_data(as_text=True)
    shown_again = client.get(confirm).get_data(as_text=True)

    assert re.search(r'<code class="secret">[0-9a-f]{64}</code>', first)
    assert 'class="secret"' not in again and 'class="secret"' not in shown_again

    public_hook(client, "http://127.0.0.1:9/later", email="late@example.org")
    worker.run_once()
    late = confirmation_link(sink.to("late@example.org")[0])
    monkeypatch.setattr(tokens, "CONFIRM_DAYS", 0)  # a week has passed
    import time
    later = time.time() + 2
    monkeypatch.setattr(time, "time", lambda: later)
    expired = client.post(late).get_data(as_text=True)
    assert 'class="secret"' not in expired
    [late_hook] = [s for s in subscribers_now(session) if s.email == "late@example.org"]
    assert late_hook.confirmed_at is None


@pytest.mark.parametrize("url, message", [
    ("http://169.254.169.254/latest", "link-local or cloud-metadata"),
    ("http://[fe80::1]/x", "link-local or cloud-metadata"),
    ("http://x y/", "spaces"),
    ("http://hooks.example.org:99999/", "port"),
    ("javascript:alert(1)", "http:// or https://"),
])
def test_the_public_form_refuses_a_webhook_url_that_could_never_be_called(client, website, session, url, message):
    response = public_hook(client, url)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'role="alert"' in text and message in text
    assert '<details class="webhook-signup" open>' in text
    assert subscribers_now(session) == []


def test_the_public_form_never_hands_out_the_secret_of_someone_elses_webhook(
        client, website, receiver, worker, session, smtp_server):
    sink, _port = smtp_server
    public_hook(client, receiver.url, "owner@example.org")
    again = public_hook(client, receiver.url, "attacker@example.org")
    assert again.status_code == 200  # the same answer as always
    worker.run_once()
    assert sink.to("attacker@example.org") == []
    [subscriber] = subscribers_now(session)
    assert subscriber.email == "owner@example.org"
    public_hook(client, receiver.url, "Owner@Example.org")  # the owner may ask again
    worker.run_once()
    assert [m["Subject"] for m in sink.to("owner@example.org")] == ["[Acme] Confirm your webhook"] * 2


def test_the_public_webhook_form_is_off_when_the_page_takes_no_webhooks(client, website, session):
    get_page(session).allow_webhook_subscribers = False
    session.commit()
    assert 'action="/subscribe/webhook"' not in client.get("/subscribe").get_data(as_text=True)
    assert public_hook(client, "http://127.0.0.1:9/hook").status_code == 404
    assert subscribers_now(session) == []


# --- retries ---------------------------------------------------------------------------------------------


def test_a_disabled_webhook_cannot_be_retried(
        client, headers, page_code, website, hook, receiver, worker, session):
    receiver.default = 500
    for number in range(queue.WEBHOOK_FAILURES_TO_DISABLE):
        open_incident(client, headers, page_code, name=f"Incident {number}", body="x")
    worker.run_once()
    failed = hook_deliveries(session)[0]
    assert failed.status.value == "failed"
    with pytest.raises(InvalidInput, match="disabled"):
        queue.retry(session, ACTOR, failed)
    session.rollback()
    worker.run_once()
    assert len(receiver.requests) == queue.WEBHOOK_FAILURES_TO_DISABLE


# --- uniqueness -------------------------------------------------------------------------------------------


def test_several_webhooks_may_share_one_contact_address(client, headers, page_code, session):
    first = subscribe_webhook(client, headers, page_code, "http://127.0.0.1:9/one", email="hooks@example.org")
    second = subscribe_webhook(client, headers, page_code, "http://127.0.0.1:9/two", email="hooks@example.org")
    assert first["id"] != second["id"]
    same_url = client.post(f"/api/v1/pages/{page_code}/subscribers", headers=headers,
                           json={"subscriber": {"endpoint": "http://127.0.0.1:9/one", "email": "other@example.org"}})
    assert same_url.status_code == 409
    assert same_url.get_json()["error"]["field"] == "endpoint"
    # An email subscriber with the contact's address is someone else again.
    assert client.post(f"/api/v1/pages/{page_code}/subscribers", headers=headers,
                       json={"subscriber": {"email": "hooks@example.org"}}).status_code == 201
    assert client.post(f"/api/v1/pages/{page_code}/subscribers", headers=headers,
                       json={"subscriber": {"email": "hooks@example.org"}}).status_code == 409
