"""What customers read about incidents and maintenance: the front page, incident pages, the history."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
from flask import Flask
from sqlalchemy.orm import Session
from test_api_v2 import validator

from statuspage.audit import Actor
from statuspage.components import catalog, status_rules
from statuspage.config import Settings
from statuspage.incidents import lifecycle, windows
from statuspage.models import Component, ComponentStatus, Incident
from statuspage.postmortems import editing
from statuspage.worker import Worker

ACTOR = Actor.system("test")
T0 = datetime(2024, 7, 15, 10, 30, tzinfo=UTC)
BASE = "http://status.test"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every request re-reads the page version, so a change shows at once."""
    return dataclasses.replace(settings, version_check_seconds=0)


# --- builders ---------------------------------------------------------------------------------


def a_component(session: Session, name: str, status: str = "operational") -> Component:
    component = catalog.create_component(session, ACTOR, name, status=status)
    session.commit()
    return component


def an_incident(session: Session, name: str, at: datetime = T0, **fields) -> Incident:
    fields.setdefault("body", f"{name}: we are investigating.")
    incident = lifecycle.open_incident(session, ACTOR, name=name, started_at=at, now=at, **fields)
    session.commit()
    return incident


def an_update(session: Session, incident: Incident, status: str, body: str, at: datetime, **fields) -> None:
    lifecycle.post_update(session, ACTOR, incident, status=status, body=body, now=at, **fields)
    session.commit()


def a_maintenance(session: Session, name: str, start: datetime, hours: int = 2, **fields) -> Incident:
    fields.setdefault("now", start - timedelta(days=1))
    maintenance = windows.schedule_maintenance(
        session, ACTOR, name=name, body=f"{name} is planned.", scheduled_for=start,
        scheduled_until=start + timedelta(hours=hours), **fields,
    )
    session.commit()
    return maintenance


def a_reviewed_incident(session: Session, name: str, at: datetime) -> Incident:
    """A resolved incident whose postmortem is published (its status becomes `postmortem`)."""
    incident = an_incident(session, name, at, status="resolved")
    postmortem = editing.start(session, ACTOR, incident, "Europe/Berlin")
    editing.edit(session, ACTOR, incident, postmortem, "Europe/Berlin", sections={
        key: f"What we learned ({key})." for key in ("summary", "root_cause", "impact", "resolution", "conclusion")})
    editing.publish(session, ACTOR, incident, postmortem, "Europe/Berlin", notify=False)
    session.commit()
    return incident


# --- reading ----------------------------------------------------------------------------------


def parse(response) -> lxml.html.HtmlElement:
    assert response.status_code == 200, response.get_data(as_text=True)
    return lxml.html.fromstring(response.get_data(as_text=True))


def text(element) -> str:
    return " ".join(element.text_content().split())


def card_titles(document, section: str) -> list[str]:
    return [text(h) for h in document.xpath(f"//section[@class='{section}']//article/h3")]


def overall(document) -> tuple[str, str]:
    """(indicator, words) of the overall state at the top of the page."""
    [box] = document.xpath("//section[contains(@class, 'overall')]")
    indicator = next(c for c in box.get("class").split() if c.startswith("status-")).removeprefix("status-")
    return indicator, text(box.xpath(".//h1")[0])


def status_of(session: Session, component: Component) -> ComponentStatus:
    session.rollback()
    session.expire_all()
    return session.get(Component, component.id).status


# --- the front page -----------------------------------------------------------------------------


