"""The admin's alert routes page, by persona: admins manage routes, responders see and test them, outsiders sign in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.models import AlertChannel, Delivery, DeliveryStatus, EventKind, OutboxEvent
from statuspage.notify import alert_routes
from statuspage.outbound.guard import Policy
from statuspage.outbox import queue
from tests.probe_builders import sign_in

ACTOR = Actor.system("test")
ROUTING_KEY = "0123456789abcdef0123456789abcdef"
EVERY_EVENT = list(alert_routes.ALL_EVENTS)


def csrf(client, path="/admin/alerts") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def post(client, path, data=None, token_from="/admin/alerts", **kwargs):
    return client.post(path, data={"csrf_token": csrf(client, token_from), **(data or {})}, **kwargs)


def routes_in_db(session) -> list[AlertChannel]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(AlertChannel).order_by(AlertChannel.id)))


def a_route(session, name="On-call", kind="email", target="lead@example.com", events=None) -> AlertChannel:
    route = alert_routes.create_route(session, ACTOR, name=name, kind=kind, target=target, events=events,
                                      policy=Policy(), now=utcnow())
    session.commit()
    return route


def new_route(**fields) -> dict:
    return {"name": "On-call lead", "kind": "email", "target": "lead@example.com", "events": EVERY_EVENT, **fields}


def test_outsiders_are_sent_to_sign_in(client, session):
    route = a_route(session)
    for where in ("/admin/alerts", f"/admin/alerts/{route.code}"):
        response = client.get(where)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_form_offers_every_event_ticked_and_the_users_addresses(client, session):
    me = sign_in(client, session, "admin")
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert 'href="/admin/alerts">Alerts</a>' in page  # in the admin's navigation
    ticked = re.findall(r'name="events" value="(\w+)" checked', page)
    assert ticked == EVERY_EVENT
    assert f'<option value="{me.email}">' in page and 'list="responder-emails"' in page
    assert "Events API v2" in page and "incoming-webhook URL" in page


def test_an_admin_adds_an_email_route_from_the_form(client, session):
    sign_in(client, session, "admin")
    response = post(client, "/admin/alerts", new_route(events=["incident_opened", "incident_resolved"]))
    assert response.status_code == 302
    [route] = routes_in_db(session)
    assert (route.name, route.kind, route.target, route.events, route.secret) == (
        "On-call lead", "email", "lead@example.com", ["incident_opened", "incident_resolved"], None)
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert "Alert route On-call lead added." in page and "lead@example.com" in page


def test_a_webhook_routes_secret_is_shown_once_right_after_creating_it(client, session):
    sign_in(client, session, "admin")
    response = post(client, "/admin/alerts", new_route(name="Ops hook", kind="webhook",
                                                       target="https://ops.example/hooks/T0123/secret-part"))
    assert response.status_code == 201
    [route] = routes_in_db(session)
    shown = response.get_data(as_text=True)
    assert route.secret and route.secret in shown and "shown only this once" in shown
    later = client.get("/admin/alerts").get_data(as_text=True)
    assert route.secret not in later
    assert "https://ops.example/…" in later and "secret-part" not in later  # the URL's path is a secret too


def test_the_list_masks_routing_keys_and_webhook_urls(client, session):
    a_route(session, name="PagerDuty", kind="pagerduty", target=ROUTING_KEY)
    a_route(session, name="Slack", kind="slack", target="https://hooks.slack.com/services/T0/B0/XXXX")
    sign_in(client, session, "responder")
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert ROUTING_KEY not in page and "0123…cdef" in page
    assert "https://hooks.slack.com/…" in page and "/services/T0" not in page


@pytest.mark.parametrize("change, message", [
    ({"kind": "webhook", "target": "http://169.254.169.254/latest/meta-data/"}, "link-local or cloud-metadata"),
    ({"kind": "pagerduty", "target": "not-a-key"}, "PagerDuty routing key"),
    ({"kind": "carrier_pigeon"}, "kind must be one of"),
    ({"events": []}, "Choose at least one event"),
    ({"name": "  "}, "Name is required"),
    ({"target": ""}, "target is required"),
])
def test_a_refused_form_is_drawn_again_with_the_message_and_saves_nothing(client, session, change, message):
    sign_in(client, session, "admin")
    typed = new_route(**{"name": "Keep what I typed", **change})
    response = post(client, "/admin/alerts", typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'value="{typed["name"]}"' in page
    assert routes_in_db(session) == []


def test_a_loopback_receiver_is_allowed(client, session):
    sign_in(client, session, "admin")
    post(client, "/admin/alerts", new_route(kind="webhook", target="http://127.0.0.1:9000/hook"))
    assert [r.target for r in routes_in_db(session)] == ["http://127.0.0.1:9000/hook"]


def test_an_admin_edits_a_route_and_an_empty_target_keeps_the_stored_one(client, session):
    route = a_route(session, kind="pagerduty", target=ROUTING_KEY)
    sign_in(client, session, "admin")
    page = f"/admin/alerts/{route.code}"
    form = client.get(page).get_data(as_text=True)
    assert ROUTING_KEY not in form and "leave empty to keep it" in form
    response = post(client, page, {"name": "Pager", "kind": "pagerduty", "target": "",
                                   "events": ["incident_opened"]}, token_from=page)
    assert response.status_code == 302
    [saved] = routes_in_db(session)
    assert (saved.name, saved.target, saved.events) == ("Pager", ROUTING_KEY, ["incident_opened"])
    refused = post(client, page, {"name": "Pager", "kind": "email", "target": "", "events": EVERY_EVENT},
                   token_from=page)
    assert refused.status_code == 422 and "A new kind needs its own target." in refused.get_data(as_text=True)
    assert routes_in_db(session)[0].kind == "pagerduty"


def test_making_a_route_a_webhook_shows_its_new_secret_once(client, session):
    route = a_route(session)
    sign_in(client, session, "admin")
    page = f"/admin/alerts/{route.code}"
    response = post(client, page, new_route(kind="webhook", target="https://ops.example/hook"), token_from=page)
    [saved] = routes_in_db(session)
    assert response.status_code == 200 and saved.secret and saved.secret in response.get_data(as_text=True)
    assert saved.secret not in client.get(page).get_data(as_text=True)


def test_deleting_a_route_asks_for_its_exact_name(client, session):
    route = a_route(session, name="Old pager")
    sign_in(client, session, "admin")
    where = f"/admin/alerts/{route.code}/delete"
    assert "Type <strong>Old pager</strong> to confirm" in client.get(where).get_data(as_text=True)
    assert post(client, where, {"confirm_name": "Old"}, token_from=where).status_code == 422
    assert len(routes_in_db(session)) == 1
    response = post(client, where, {"confirm_name": "Old pager"}, token_from=where)
    assert response.status_code == 302 and routes_in_db(session) == []
    assert "Alert route Old pager deleted." in client.get("/admin/alerts").get_data(as_text=True)


def test_the_test_button_queues_a_test_alert_for_that_route(client, session):
    route = a_route(session)
    sign_in(client, session, "admin")
    response = post(client, f"/admin/alerts/{route.code}/test")
    assert response.status_code == 302
    assert "Test alert queued for On-call" in client.get("/admin/alerts").get_data(as_text=True)
    session.rollback()
    [event] = session.scalars(select(OutboxEvent)).all()
    assert event.kind == EventKind.ALERT and event.payload["route"] == route.code


def test_each_route_shows_its_last_alerts_outcome(client, session):
    broken = a_route(session, name="Broken hook", kind="webhook", target="https://ops.example/hook")
    a_route(session, name="Quiet lead")
    alert_routes.send_test(session, ACTOR, broken, utcnow())
    session.flush()
    queue.expand(session, session.scalars(select(OutboxEvent)).one(), utcnow(), lambda _ids: None)
    delivery = session.scalars(select(Delivery)).one()
    delivery.status, delivery.last_error = DeliveryStatus.FAILED, "HTTP 410 from ops.example"
    session.commit()
    sign_in(client, session, "responder")
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert "<strong>failed</strong>: HTTP 410 from ops.example" in page and "none yet" in page


def test_a_responder_sees_and_tests_routes_but_cannot_change_them(client, session):
    route = a_route(session)
    sign_in(client, session, "responder")
    page = client.get("/admin/alerts").get_data(as_text=True)
    assert "On-call" in page and "Send a test alert" in page and "Add an alert route" not in page
    assert post(client, f"/admin/alerts/{route.code}/test").status_code == 302
    assert post(client, "/admin/alerts", new_route()).status_code == 403
    assert client.get(f"/admin/alerts/{route.code}").status_code == 403
    assert post(client, f"/admin/alerts/{route.code}", new_route(name="Mine")).status_code == 403
    assert post(client, f"/admin/alerts/{route.code}/delete", {"confirm_name": "On-call"}).status_code == 403
    assert [r.name for r in routes_in_db(session)] == ["On-call"]


def test_unknown_routes_are_404(client, session):
    sign_in(client, session, "admin")
    assert client.get("/admin/alerts/nosuchroute").status_code == 404
    assert post(client, "/admin/alerts/nosuchroute/test").status_code == 404
