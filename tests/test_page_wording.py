"""Small things people notice: doubled words in titles, a future maintenance that "started", probe times
without their day, the subscribe button, the favicon, and an update's list apart from its component changes."""

from __future__ import annotations

from datetime import timedelta

import lxml.html

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle, windows
from statuspage.page.profile import status_title
from statuspage.page.record import get_page
from tests.probe_builders import a_probe

ACTOR = Actor.system("test")


def titles(response) -> list[str]:
    document = lxml.html.fromstring(response.get_data(as_text=True))
    return [document.findtext(".//title") or "",
            *document.xpath("//meta[@property='og:title' or @property='og:site_name']/@content")]


def test_a_page_named_status_is_never_called_status_status(client, session):
    assert status_title("Acme") == "Acme status"
    assert status_title("Status") == "Status"
    assert status_title("Acme Status") == "Acme Status"
    get_page(session).name = "Acme Status"
    session.commit()
    component = catalog.create_component(session, ACTOR, "API")
    incident = lifecycle.open_incident(session, ACTOR, name="Errors", body="Looking.", status="investigating",
                                       component_statuses={component.code: "major_outage"})
    session.commit()
    for path in ("/", f"/incidents/{incident.code}", "/subscribe"):
        for title in titles(client.get(path)):
            assert "status status" not in title.lower(), (path, title)


def test_a_future_maintenance_never_says_it_started(client, session, login_as):
    login_as("responder")
    start = utcnow() + timedelta(days=3)
    maintenance = windows.schedule_maintenance(session, ACTOR, name="Database upgrade", body="Planned.",
                                               scheduled_for=start, scheduled_until=start + timedelta(hours=2))
    session.commit()
    for path in (f"/admin/incidents/{maintenance.code}", "/admin/incidents"):
        html = client.get(path).get_data(as_text=True)
        assert "Database upgrade" in html
        assert "started" not in html.lower(), path
        assert "scheduled" in html.lower()


def test_a_probe_checked_days_ago_shows_the_day_not_only_the_time(client, session, login_as):
    login_as("admin")
    component = catalog.create_component(session, ACTOR, "Website")
    probe = a_probe(session, component)
    probe.last_check_at = utcnow() - timedelta(days=3)
    session.commit()
    html = client.get("/admin/probes").get_data(as_text=True)
    shown = lxml.html.fromstring(html).xpath("//time[contains(@title, 'UTC')]/text()")
    day = (utcnow() - timedelta(days=3)).strftime("%b")
    assert any(day in text and ":" in text for text in shown), shown


def test_the_page_offers_subscribing_at_the_top_and_has_a_favicon(client):
    document = lxml.html.fromstring(client.get("/").get_data(as_text=True))
    main = document.find(".//main")
    first_link = main.xpath(".//a")[0]
    assert first_link.text_content() == "Subscribe to updates" and first_link.get("href") == "/subscribe"
    [icon] = document.xpath("//link[@rel='icon']/@href")
    answer = client.get(icon)
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"


def test_the_component_changes_of_an_update_are_a_list_of_their_own(client, session):
    component = catalog.create_component(session, ACTOR, "API")
    incident = lifecycle.open_incident(session, ACTOR, name="Errors", body="We:\n\n- restarted\n- watched",
                                       status="investigating", component_statuses={component.code: "major_outage"})
    session.commit()
    document = lxml.html.fromstring(client.get(f"/incidents/{incident.code}").get_data(as_text=True))
    [update] = document.xpath("//li[contains(@class, 'update')]")
    assert [li.text_content() for li in update.xpath(".//div[@class='body']//li")] == ["restarted", "watched"]
    [changes] = update.xpath(".//ul[@aria-label='Component changes']")
    assert "API" in changes.text_content() and changes.get("class") == "affected-list"