def test_the_front_page_shows_unresolved_incidents_most_recently_updated_first(client, session):
    older = an_incident(session, "Login failures", T0)
    newer = an_incident(session, "Slow search", T0 + timedelta(hours=1))
    an_update(session, older, "identified", "Found the **bad cert**.", T0 + timedelta(hours=2))
    done = an_incident(session, "Old trouble", T0 - timedelta(days=1))
    an_update(session, done, "resolved", "Fixed.", T0 - timedelta(hours=20))

    document = parse(client.get("/"))

    assert card_titles(document, "incidents") == ["Login failures", "Slow search"]
    first, second = document.xpath("//section[@class='incidents']//article")
    # Each card shows its updates newest first.
    assert [text(h).split(" · ")[0] for h in first.xpath(".//p[@class='update-head']")] == [
        "Identified", "Investigating"]
    assert first.xpath(".//div[@class='body'][1]//strong/text()") == ["bad cert"]
    assert [text(b) for b in first.xpath(".//div[@class='body']")] == [
        "Found the bad cert.", "Login failures: we are investigating."]
    assert [text(h).split(" · ")[0] for h in second.xpath(".//p[@class='update-head']")] == ["Investigating"]
    assert first.xpath(".//h3/a/@href") == [f"/incidents/{older.code}"]
    assert second.xpath(".//h3/a/@href") == [f"/incidents/{newer.code}"]
    # The resolved one is among the past incidents, not the current ones.
    assert "Old trouble" in text(document.xpath("//section[@class='past']")[0])


def test_the_front_page_names_the_components_an_incident_affects(client, session):
    api = a_component(session, "API")
    an_incident(session, "API errors", component_statuses={api.code: "partial_outage"})

    document = parse(client.get("/"))

    [card] = document.xpath("//section[@class='incidents']//article")
    assert text(card.xpath(".//p[@class='affected']")[0]) == "Affects: API"


def test_incidents_and_maintenance_come_before_the_components(client, session):
    a_component(session, "API")
    an_incident(session, "API errors")
    a_maintenance(session, "Database upgrade", datetime.now(UTC) + timedelta(days=1))

    document = parse(client.get("/"))

    order = [s.get("class") for s in document.xpath("//main/section")]
    assert order.index("incidents") < order.index("components")
    assert order.index("maintenance") < order.index("components")
    assert card_titles(document, "maintenance") == ["Database upgrade"]


def test_upcoming_maintenance_shows_its_window_in_the_page_timezone(client, session):
    start = datetime(2030, 1, 10, 22, 0, tzinfo=UTC)
    a_maintenance(session, "Network work", start, now=start - timedelta(days=2))

    document = parse(client.get("/"))

    [section] = document.xpath("//section[@class='maintenance']")
    assert text(section.xpath("./h2")[0]) == "Scheduled maintenance"
    [begin, end] = section.xpath(".//p[@class='window']/time")
    # 22:00 UTC on a January evening is 23:00 in Berlin; the UTC time is on hover.
    assert text(begin) == "Jan 10, 2030 23:00 CET"
    assert begin.get("title") == "2030-01-10 22:00:00 UTC"
    assert text(end) == "Jan 11, 2030 01:00 CET"


def test_completed_maintenance_and_resolved_incidents_leave_the_top_of_the_page(client, session):
    maintenance = a_maintenance(session, "Done work", T0)
    an_update(session, maintenance, "completed", "Finished.", T0 + timedelta(hours=1))
    incident = an_incident(session, "Fixed thing")
    an_update(session, incident, "resolved", "Fixed.", T0 + timedelta(hours=1))

    document = parse(client.get("/"))

    assert document.xpath("//section[@class='incidents']") == []
    assert document.xpath("//section[@class='maintenance']") == []


# --- an incident's page -----------------------------------------------------------------------


