"""The admin's subscribers and deliveries: who may do what, search, counts, CSV both ways, retrying failures."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import lxml.html
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle
from statuspage.models import Component, Delivery, OutboxEvent, Subscriber
from statuspage.notify import subscriber_csv, subscribers
from tests.conftest import post_form

ACTOR = Actor.system("test")



@pytest.fixture
def client(mail_app, session):
    return mail_app.test_client()


@pytest.fixture
def stack(session: Session) -> dict[str, Component]:
    database = catalog.create_component(session, ACTOR, "Database cluster")
    website = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    return {"database": database, "website": website}


# --- builders and readers ---------------------------------------------------------------------------


def a_subscriber(session: Session, email: str | None = None, endpoint: str | None = None,
                 chosen: tuple[Component, ...] = (), confirmed: bool = True) -> Subscriber:
    subscriber = subscribers.create(session, ACTOR, email=email, endpoint=endpoint,
                                    component_codes=[c.code for c in chosen] or None, skip_confirmation=confirmed)
    session.commit()
    return subscriber


def quarantined(session: Session, subscriber: Subscriber) -> Subscriber:
    subscriber.quarantined_at = utcnow()
    session.commit()
    return subscriber


def see_committed(session: Session) -> None:
    session.rollback()
    session.expire_all()


def count(session: Session, model) -> int:
    see_committed(session)
    return session.scalar(select(func.count()).select_from(model))


def addresses(session: Session) -> set[str]:
    see_committed(session)
    return {s.email or s.endpoint for s in session.scalars(select(Subscriber))}


def parse(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def table(response, index: int = 0) -> list[list[str]]:
    """The body rows of the page's `index`-th table, as cell texts."""
    body = parse(response).xpath("//table")[index].xpath("./tbody/tr")
    return [[" ".join(cell.text_content().split()) for cell in row.xpath("./td")] for row in body]


def listed(client, query: str = "") -> list[str]:
    """The addresses the subscriber list shows."""
    response = client.get("/admin/subscribers" + query)
    assert response.status_code == 200
    return [row[0].removesuffix(" (webhook)") for row in table(response) if len(row) > 1]


def flashes(response) -> list[str]:
    return [p.text_content().strip() for p in parse(response).xpath("//p[@class='flash']")]


def upload(client, content: bytes, name: str = "subscribers.csv"):
    return post_form(client, "/admin/subscribers/import", {"file": (io.BytesIO(content), name)},
                     follow_redirects=True)


# --- who may do what ----------------------------------------------------------------------------------


