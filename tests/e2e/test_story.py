"""The whole story in a real browser, on one simulated clock: probes fail, a responder publishes and
updates the drafted incident, probes see the repair, the responder resolves it and publishes the
postmortem; a customer (in a browser of their own) subscribes, confirms from the email a real SMTP
server received, watches the page change, reads the postmortem with its timeline and figures and
unsubscribes in one click.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import screenshot, sign_in, wait_for_previews
from sqlalchemy import select

from statuspage import create_app
from statuspage.accounts.users import create_user
from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.models import Check
from statuspage.probes import service
from statuspage.worker import Worker
from tests.conftest import serving

ACTOR = Actor.system("test")
PASSWORD = "correct horse battery"
BERLIN = ZoneInfo("Europe/Berlin")  # the test page's time zone


@pytest.fixture
def story_app(smtp_settings, simulated_clock):
    """The mail-sending app; max-age 0 so the browser re-asks at once (10 s in production)."""
    app = create_app(dataclasses.replace(smtp_settings, public_max_age=0))
    yield app
    app.extensions["statuspage.db"].engine.dispose()


@pytest.fixture
def story_server(story_app):
    """The app over real HTTP; yields its origin."""
    with serving(story_app) as origin:
        yield origin


@pytest.fixture
def database_host():
    """A port bound on 127.0.0.1 but not listening (connections are refused) until `.listen()`: the
    database cluster, down, then restarted."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


@pytest.fixture
def responder(browser):
    """The responder's own browser (no cookies shared with the customer's)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def link_in(message, kind: str, origin: str) -> str:
    text = message.get_body(("plain",)).get_content()
    path = re.search(rf"http://status\.test(/subscribers/{kind}/\S+)", text).group(1)
    return origin + path


def minutes(delta: timedelta) -> str:
    """A span as the figures print it."""
    hours, rest = divmod(int(delta.total_seconds() // 60), 60)
    return f"{hours} h {rest} min" if hours and rest else (f"{hours} h" if hours else f"{rest} min")


class Story:
    """The worker on the story's clock, and the database as the test sees it."""

    def __init__(self, app, settings, clock, database_code: str) -> None:
        self.db = app.extensions["statuspage.db"].session()
        self.worker = Worker(app.extensions["statuspage.db"], clock=clock, settings=settings)
        self.clock = clock
        self.database_code = database_code

    def minute_passes(self) -> None:
        """One simulated minute: due probes run (real TCP connects), their checks are written, mail goes."""
        self.clock.advance(minutes=1)
        self.worker.run_once()
        self.worker.probes.finish()
        self.worker.run_once()

    def database_status(self) -> str:
        self.db.expire_all()
        return catalog.get_component(self.db, self.database_code).status.value

    def until_database(self, status: str, limit: int = 10) -> datetime:
        for _ in range(limit):
            self.minute_passes()
            if self.database_status() == status:
                return self.clock.now
        raise AssertionError(f"the database cluster never became {status}: "
                             f"{[(c.at, c.ok, c.reason) for c in self.db.scalars(select(Check))]}")

    def first_failed_check(self) -> datetime:
        return self.db.scalars(select(Check.at).where(Check.ok.is_(False)).order_by(Check.at)).first()


def post_update(tab, status: str, body: str) -> None:
    tab.select_option("select[name=status]", status)
    tab.fill("textarea[name=body]", body)
    with tab.expect_navigation():  # content() does not wait: read the page the post answered with
        tab.click("text=Post update")
    assert "Update posted." in tab.content()


def figures_table(tab) -> dict[str, str]:
    """The admin's "Figures recorded for this incident", label to value."""
    return dict(tab.eval_on_selector_all(
        "table.figures tr", "rows => rows.map(r => [r.querySelector('th'), r.querySelector('td')]"
                            ".map(cell => cell.textContent.trim()))"))


def public_timeline(tab) -> list[tuple[datetime, str]]:
    lines = tab.eval_on_selector_all(
        "ul.pm-timeline li", "items => items.map(li => [li.querySelector('time').dateTime, li.textContent])")
    return [(datetime.fromisoformat(at), text.strip()) for at, text in lines]