def test_an_incident_page_shows_the_whole_timeline(client, session):
    api = a_component(session, "API")
    database = a_component(session, "Database")
    incident = an_incident(session, "API outage", T0, component_statuses={api.code: "major_outage"},
                           body="Requests **fail**.")
    an_update(session, incident, "identified", "The database is *full*.", T0 + timedelta(minutes=20),
              component_statuses={database.code: "degraded_performance"})
    an_update(session, incident, "resolved", "Disk grown; all good.", T0 + timedelta(hours=1))

    document = parse(client.get(f"/incidents/{incident.code}"))

    assert text(document.xpath("//h1")[0]) == "API outage"
    assert text(document.xpath("//p[@class='affected']")[0]) == "Affected components: API, Database"
    updates = document.xpath("//ol[@class='timeline']/li")
    assert [text(u.xpath(".//strong")[0]) for u in updates] == ["Resolved", "Identified", "Investigating"]
    assert [text(u.xpath(".//div[@class='body']")[0]) for u in updates] == [
        "Disk grown; all good.", "The database is full.", "Requests fail.",
    ]
    assert updates[1].xpath(".//div[@class='body']//em/text()") == ["full"]
    # Times in Berlin (summer time), UTC on hover.
    times = [u.xpath(".//time")[0] for u in updates]
    assert [text(t) for t in times] == [
        "Jul 15, 2024 13:30 CEST", "Jul 15, 2024 12:50 CEST", "Jul 15, 2024 12:30 CEST",
    ]
    assert [t.get("title") for t in times] == [
        "2024-07-15 11:30:00 UTC", "2024-07-15 10:50:00 UTC", "2024-07-15 10:30:00 UTC",
    ]
    assert times[2].get("datetime").startswith("2024-07-15T10:30:00")
    # What each update did to the components.
    assert [text(li) for li in updates[2].xpath(".//ul[@class='affected-list']/li")] == [
        "API: Operational → Major Outage"
    ]
    assert [text(li) for li in updates[1].xpath(".//ul[@class='affected-list']/li")] == [
        "Database: Operational → Degraded Performance"
    ]
    assert sorted(text(li) for li in updates[0].xpath(".//ul[@class='affected-list']/li")) == [
        "API: Major Outage → Operational", "Database: Degraded Performance → Operational",
    ]


def test_a_status_the_update_did_not_change_is_shown_once(client, session):
    """Probes may already have taken a component down when the incident opens."""
    database = a_component(session, "Database", status="major_outage")
    incident = an_incident(session, "Database down", component_statuses={database.code: "major_outage"})

    document = parse(client.get(f"/incidents/{incident.code}"))

    assert [text(li) for li in document.xpath("//ul[@class='affected-list']/li")] == ["Database: Major Outage"]


def test_a_maintenance_page_shows_its_window(client, session):
    start = datetime(2024, 1, 10, 22, 0, tzinfo=UTC)
    maintenance = a_maintenance(session, "Network work", start)

    document = parse(client.get(f"/incidents/{maintenance.code}"))

    meta = text(document.xpath("//p[@class='meta']")[0])
    assert meta.startswith("Maintenance · scheduled Jan 10, 2024 23:00 CET – Jan 11, 2024 01:00 CET")
    assert "Status: Scheduled" in meta


def test_an_unknown_incident_is_a_404_page(client, session):
    response = client.get("/incidents/nosuchincide")

    assert response.status_code == 404
    document = lxml.html.fromstring(response.get_data(as_text=True))
    assert text(document.xpath("//h1")[0]) == "Not found"
    assert "no incident" in text(document.xpath("//*[@role='alert']")[0]).lower()


# --- the history ------------------------------------------------------------------------------


def months_ago(months: int, base: datetime = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)) -> datetime:
    year, month = divmod(base.year * 12 + base.month - 1 - months, 12)
    return base.replace(year=year, month=month + 1)


@pytest.fixture
def two_years(session: Session) -> list[Incident]:
    """22 resolved incidents, one a month from June 2024 back, and a second in the oldest month."""
    made = []
    for months in range(22):
        at = months_ago(months)
        made.append(an_incident(session, f"Incident {at:%Y-%m}", at, status="resolved"))
    made.append(an_incident(session, "Incident 2022-09 again", months_ago(21) + timedelta(days=2),
                            status="resolved"))
    return made


def months_and_names(document) -> list[tuple[str, list[str]]]:
    """(month heading, incident names) in page order."""
    result = []
    for heading in document.xpath("//main/h2"):
        [listing] = heading.xpath("following-sibling::ul[1]")
        result.append((text(heading), [text(a) for a in listing.xpath("./li/a")]))
    return result


