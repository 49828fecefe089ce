"""The whole story in a real browser: probes fail, a responder publishes and updates the drafted
incident, resolves it and publishes the postmortem; a customer subscribes, confirms from the email a
real SMTP server received, watches the page change, reads the postmortem and unsubscribes in one click.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import time
from datetime import timedelta

import pytest
from conftest import screenshot
from sqlalchemy import select

from statuspage import components, create_app
from statuspage.accounts import create_user
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.models import Check
from statuspage.probes import service
from tests.conftest import serving

ACTOR = Actor.system("test")
PASSWORD = "correct horse battery"


@pytest.fixture
def story_app(smtp_settings):
    """The mail-sending app; max-age 0 so the browser re-asks at once (10 s in production)."""
    app = create_app(dataclasses.replace(smtp_settings, public_max_age=0))
    yield app
    app.extensions["statuspage.db"].engine.dispose()


@pytest.fixture
def story_server(story_app):
    """The app over real HTTP; yields its origin."""
    with serving(story_app) as origin:
        yield origin


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def link_in(message, kind: str, origin: str) -> str:
    text = message.get_body(("plain",)).get_content() if hasattr(message, "get_body") else str(message)
    path = re.search(rf"http://status\.test(/subscribers/{kind}/\S+)", text).group(1)
    return origin + path


def test_the_outage_story_end_to_end(page, story_server, story_app, smtp_server, worker_for):
    sink, _port = smtp_server
    origin = story_server
    db = story_app.extensions["statuspage.db"].session()
    database = components.create_component(db, ACTOR, "Database cluster")
    components.create_component(db, ACTOR, "Website")
    service.create_probe(db, ACTOR, {
        "name": "Primary connections", "kind": "tcp", "component_id": database.code,
        "target": f"127.0.0.1:{closed_port()}", "interval_seconds": 10, "timeout_seconds": 2,
        "failures_to_outage": 2, "auto_incident": "draft"}, utcnow())
    create_user(db, "oncall@example.com", PASSWORD, "responder", ACTOR)
    db.commit()
    clock = [utcnow()]
    worker = worker_for(story_app, clock)

    # A customer subscribes from the public page and confirms from the email.
    page.goto(origin + "/")
    assert page.locator("h1").inner_text() == "All Systems Operational"
    page.fill("form.subscribe-form input[name=email]", "customer@example.org")
    page.click("form.subscribe-form button[type=submit]")
    assert "Check your inbox" in page.locator("h1").inner_text()
    worker.run_once()
    [confirmation] = sink.to("customer@example.org")
    page.goto(link_in(confirmation, "confirm", origin))
    page.click("form.confirm-form button[type=submit]")  # opening the link only shows the button
    assert page.locator("h1").inner_text() == "You are subscribed"

    # Probes fail against a closed port: the component goes down and an incident is drafted.
    for _ in range(20):
        clock[0] += timedelta(seconds=11)
        worker.run_once()
        time.sleep(0.1)  # let the check threads (real TCP connects) finish; the next pass writes them
        db.expire_all()
        if components.get_component(db, database.code).status.value == "major_outage":
            break
    assert components.get_component(db, database.code).status.value == "major_outage", [
        (c.ok, c.reason) for c in db.scalars(select(Check))]
    page.goto(origin + "/")
    assert page.locator("h1").inner_text() == "Partial System Outage"

    # The responder signs in, publishes the draft, updates, resolves.
    page.goto(origin + "/login")
    page.fill("input[name=email]", "oncall@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(origin + "/admin/probes")
    assert "Incidents proposed by probes" in page.content()
    page.click("text=Publish incident")
    assert "Incident published." in page.content()
    incident_url = page.url
    page.select_option("select[name=status]", "identified")
    page.fill("textarea[name=body]", "A database cluster **failed**; we are restoring it.")
    page.click("text=Post update")
    assert "Update posted." in page.content()
    screenshot(page, "admin-incident")

    page.goto(origin + "/")
    assert "Current incidents" in page.content()
    screenshot(page, "public-page-during-outage")

    page.goto(incident_url)
    page.select_option("select[name=status]", "resolved")
    page.fill("textarea[name=body]", "Service is restored. We apologize.")
    page.click("text=Post update")
    page.click("text=Write the postmortem")
    for key, text in {"summary": "The database cluster failed.", "root_cause": "A connection pool bug.",
                      "impact": "All users saw errors.", "resolution": "Restarted and patched the pooler.",
                      "conclusion": "We apologize for the inconvenience."}.items():
        page.fill(f"textarea[name=section-{key}]", text)
    screenshot(page, "admin-postmortem")
    with page.expect_navigation():
        page.click("text=Save and publish")
    assert "Postmortem published." in page.locator(".flash").first.inner_text()

    # Everything the customer was told arrived, threaded; the postmortem is public.
    worker.run_once()
    subjects = [m["Subject"] for m in sink.to("customer@example.org")]
    assert subjects[0] == "[Acme] Confirm your subscription"
    assert any(s.endswith("- Investigating") for s in subjects)
    assert any(s.endswith("- Identified") for s in subjects)
    assert any(s.endswith("- Resolved") for s in subjects)
    assert any(s.startswith("[Acme] Postmortem:") for s in subjects)

    public_incident = incident_url.replace("/admin/incidents/", "/incidents/")
    page.goto(public_incident)
    assert "A connection pool bug." in page.content()
    assert "Postmortem" in page.locator("#postmortem-title").inner_text()
    screenshot(page, "incident-with-postmortem")

    # One click unsubscribes (the page's button; mail clients POST the List-Unsubscribe URL).
    last = sink.to("customer@example.org")[-1]
    page.goto(link_in(last, "unsubscribe", origin))
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "You are unsubscribed"
    page.goto(origin + "/")
    assert page.locator("h1").inner_text() == "All Systems Operational"
    screenshot(page, "public-page")
    db.close()