def test_the_outage_story_end_to_end(page, responder, story_server, story_app, smtp_settings, smtp_server,
                                     simulated_clock, database_host):
    sink, _port = smtp_server
    origin, clock = story_server, simulated_clock
    customer = page
    db = story_app.extensions["statuspage.db"].session()
    database = catalog.create_component(db, ACTOR, "Database cluster")
    catalog.create_component(db, ACTOR, "Website")
    host, port = database_host.getsockname()
    service.create_probe(db, ACTOR, {
        "name": "Primary connections", "kind": "tcp", "component_id": database.code, "target": f"{host}:{port}",
        "interval_seconds": 60, "timeout_seconds": 2, "failures_to_outage": 2, "successes_to_recover": 2,
        "auto_incident": "draft"}, clock.now)
    create_user(db, "oncall@example.com", PASSWORD, "responder", ACTOR)
    db.commit()
    db.close()
    story = Story(story_app, smtp_settings, clock, database.code)

    # A customer subscribes from the public page and confirms from the email.
    customer.goto(origin + "/")
    assert customer.locator("h1").inner_text() == "All Systems Operational"
    customer.fill("form.subscribe-form input[name=email]", "customer@example.org")
    customer.click("form.subscribe-form button[type=submit]")
    assert "Check your inbox" in customer.locator("h1").inner_text()
    story.worker.run_once()
    [confirmation] = sink.to("customer@example.org")
    customer.goto(link_in(confirmation, "confirm", origin))
    customer.click("form.confirm-form button[type=submit]")  # opening the link only shows the button
    assert customer.locator("h1").inner_text() == "You are subscribed"

    # Probes fail against the cluster's refused connections: it goes down and an incident is drafted.
    down_at = story.until_database("major_outage")
    impact_start = story.first_failed_check()
    customer.goto(origin + "/")
    assert customer.locator("h1").inner_text() == "Partial System Outage"

    # The responder, in their own browser, publishes the draft five minutes later and identifies the cause.
    clock.advance(minutes=5)
    opened_at = clock.now
    sign_in(responder, origin)
    responder.goto(origin + "/admin/probes")
    assert "Incidents proposed by probes" in responder.content()
    with responder.expect_navigation():
        responder.click("text=Publish incident")
    assert "Incident published." in responder.content()
    incident_url = responder.url
    clock.advance(minutes=14)
    identified_at = clock.now
    post_update(responder, "identified", "A database cluster **failed**; we are restarting it.")
    screenshot(responder, "admin-incident")
    customer.goto(origin + "/")
    assert "Current incidents" in customer.content()
    screenshot(customer, "public-page-during-outage")
    customer.goto(origin + "/admin/")
    assert customer.url.startswith(origin + "/login"), "the customer's browser shares the responder's sign-in"

    # The cluster is restarted: probes see it answer and the component recovers on its own.
    clock.advance(minutes=20)
    database_host.listen()
    restored_at = story.until_database("operational")

    # The responder resolves, then writes the postmortem, keeping the figures the page recorded.
    clock.advance(minutes=15)
    resolved_at = clock.now
    responder.goto(incident_url)
    post_update(responder, "resolved", "Service is restored. We apologize.")
    clock.advance(minutes=30)
    with responder.expect_navigation():
        responder.click("text=Write the postmortem")
    figures = figures_table(responder)
    expected = {
        "Duration (impact start to resolution)": minutes(resolved_at - impact_start),
        # Detected when the probes confirmed the outage and drafted the incident (issue 15: not "0 min").
        "Time to detect": minutes(down_at - impact_start),
        "Time to acknowledge (detection to first public update)": minutes(opened_at - down_at),
        "Time to full restoration": minutes(restored_at - impact_start),
        "Time to resolve": minutes(resolved_at - impact_start),
    }
    assert {label: figures.get(label) for label in expected} == expected
    drafted_impact = responder.input_value("textarea[name=section-impact]")
    recorded = drafted_impact[drafted_impact.index("Figures recorded by the status page:"):]
    for key, text in {"summary": "The database cluster failed.", "root_cause": "A connection pool bug.",
                      "impact": "All users saw errors.\n\n" + recorded,
                      "resolution": "Restarted and patched the pooler.",
                      "conclusion": "We apologize for the inconvenience."}.items():
        responder.fill(f"textarea[name=section-{key}]", text)
    wait_for_previews(responder)
    assert "A connection pool bug." in responder.locator("#preview-root_cause").inner_text()
    screenshot(responder, "admin-postmortem")
    with responder.expect_navigation():
        responder.click("text=Save and publish")
    assert "Postmortem published." in responder.locator(".flash").first.inner_text()

    # Everything the customer was told arrived; the postmortem is public, its timeline in order.
    story.minute_passes()
    subjects = [m["Subject"] for m in sink.to("customer@example.org")]
    assert subjects[0] == "[Acme] Confirm your subscription"
    for status in ("Investigating", "Identified", "Monitoring", "Resolved"):
        assert any(s.endswith(f"- {status}") for s in subjects), (status, subjects)
    assert any(s.startswith("[Acme] Postmortem:") for s in subjects)

    customer.goto(incident_url.replace("/admin/incidents/", "/incidents/"))
    assert "A connection pool bug." in customer.content()
    assert "Postmortem" in customer.locator("#postmortem-title").inner_text()
    for label, value in expected.items():
        assert f"{label}: {value}" in customer.locator("section.postmortem").inner_text(), label
    timeline = public_timeline(customer)
    assert [at for at, _text in timeline] == sorted(at for at, _text in timeline), timeline
    story_lines = [
        (impact_start, "Monitoring detected the first failure"),
        (down_at, "Database cluster: Operational → Major Outage"),
        (opened_at, "Incident opened, Investigating"),
        (identified_at, "Identified: A database cluster failed"),
        (restored_at, "Database cluster: Major Outage → Operational"),
        (restored_at, "Full restoration: all affected components operational"),
        (restored_at, f"Monitoring: Checks on Database cluster have been passing since "
                      f"{restored_at.astimezone(BERLIN):%H:%M %Z}."),
        (resolved_at, "Resolved: Service is restored"),
        (resolved_at, "Incident resolved"),
    ]
    for when, start in story_lines:  # each at the moment it happened on the story's clock
        assert any(at == when and start in text for at, text in timeline), f"no {start!r} at {when}: {timeline}"
    screenshot(customer, "incident-with-postmortem")

    # One click unsubscribes (the page's button; mail clients POST the List-Unsubscribe URL).
    last = sink.to("customer@example.org")[-1]
    customer.goto(link_in(last, "unsubscribe", origin))
    customer.click("button[type=submit]")
    assert customer.locator("h1").inner_text() == "You are unsubscribed"
    customer.goto(origin + "/")
    assert customer.locator("h1").inner_text() == "All Systems Operational"
    screenshot(customer, "public-page")
    story.db.close()