def test_the_history_lists_the_newest_twenty_incidents_grouped_by_month(client, two_years):
    document = parse(client.get("/history"))

    groups = months_and_names(document)
    assert len(groups) == 20
    assert groups[:3] == [
        ("June 2024", ["Incident 2024-06"]),
        ("May 2024", ["Incident 2024-05"]),
        ("April 2024", ["Incident 2024-04"]),
    ]
    assert groups[-1] == ("November 2022", ["Incident 2022-11"])
    assert text(document.xpath("//nav[@class='pager']/span")[0]) == "Page 1 of 2"
    assert document.xpath("//nav[@class='pager']/a[@rel='next']/@href") == ["/history?page=2"]
    assert document.xpath("//nav[@class='pager']/a[@rel='prev']") == []


def test_the_second_history_page_holds_the_rest(client, two_years):
    document = parse(client.get("/history?page=2"))

    assert months_and_names(document) == [
        ("October 2022", ["Incident 2022-10"]),
        ("September 2022", ["Incident 2022-09 again", "Incident 2022-09"]),
    ]
    assert text(document.xpath("//nav[@class='pager']/span")[0]) == "Page 2 of 2"
    # The first page's address is /history itself, as its canonical link says.
    assert document.xpath("//nav[@class='pager']/a[@rel='prev']/@href") == ["/history"]
    assert document.xpath("//nav[@class='pager']/a[@rel='next']") == []


def test_a_history_page_past_the_end_shows_the_last_page(client, two_years):
    document = parse(client.get("/history?page=99"))

    assert text(document.xpath("//nav[@class='pager']/span")[0]) == "Page 2 of 2"
    assert document.xpath("//head/link[@rel='canonical']/@href") == [f"{BASE}/history?page=2"]


@pytest.mark.parametrize("number", ["0", "-3"])
def test_a_history_page_before_the_first_shows_the_first(client, two_years, number):
    document = parse(client.get(f"/history?page={number}"))

    assert text(document.xpath("//nav[@class='pager']/span")[0]) == "Page 1 of 2"
    assert document.xpath("//head/link[@rel='canonical']/@href") == [f"{BASE}/history"]


@pytest.mark.parametrize(("path", "title", "canonical", "prev", "next"), [
    ("/history", "History – Acme", "/history", None, "/history?page=2"),
    ("/history?page=1", "History – Acme", "/history", None, "/history?page=2"),
    ("/history?page=2", "History – page 2 – Acme", "/history?page=2", "/history", "/history?page=3"),
    ("/history?page=3", "History – page 3 – Acme", "/history?page=3", "/history?page=2", None),
])
def test_each_history_page_has_its_own_title_canonical_link_and_neighbours(
    client, session, path, title, canonical, prev, next
):
    for day in range(45):  # three pages of twenty
        an_incident(session, f"Trouble {day}", T0 - timedelta(days=day), status="resolved")

    document = parse(client.get(path))

    assert text(document.xpath("//head/title")[0]) == title
    assert document.xpath("//head/link[@rel='canonical']/@href") == [BASE + canonical]
    assert document.xpath("//head/link[@rel='prev']/@href") == ([BASE + prev] if prev else [])
    assert document.xpath("//head/link[@rel='next']/@href") == ([BASE + next] if next else [])
    assert document.xpath("//nav[@class='pager']/a[@rel='prev']/@href") == ([prev] if prev else [])
    assert document.xpath("//nav[@class='pager']/a[@rel='next']/@href") == ([next] if next else [])


@pytest.mark.parametrize("number", ["abc", "1.5", "", "½"])
def test_a_history_page_number_that_is_not_a_number_is_a_400(client, session, number):
    response = client.get(f"/history?page={number}")

    assert response.status_code == 400
    assert "page must be a whole number" in response.get_data(as_text=True)


def test_the_history_groups_by_month_in_the_page_timezone(client, session):
    # 22:30 UTC on 31 March is already April in Berlin (UTC+2).
    an_incident(session, "Midnight trouble", datetime(2024, 3, 31, 22, 30, tzinfo=UTC), status="resolved")

    document = parse(client.get("/history"))

    assert months_and_names(document) == [("April 2024", ["Midnight trouble"])]
    assert text(document.xpath("//li/time")[0]) == "Apr 01, 00:30 CEST"