def test_an_outsider_is_sent_to_sign_in_and_changes_nothing(client, session):
    ana = a_subscriber(session, "ana@example.org")
    for path in ("/admin/subscribers", "/admin/subscribers.csv", "/admin/deliveries"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"]
    assert post_form(client, f"/admin/subscribers/{ana.code}/delete", {}).status_code == 302
    assert upload(client, b"email\nnew@example.org\n").request.path == "/login"
    assert addresses(session) == {"ana@example.org"}


def test_a_responder_sees_the_lists_but_may_not_remove_or_import(client, session, login_as):
    ana = a_subscriber(session, "ana@example.org")
    login_as("responder")
    page = client.get("/admin/subscribers")
    assert page.status_code == 200
    assert listed(client) == ["ana@example.org"]
    assert parse(page).xpath("//button[normalize-space()='Remove']") == []
    assert parse(page).xpath("//input[@type='file']") == []
    assert client.get("/admin/subscribers.csv").status_code == 200
    assert client.get("/admin/deliveries").status_code == 200

    assert post_form(client, f"/admin/subscribers/{ana.code}/delete", {}).status_code == 403
    assert post_form(client, "/admin/subscribers/import",
                     {"file": (io.BytesIO(b"email\nnew@example.org\n"), "s.csv")}).status_code == 403
    assert addresses(session) == {"ana@example.org"}


def test_an_admin_removes_a_subscriber(client, session, login_as):
    ana = a_subscriber(session, "ana@example.org")
    a_subscriber(session, "bo@example.org")
    login_as("admin")
    page = client.get("/admin/subscribers")
    assert len(parse(page).xpath("//button[normalize-space()='Remove']")) == 2
    response = post_form(client, f"/admin/subscribers/{ana.code}/delete", {}, follow_redirects=True)
    assert flashes(response) == ["Removed ana@example.org."]
    assert addresses(session) == {"bo@example.org"}
    assert post_form(client, "/admin/subscribers/nosuchsub000/delete", {}).status_code == 404


# --- the list -----------------------------------------------------------------------------------------


@pytest.fixture
def population(session, stack) -> dict[str, Subscriber]:
    return {
        "ana": a_subscriber(session, "ana@example.org", chosen=(stack["database"], stack["website"])),
        "anatol": a_subscriber(session, "anatol@example.net", chosen=(stack["database"],)),
        "bo": a_subscriber(session, "bo@example.org", chosen=(stack["website"],), confirmed=False),
        "everything": a_subscriber(session, "all@example.org"),
        "hook": a_subscriber(session, endpoint="https://hooks.example.org/status"),
        "broken": quarantined(session, a_subscriber(session, endpoint="https://broken.example.net/h",
                                                    chosen=(stack["website"],))),
    }


def test_the_list_searches_addresses_and_endpoints(client, login_as, population):
    login_as("responder")
    assert sorted(listed(client, "?q=ANA")) == ["ana@example.org", "anatol@example.net"]
    assert sorted(listed(client, "?q=example.net")) == ["anatol@example.net", "https://broken.example.net/h"]
    assert listed(client, "?q=nobody") == []


def test_the_list_filters_by_state(client, login_as, population):
    login_as("responder")
    assert len(listed(client)) == 6
    assert listed(client, "?state=unconfirmed") == ["bo@example.org"]
    assert listed(client, "?state=quarantined") == ["https://broken.example.net/h"]
    assert sorted(listed(client, "?state=active")) == sorted(
        ["ana@example.org", "anatol@example.net", "all@example.org", "https://hooks.example.org/status"])
    states = {row[0]: row[1] for row in table(client.get("/admin/subscribers"))}
    assert states["bo@example.org"] == "unconfirmed"
    assert states["https://broken.example.net/h (webhook)"] == "quarantined"
    assert states["all@example.org"] == "confirmed"
    assert client.get("/admin/subscribers?state=everyone").status_code == 400
    assert client.get("/admin/subscribers?page=two").status_code == 400


def test_a_page_number_past_the_end_shows_the_last_page(client, login_as, population):
    login_as("responder")
    for number in ("7", "99999999999999999999999", "-3"):
        response = client.get(f"/admin/subscribers?page={number}")
        assert response.status_code == 200
        assert len(listed(client, f"?page={number}")) == 6


def test_the_list_shows_who_chose_each_component_counting_only_those_who_would_hear(
        client, login_as, population):
    login_as("responder")
    page = client.get("/admin/subscribers")
    per_component = [li.text_content() for li in parse(page).xpath("//details//li")]
    # bo has not confirmed and the broken hook is quarantined: neither would hear about the website.
    assert per_component == ["Database cluster: 2 chose it", "Website: 1 chose it"]
    assert "4 confirmed and active." in page.get_data(as_text=True)


def test_the_incident_form_shows_how_many_subscribers_each_component_would_reach(
        client, login_as, population):
    login_as("responder")
    form = parse(client.get("/admin/incidents/new"))
    labels = {" ".join(label.text_content().split()) for label in form.xpath("//fieldset//label")}
    assert any(text.startswith("Database cluster (now Operational; 2 subscribers chose it)") for text in labels)
    assert any(text.startswith("Website (now Operational; 1 subscriber chose it)") for text in labels)
    [hint] = form.xpath("//fieldset/p[@class='hint']")
    assert "all 4 confirmed subscribers" in " ".join(hint.text_content().split())


# --- CSV ------------------------------------------------------------------------------------------------


def test_the_csv_export_lists_every_subscriber(client, login_as, population):
    login_as("responder")
    response = client.get("/admin/subscribers.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=subscribers.csv"
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert reader.fieldnames == subscriber_csv.CSV_FIELDS
    rows = {row["email"] or row["endpoint"]: row for row in reader}
    assert len(rows) == 6
    assert rows["ana@example.org"]["components"] == "Database cluster;Website"
    assert rows["ana@example.org"]["confirmed"] == "yes"
    assert (rows["bo@example.org"]["confirmed"], rows["bo@example.org"]["components"]) == ("no", "Website")
    assert rows["all@example.org"]["components"] == ""
    assert rows["https://hooks.example.org/status"]["email"] == ""
    assert datetime.fromisoformat(rows["ana@example.org"]["created_at"]).tzinfo is not None


def test_an_import_adds_confirmed_subscribers_without_mailing_them(client, session, login_as, stack):
    a_subscriber(session, "ana@example.org")
    login_as("admin")
    response = upload(client, b"email,components\r\nnew1@example.org,website\r\nNEW2@example.org,\r\n"
                              b"ana@example.org,Website\r\nnew1@example.org,Website\r\n")
    assert flashes(response) == ["Imported 2 subscribers (1 already there)."]
    see_committed(session)
    imported = {s.email: s for s in session.scalars(select(Subscriber))}
    assert set(imported) == {"ana@example.org", "new1@example.org", "new2@example.org"}
    assert [c.name for c in imported["new1@example.org"].components] == ["Website"]
    assert imported["new2@example.org"].all_components
    assert all(s.confirmed_at is not None for s in imported.values())
    assert count(session, OutboxEvent) == 0


def test_an_exported_file_imports_back_without_confirming_anyone_on_their_behalf(
        client, session, login_as, population):
    login_as("admin")
    exported = client.get("/admin/subscribers.csv").get_data()
    for subscriber in population.values():
        subscribers.remove(session, subscriber)
    session.commit()
    response = upload(client, exported)
    assert flashes(response) == ["Imported 3 subscribers (0 already there; 3 webhooks or unconfirmed left out)."]
    see_committed(session)
    assert addresses(session) == {"ana@example.org", "anatol@example.net", "all@example.org"}


@pytest.mark.parametrize("content, message", [
    (b"email\nok@example.org\nnot-an-address\n", "line 3: Invalid email address"),
    (b"email,components\nok@example.org,Website\nalso@example.org,Billing\n", "line 3: unknown component 'Billing'"),
    (b"address\nok@example.org\n", "The CSV needs a header row with an 'email' column."),
    (b"", "The CSV needs a header row with an 'email' column."),
])
def test_one_bad_row_rejects_the_whole_file(client, session, login_as, stack, content, message):
    login_as("admin")
    response = upload(client, content)
    [flashed] = flashes(response)
    assert message in flashed
    assert count(session, Subscriber) == 0


def test_a_file_that_is_not_utf8_is_refused_with_a_message(client, session, login_as):
    login_as("admin")
    response = upload(client, "email\njürgen@example.org\n".encode("latin-1"))
    assert flashes(response) == ["The file is not UTF-8 text."]
    assert count(session, Subscriber) == 0


@pytest.mark.parametrize("size_mb", [1.5, 3])
def test_a_file_that_is_too_large_is_refused_with_a_message(client, session, login_as, size_mb):
    login_as("admin")
    line = b"someone.with.a.long.address@example.org\n"
    content = b"email\n" + line * int(size_mb * 1024 * 1024 / len(line))
    response = upload(client, content)
    assert response.status_code == 200
    assert flashes(response) == ["The file is too large (1 MB at most)."]
    assert count(session, Subscriber) == 0


# --- deliveries -------------------------------------------------------------------------------------------


def publish(session: Session, name: str):
    incident = lifecycle.open_incident(session, ACTOR, name=name, body="We are looking into it.")
    session.commit()
    return incident


def event_rows(client) -> list[list[str]]:
    """Event, written, queued, sent, retrying, failed."""
    return table(client.get("/admin/deliveries"), 0)


def failure_rows(client) -> list[list[str]]:
    """To, status, attempts, last error."""
    return [row[:4] for row in table(client.get("/admin/deliveries"), 1)]


@pytest.fixture
def troubled_sends(session, smtp_server, mail_app, worker_for):
    """Three confirmed subscribers: one accepted, one refused for good (550), one refused for now (451)."""
    sink, _port = smtp_server
    for address in ("ok@example.org", "x@example.org", "y@example.org"):
        a_subscriber(session, address)
    sink.refuse_rcpt["x@example.org"] = "550 No such user"
    sink.refuse_rcpt["y@example.org"] = "451 Mailbox busy"
    clock = [utcnow()]
    return sink, worker_for(mail_app, clock), clock


def test_the_deliveries_page_counts_queued_sent_retrying_and_failed_per_event(
        client, session, login_as, troubled_sends):
    sink, worker, _clock = troubled_sends
    login_as("responder")
    publish(session, "Checkout fails")
    worker.run_once()
    publish(session, "Search is slow")
    assert worker.notifier.handle_one_event_expansion()  # expanded, not yet sent

    second, first = event_rows(client)
    assert first[0] == "Incident: Checkout fails (Investigating)"
    assert first[2:] == ["0", "1", "1", "1"]
    assert second[0] == "Incident: Search is slow (Investigating)"
    assert second[2:] == ["3", "0", "0", "0"]
    assert [m["To"] for m in sink.messages] == ["ok@example.org"]
    failures = sorted(failure_rows(client))
    assert failures[0][:3] == ["x@example.org", "failed", "1"]
    assert "550" in failures[0][3]
    assert failures[1][:3] == ["y@example.org", "retrying", "1"]
    assert "451" in failures[1][3]


def test_a_failed_delivery_is_retried_from_the_page_and_sent_once_the_server_accepts(
        client, session, login_as, troubled_sends):
    sink, worker, clock = troubled_sends
    login_as("responder")
    publish(session, "Checkout fails")
    worker.run_once()
    page = parse(client.get("/admin/deliveries"))
    [button] = page.xpath("//form[contains(@action, '/retry')]")  # only the failed one, not the retrying one
    failed = session.scalars(select(Delivery).where(Delivery.address == "x@example.org")).one()
    assert button.get("action") == f"/admin/deliveries/{failed.id}/retry"

    del sink.refuse_rcpt["x@example.org"]
    response = post_form(client, button.get("action"), {}, follow_redirects=True)
    assert flashes(response) == ["Queued again."]
    assert event_rows(client)[0][2:] == ["1", "1", "1", "0"]
    clock[0] = utcnow()  # the retry is due at once; y's backoff is not over yet
    worker.run_once()
    assert [m["To"] for m in sink.messages] == ["ok@example.org", "x@example.org"]
    assert event_rows(client)[0][2:] == ["0", "2", "1", "0"]


def test_retrying_a_delivery_that_was_sent_changes_nothing(client, session, login_as, troubled_sends):
    sink, worker, clock = troubled_sends
    login_as("responder")
    publish(session, "Checkout fails")
    worker.run_once()
    sent = session.scalars(select(Delivery).where(Delivery.address == "ok@example.org")).one()
    response = post_form(client, f"/admin/deliveries/{sent.id}/retry", {}, follow_redirects=True)
    assert flashes(response) == ["Only a failed delivery can be retried."]
    clock[0] += timedelta(hours=1)
    worker.run_once()
    assert event_rows(client)[0][2:] == ["0", "1", "1", "1"]  # nothing left "queued" for ever
    assert [m["To"] for m in sink.messages] == ["ok@example.org"]
    assert post_form(client, "/admin/deliveries/999999/retry", {}).status_code == 404


def test_an_outsider_cannot_retry_a_delivery(client, session, troubled_sends):
    _sink, worker, _clock = troubled_sends
    publish(session, "Checkout fails")
    worker.run_once()
    failed = session.scalars(select(Delivery).where(Delivery.address == "x@example.org")).one()
    assert post_form(client, f"/admin/deliveries/{failed.id}/retry", {}).status_code == 302
    see_committed(session)
    assert session.get(Delivery, failed.id).status.value == "failed"


# --- how many a notification reaches, before publishing ----------------------------------------------


def reached(response) -> int:
    """The count next to "Notify subscribers"."""
    [note] = parse(response).xpath("//small[@class='reach']/span[@data-reach]")
    return int(note.text_content())


def test_the_publish_forms_say_how_many_confirmed_subscribers_a_notification_reaches(
        client, session, login_as, population, stack):
    login_as("responder")
    # Active: ana (database, website), anatol (database), everything, hook (all); bo is unconfirmed, broken disabled.
    assert reached(client.get("/admin/incidents/new")) == 4
    assert reached(client.get("/admin/maintenance/new")) == 4

    website_only = lifecycle.open_incident(session, ACTOR, name="Website slow", body="x",
                                           component_statuses={stack["website"].code: "degraded_performance"})
    session.commit()
    assert reached(client.get(f"/admin/incidents/{website_only.code}")) == 3

    # Without JavaScript the count follows the components chosen when the form comes back.
    refused = post_form(client, "/admin/incidents/new", {
        "name": "", "body": "x", "status": "investigating", f"component-{stack['website'].code}": "major_outage"},
        token_from="/admin/incidents/new")
    assert refused.status_code == 422
    assert reached(refused) == 3

    lifecycle.post_update(session, ACTOR, website_only, status="resolved", body="Fixed.")
    session.commit()
    assert reached(client.get(f"/admin/incidents/{website_only.code}/postmortem")) == 3


def test_the_count_is_recounted_for_the_components_chosen(client, session, login_as, population, stack):
    login_as("responder")
    reach = "/admin/subscribers/reach?components="
    assert client.get(reach).get_json() == {"count": 4}
    assert client.get(reach + stack["website"].code).get_json() == {"count": 3}
    assert client.get(reach + stack["database"].code).get_json() == {"count": 4}
    assert client.get(reach + f"{stack['website'].code},{stack['database'].code}").get_json() == {"count": 4}


def test_an_outsider_cannot_count_subscribers(client, session, population):
    assert client.get("/admin/subscribers/reach").status_code == 302


# --- removing a subscriber ------------------------------------------------------------------------------


def test_removing_a_subscriber_keeps_what_was_sent_and_sends_nothing_more(
        client, session, login_as, troubled_sends):
    sink, worker, clock = troubled_sends
    login_as("admin")
    publish(session, "Checkout fails")
    worker.run_once()
    assert event_rows(client)[0][2:] == ["0", "1", "1", "1"]
    retrying = session.scalars(select(Subscriber).where(Subscriber.email == "y@example.org")).one()
    sent = session.scalars(select(Subscriber).where(Subscriber.email == "ok@example.org")).one()
    for subscriber in (retrying, sent):
        post_form(client, f"/admin/subscribers/{subscriber.code}/delete", {}, token_from="/admin/subscribers")

    # The counts of the past stay; y's pending retry is parked, never sent.
    assert event_rows(client)[0][2:] == ["0", "1", "0", "2"]
    del sink.refuse_rcpt["y@example.org"]
    clock[0] += timedelta(hours=2)
    worker.run_once()
    assert [m["To"] for m in sink.messages] == ["ok@example.org"]
    see_committed(session)
    parked = session.scalars(select(Delivery).where(Delivery.address == "y@example.org")).one()
    assert (parked.status.value, parked.last_error, parked.subscriber_id) == ("failed", "subscriber removed", None)
    response = post_form(client, f"/admin/deliveries/{parked.id}/retry", {}, follow_redirects=True,
                         token_from="/admin/deliveries")
    assert flashes(response) == ["The subscriber was removed; there is no one to send this to."]