def test_the_history_includes_completed_maintenance(client, session):
    maintenance = a_maintenance(session, "Network work", T0)
    an_update(session, maintenance, "in_progress", "Started.", T0)
    an_update(session, maintenance, "completed", "Done.", T0 + timedelta(hours=1))

    document = parse(client.get("/history"))

    assert months_and_names(document) == [("July 2024", ["Network work"])]
    assert "(maintenance)" in text(document)


def test_the_history_holds_only_what_is_over(client, session):
    """What is still going on is on the front page; the history is the record of the past."""
    now = datetime.now(UTC).replace(microsecond=0)
    an_incident(session, "Open trouble", now - timedelta(hours=3))
    monitored = an_incident(session, "Watched trouble", now - timedelta(hours=2))
    an_update(session, monitored, "monitoring", "A fix is out.", now - timedelta(hours=1))
    a_maintenance(session, "Upcoming work", now + timedelta(days=1), now=now)
    running = a_maintenance(session, "Running work", now - timedelta(minutes=30), now=now - timedelta(hours=1))
    an_update(session, running, "in_progress", "Started.", now - timedelta(minutes=30))
    verifying = a_maintenance(session, "Checked work", now - timedelta(hours=2), now=now - timedelta(hours=3))
    an_update(session, verifying, "in_progress", "Started.", now - timedelta(hours=2))
    an_update(session, verifying, "verifying", "Checking.", now - timedelta(hours=1))
    fixed = an_incident(session, "Fixed trouble", now - timedelta(days=2))
    an_update(session, fixed, "resolved", "Fixed.", now - timedelta(days=1))
    reviewed = a_reviewed_incident(session, "Reviewed trouble", now - timedelta(days=3))
    done = a_maintenance(session, "Done work", now - timedelta(days=4), now=now - timedelta(days=5))
    an_update(session, done, "in_progress", "Started.", now - timedelta(days=4))
    an_update(session, done, "completed", "Done.", now - timedelta(days=4) + timedelta(hours=1))

    history = parse(client.get("/history"))
    front = parse(client.get("/"))

    names = [text(a) for a in history.xpath("//main//li/a")]
    assert names == ["Fixed trouble", "Reviewed trouble", "Done work"]
    assert reviewed.status == "postmortem"
    assert card_titles(front, "incidents") == ["Watched trouble", "Open trouble"]
    assert card_titles(front, "maintenance") == ["Checked work", "Running work", "Upcoming work"]


def test_an_incident_moves_to_the_history_when_it_is_resolved(client, session):
    incident = an_incident(session, "Login failures")
    before = parse(client.get("/history"))
    an_update(session, incident, "resolved", "Fixed.", T0 + timedelta(hours=1))

    after = parse(client.get("/history"))

    assert before.xpath("//main//li/a") == []
    assert [text(a) for a in after.xpath("//main//li/a")] == ["Login failures"]


def test_an_empty_history_says_so(client, session):
    an_incident(session, "Open trouble")

    document = parse(client.get("/history"))

    assert "No past incidents reported." in text(document)
    assert text(document.xpath("//nav[@class='pager']/span")[0]) == "Page 1 of 1"


# --- titles, canonical links, Open Graph --------------------------------------------------------


@pytest.mark.parametrize(("path", "canonical", "title_has"), [
    ("/", f"{BASE}/", "Acme"),
    ("/incidents/{code}", f"{BASE}/incidents/{{code}}", "API outage"),
    ("/history", f"{BASE}/history", "History – Acme"),
    ("/history?page=2", f"{BASE}/history?page=2", "History – page 2 – Acme"),
])
def test_every_page_has_a_title_a_canonical_link_and_open_graph_tags(
    client, session, two_years, path, canonical, title_has
):
    incident = an_incident(session, "API outage", T0 + timedelta(days=400), body="Requests fail.")

    document = parse(client.get(path.format(code=incident.code)))

    [title] = document.xpath("//head/title")
    assert title_has in text(title)
    expected = canonical.format(code=incident.code)
    assert document.xpath("//head/link[@rel='canonical']/@href") == [expected]
    og = {m.get("property"): m.get("content") for m in document.xpath("//head/meta[@property]")}
    assert og["og:url"] == expected
    assert og["og:title"]
    assert og["og:description"]


def test_an_incident_page_previews_with_its_name_and_latest_status(client, session):
    incident = an_incident(session, "API outage", body="Requests **fail** for some customers.")

    document = parse(client.get(f"/incidents/{incident.code}"))

    og = {m.get("property"): m.get("content") for m in document.xpath("//head/meta[@property]")}
    assert og["og:title"] == "API outage"
    assert og["og:description"].startswith("Investigating: ")
    assert "API outage" in text(document.xpath("//head/title")[0])


# --- maintenance moving on its own --------------------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_maintenance_moves_through_its_window_with_the_worker(app: Flask, client, session):
    website = a_component(session, "Website")
    database = a_component(session, "Database")
    other = a_component(session, "Billing")
    start = T0 + timedelta(days=1)
    maintenance = a_maintenance(session, "Database upgrade", start, hours=2,
                                component_codes=[website.code, database.code], now=T0)
    clock = Clock(start - timedelta(minutes=1))
    worker = Worker(app.extensions["statuspage.db"], clock=clock)

    assert worker.run_once() == 0
    assert overall(parse(client.get("/"))) == ("none", "All Systems Operational")
    assert card_titles(parse(client.get("/")), "maintenance") == ["Database upgrade"]

    clock.now = start
    assert worker.run_once() == 1
    assert status_of(session, website) == ComponentStatus.UNDER_MAINTENANCE
    assert status_of(session, database) == ComponentStatus.UNDER_MAINTENANCE
    assert status_of(session, other) == ComponentStatus.OPERATIONAL
    document = parse(client.get("/"))
    assert overall(document) == ("maintenance", "Service Under Maintenance")
    assert text(document.xpath("//section[@class='maintenance']/h2")[0]) == "Maintenance in progress"

    clock.now = start + timedelta(hours=1)
    assert worker.run_once() == 0

    clock.now = start + timedelta(hours=2)
    assert worker.run_once() == 1
    assert status_of(session, website) == ComponentStatus.OPERATIONAL
    assert status_of(session, database) == ComponentStatus.OPERATIONAL
    document = parse(client.get("/"))
    assert overall(document) == ("none", "All Systems Operational")
    assert document.xpath("//section[@class='maintenance']") == []

    timeline = parse(client.get(f"/incidents/{maintenance.code}")).xpath("//ol[@class='timeline']/li")
    assert [text(u.xpath(".//strong")[0]) for u in timeline] == ["Completed", "In progress", "Scheduled"]
    assert worker.run_once() == 0


def test_a_window_the_worker_missed_is_started_and_completed_in_one_pass(app: Flask, client, session):
    website = a_component(session, "Website")
    start = T0 + timedelta(days=1)
    maintenance = a_maintenance(session, "Missed window", start, component_codes=[website.code], now=T0)
    worker = Worker(app.extensions["statuspage.db"], clock=Clock(start + timedelta(hours=5)))

    assert worker.run_once() == 1

    assert status_of(session, website) == ComponentStatus.OPERATIONAL
    timeline = parse(client.get(f"/incidents/{maintenance.code}")).xpath("//ol[@class='timeline']/li")
    assert [text(u.xpath(".//strong")[0]) for u in timeline] == ["Completed", "In progress", "Scheduled"]


def test_maintenance_without_auto_transition_waits_for_a_responder(app: Flask, client, session):
    website = a_component(session, "Website")
    start = T0 + timedelta(days=1)
    a_maintenance(session, "Manual window", start, component_codes=[website.code], now=T0,
                  auto_transition=False)
    worker = Worker(app.extensions["statuspage.db"], clock=Clock(start + timedelta(minutes=30)))

    assert worker.run_once() == 0
    assert status_of(session, website) == ComponentStatus.OPERATIONAL


@pytest.mark.parametrize(("trouble", "expected"), [
    ("component", ("minor", "Minor Service Outage")),
    ("incident", ("major", "Partial System Outage")),
])
def test_the_indicator_shows_maintenance_only_when_nothing_else_is_wrong(
    app: Flask, client, session, trouble, expected
):
    website = a_component(session, "Website")
    api = a_component(session, "API")
    start = T0 + timedelta(days=1)
    a_maintenance(session, "Upgrade", start, component_codes=[website.code], now=T0)
    Worker(app.extensions["statuspage.db"], clock=Clock(start)).run_once()
    assert overall(parse(client.get("/")))[0] == "maintenance"

    if trouble == "component":
        status_rules.set_status(session, session.get(Component, api.id), ComponentStatus.DEGRADED_PERFORMANCE, ACTOR)
        session.commit()
    else:
        an_incident(session, "Payments failing", start, impact_override="major")

    assert overall(parse(client.get("/"))) == expected


# --- recovering: an incident in monitoring with its components back -------------------------------


def status_json(client) -> dict[str, str]:
    return client.get("/api/v2/status.json").get_json()["status"]


def test_an_incident_in_monitoring_with_every_component_back_is_no_longer_red_and_says_recovering(client, session):
    database = a_component(session, "Database")
    a_component(session, "Website")
    outage = an_incident(session, "Database down", status="investigating",
                         component_statuses={database.code: "major_outage"})
    assert overall(parse(client.get("/")))[0] == "critical"

    an_update(session, outage, "monitoring", "A fix is out; we are watching.", T0 + timedelta(minutes=30),
              component_statuses={database.code: "operational"})

    document = parse(client.get("/"))
    assert overall(document) == ("minor", "Recovering from an Incident")
    assert "recovering" in text(document.xpath("//title")[0]).lower()
    assert card_titles(document, "incidents") == ["Database down"]
    assert status_json(client) == {"indicator": "minor", "description": "Recovering from an Incident"}
    summary = client.get("/api/v2/summary.json").get_json()
    validator("summary.json").validate(summary)
    assert summary["status"] == status_json(client)


def test_an_incident_in_monitoring_with_a_component_still_down_stays_red(client, session):
    database = a_component(session, "Database")
    cache = a_component(session, "Cache")
    outage = an_incident(session, "Database down", status="investigating",
                         component_statuses={database.code: "major_outage", cache.code: "major_outage"})

    an_update(session, outage, "monitoring", "Database is back; the cache is warming.", T0 + timedelta(minutes=30),
              component_statuses={database.code: "operational"})

    assert overall(parse(client.get("/"))) == ("critical", "Major System Outage")
    assert status_json(client) == {"indicator": "critical", "description": "Major System Outage"}


def test_a_recovering_incident_does_not_hide_another_that_is_still_open(client, session):
    database = a_component(session, "Database")
    a_component(session, "Website")
    recovering = an_incident(session, "Database down", status="investigating",
                             component_statuses={database.code: "major_outage"})
    an_update(session, recovering, "monitoring", "Fixed, watching.", T0 + timedelta(minutes=30),
              component_statuses={database.code: "operational"})
    an_incident(session, "Emails delayed", T0 + timedelta(minutes=40), impact_override="major")

    assert overall(parse(client.get("/"))) == ("major", "Partial System Outage")


def test_resolving_the_recovering_incident_makes_the_page_green(client, session):
    database = a_component(session, "Database")
    outage = an_incident(session, "Database down", status="investigating",
                         component_statuses={database.code: "major_outage"})
    an_update(session, outage, "monitoring", "Fixed, watching.", T0 + timedelta(minutes=30),
              component_statuses={database.code: "operational"})
    assert overall(parse(client.get("/")))[0] == "minor"

    an_update(session, outage, "resolved", "All good.", T0 + timedelta(hours=1))

    assert overall(parse(client.get("/"))) == ("none", "All Systems Operational")
