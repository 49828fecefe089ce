"""The RSS 2.0 and Atom 1.0 feeds: valid, one entry per incident, stable ids, honest dates."""

from __future__ import annotations

import calendar
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import feedparser
import lxml.etree
import lxml.html
import pytest
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.config import Settings
from statuspage.db import utcnow
from statuspage.incidents import lifecycle, windows
from statuspage.models import Component, Incident
from statuspage.page.record import bump_version, get_page

ACTOR = Actor.system("test")
T0 = datetime(2024, 7, 15, 10, 30, tzinfo=UTC)
BASE = "http://status.test"
FEEDS = ["/history.rss", "/history.atom"]
ATOM = {"a": "http://www.w3.org/2005/Atom"}
DC = {"dc": "http://purl.org/dc/elements/1.1/"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every request re-reads the page version, so a change shows at once."""
    return dataclasses.replace(settings, version_check_seconds=0)


# --- builders ---------------------------------------------------------------------------------


def a_component(session: Session, name: str) -> Component:
    component = catalog.create_component(session, ACTOR, name)
    session.commit()
    return component


def an_incident(session: Session, name: str, at: datetime, **fields) -> Incident:
    fields.setdefault("body", f"{name}: we are investigating.")
    incident = lifecycle.open_incident(session, ACTOR, name=name, started_at=at, now=at, **fields)
    session.commit()
    return incident


def an_update(session: Session, incident: Incident, status: str, body: str, at: datetime) -> None:
    lifecycle.post_update(session, ACTOR, incident, status=status, body=body, now=at)
    session.commit()


def a_maintenance(session: Session, name: str, start: datetime, **fields) -> Incident:
    maintenance = windows.schedule_maintenance(
        session, ACTOR, name=name, body=f"{name} is planned.", scheduled_for=start,
        scheduled_until=start + timedelta(hours=2), now=start - timedelta(days=1), **fields,
    )
    session.commit()
    return maintenance


@pytest.fixture
def api(session: Session) -> Component:
    return a_component(session, "API")


@pytest.fixture
def database(session: Session) -> Component:
    return a_component(session, "Database")


@pytest.fixture
def outage(session: Session, api: Component) -> Incident:
    """An incident on the API with three updates."""
    incident = an_incident(session, "API outage", T0, component_statuses={api.code: "major_outage"},
                           body="Requests **fail**.")
    an_update(session, incident, "identified", "A bad *deploy*.", T0 + timedelta(minutes=20))
    an_update(session, incident, "resolved", "Rolled back; all good.", T0 + timedelta(hours=1))
    return incident


@pytest.fixture
def slowness(session: Session, database: Component) -> Incident:
    return an_incident(session, "Slow queries", T0 + timedelta(days=1),
                       component_statuses={database.code: "degraded_performance"})


@pytest.fixture
def upgrade(session: Session, api: Component) -> Incident:
    return a_maintenance(session, "API upgrade", T0 + timedelta(days=2), component_codes=[api.code])


# --- reading ----------------------------------------------------------------------------------


def fetch(client, path: str) -> feedparser.FeedParserDict:
    client.application.extensions["statuspage.public_cache"].clear()
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return feedparser.parse(response.get_data())


def entry_for(feed, incident: Incident):
    [entry] = [e for e in feed.entries if e.link == f"{BASE}/incidents/{incident.code}"]
    return entry


def seconds(parsed) -> int:
    """A feedparser `*_parsed` time (UTC) as a Unix timestamp."""
    return calendar.timegm(parsed)


def stamp(when: datetime) -> int:
    return int(when.timestamp())


# --- validity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "version", "mimetype"), [
    ("/history.rss", "rss20", "application/rss+xml"),
    ("/history.atom", "atom10", "application/atom+xml"),
])
def test_the_feeds_parse_without_errors(client, outage, slowness, upgrade, path, version, mimetype):
    response = client.get(path)
    feed = feedparser.parse(response.get_data())

    assert response.mimetype == mimetype
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == version
    assert feed.feed.title == "Acme status"


@pytest.mark.parametrize("path", FEEDS)
def test_an_empty_page_has_a_valid_empty_feed(client, path):
    feed = fetch(client, path)

    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.entries == []
    assert feed.feed.updated_parsed is not None


@pytest.mark.parametrize("path", FEEDS)
def test_there_is_one_entry_per_incident_and_maintenance_newest_first(
    client, outage, slowness, upgrade, path
):
    feed = fetch(client, path)

    assert [e.title for e in feed.entries] == ["API upgrade", "Slow queries", "API outage"]
    assert [e.link for e in feed.entries] == [
        f"{BASE}/incidents/{upgrade.code}", f"{BASE}/incidents/{slowness.code}",
        f"{BASE}/incidents/{outage.code}",
    ]


@pytest.mark.parametrize("path", FEEDS)
def test_an_entry_holds_every_update_as_html_newest_first(client, outage, path):
    feed = fetch(client, path)

    [content] = entry_for(feed, outage).content
    assert content.type == "text/html"
    html = lxml.html.fragment_fromstring(content.value, create_parent="div")
    statuses = [s.text for s in html.xpath("//strong") if s.text in ("Investigating", "Identified", "Resolved")]
    assert statuses == ["Resolved", "Identified", "Investigating"]
    assert "Rolled back; all good." in html.text_content()
    assert html.xpath("//em/text()") == ["deploy"]
    assert "fail" in html.xpath("//strong/text()")
    # Times are shown in the page's time zone: 10:30 UTC is 12:30 in Berlin in July.
    assert "Jul 15, 2024 12:30 CEST" in html.text_content()


def test_the_rss_item_description_carries_the_updates_too(client, outage):
    feed = fetch(client, "/history.rss")

    summary = entry_for(feed, outage).summary
    for body in ("Requests", "A bad", "Rolled back; all good."):
        assert body in summary


@pytest.mark.parametrize("path", FEEDS)
def test_a_maintenance_entry_holds_its_schedule_message(client, upgrade, path):
    feed = fetch(client, path)

    [content] = entry_for(feed, upgrade).content
    assert "API upgrade is planned." in content.value
    assert "Scheduled" in content.value


@pytest.mark.parametrize("path", FEEDS)
def test_a_maintenance_entry_shows_its_window_in_the_page_timezone_and_in_utc(client, upgrade, path):
    feed = fetch(client, path)

    [content] = entry_for(feed, upgrade).content
    html = lxml.html.fragment_fromstring(content.value, create_parent="div")
    # The window is 10:30-12:30 UTC on 17 July, 12:30-14:30 in Berlin; it comes before the updates.
    [window] = html.xpath("./p[strong='Scheduled window:']")
    assert " ".join(window.text_content().split()) == (
        "Scheduled window: Jul 17, 2024 12:30 CEST – Jul 17, 2024 14:30 CEST "
        "(Jul 17, 2024 10:30 UTC – Jul 17, 2024 12:30 UTC)"
    )
    assert html.xpath("./p")[0] is window


@pytest.mark.parametrize("path", FEEDS)
def test_an_incident_entry_has_no_window(client, outage, path):
    feed = fetch(client, path)

    assert "Scheduled window" not in entry_for(feed, outage).content[0].value


@pytest.mark.parametrize("path", FEEDS)
def test_a_rescheduled_maintenance_shows_its_new_window_and_counts_as_updated(client, session, path):
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    maintenance = a_maintenance(session, "Disk swap", start)  # announced a day ahead: now
    before = entry_for(fetch(client, path), maintenance)
    moved = utcnow().replace(microsecond=0) + timedelta(seconds=1)
    windows.reschedule_maintenance(session, ACTOR, maintenance, scheduled_for=start + timedelta(days=1),
                                     scheduled_until=start + timedelta(days=1, hours=2), now=moved)
    session.commit()

    after = entry_for(fetch(client, path), maintenance)

    new_start = (start + timedelta(days=1)).strftime("%b %d, %Y %H:%M UTC")
    assert new_start in after.content[0].value
    assert new_start not in before.content[0].value
    assert after.id == before.id
    if path.endswith(".atom"):
        assert seconds(after.updated_parsed) == stamp(moved)


# --- author and links -------------------------------------------------------------------------


@pytest.mark.parametrize("path", FEEDS)
def test_every_entry_names_the_page_as_its_author(client, outage, upgrade, path):
    feed = fetch(client, path)

    assert [e.author for e in feed.entries] == ["Acme", "Acme"]
    assert feed.feed.author == "Acme"


def test_the_rss_author_is_a_dc_creator_as_rss_wants_an_email_in_author(client, outage):
    document = lxml.etree.fromstring(client.get("/history.rss").get_data())

    assert document.xpath("//item/dc:creator/text()", namespaces=DC) == ["Acme"]
    assert document.xpath("//item/author") == []


def test_the_atom_author_is_the_page_with_its_address(client, outage):
    document = lxml.etree.fromstring(client.get("/history.atom").get_data())

    [author] = document.xpath("/a:feed/a:entry/a:author", namespaces=ATOM)
    assert author.findtext("a:name", namespaces=ATOM) == "Acme"
    assert author.findtext("a:uri", namespaces=ATOM) == f"{BASE}/"
    assert author.find("a:email", namespaces=ATOM) is None


def test_a_renamed_page_is_the_new_author(client, session, outage):
    page = get_page(session)
    page.name = "Acme Cloud"
    bump_version(session)
    session.commit()

    for path in FEEDS:
        assert [e.author for e in fetch(client, path).entries] == ["Acme Cloud"]


@pytest.mark.parametrize("query", ["", "?component={api}"])
def test_the_rss_channel_links_to_the_status_page_not_to_the_feed(client, api, outage, query):
    response = client.get("/history.rss" + query.format(api=api.code))
    document = lxml.etree.fromstring(response.get_data())

    assert document.xpath("/rss/channel/link/text()") == [f"{BASE}/"]
    assert document.xpath("/rss/channel/a:link[@rel='self']/@href", namespaces=ATOM) == [
        f"{BASE}/history.rss" + query.format(api=api.code)
    ]
    assert feedparser.parse(response.get_data()).feed.link == f"{BASE}/"


@pytest.mark.parametrize("query", ["", "?component={api}"])
def test_the_atom_feed_links_to_itself_and_to_the_status_page(client, api, outage, query):
    feed = fetch(client, "/history.atom" + query.format(api=api.code))

    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {"self": f"{BASE}/history.atom" + query.format(api=api.code), "alternate": f"{BASE}/"}
    assert feed.feed.link == f"{BASE}/"


@pytest.mark.parametrize("path", FEEDS)
def test_a_component_feed_keeps_authors_links_and_windows(client, api, database, outage, slowness, upgrade, path):
    feed = fetch(client, f"{path}?component={api.code}")

    assert [e.title for e in feed.entries] == ["API upgrade", "API outage"]
    assert {e.author for e in feed.entries} == {"Acme"}
    assert feed.feed.link == f"{BASE}/"
    assert "Jul 17, 2024 10:30 UTC" in entry_for(feed, upgrade).content[0].value


# --- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FEEDS)
def test_ids_are_unique_and_stable_across_requests_and_new_updates(client, session, outage, slowness, path):
    first = fetch(client, path)
    again = fetch(client, path)
    an_update(session, slowness, "monitoring", "Indexes rebuilt.", T0 + timedelta(days=1, hours=1))
    after_update = fetch(client, path)

    ids = [e.id for e in first.entries]
    assert len(set(ids)) == len(ids) == 2
    assert [e.id for e in again.entries] == ids
    assert {e.id for e in after_update.entries} == set(ids)
    assert entry_for(after_update, slowness).id == entry_for(first, slowness).id


def test_the_rss_guid_is_the_incident_permalink(client, outage):
    response = client.get("/history.rss")
    document = lxml.etree.fromstring(response.get_data())

    [guid] = document.xpath("//item/guid")
    assert guid.text == f"{BASE}/incidents/{outage.code}"
    assert guid.get("isPermaLink") == "true"


# --- dates --------------------------------------------------------------------------------------


def test_atom_dates_are_when_the_incident_was_opened_and_last_updated(client, outage):
    feed = fetch(client, "/history.atom")

    entry = entry_for(feed, outage)
    assert seconds(entry.published_parsed) == stamp(T0)
    assert seconds(entry.updated_parsed) == stamp(T0 + timedelta(hours=1))
    assert seconds(feed.feed.updated_parsed) == stamp(T0 + timedelta(hours=1))


def test_posting_an_update_moves_the_atom_updated_dates(client, session, outage, slowness):
    before = fetch(client, "/history.atom")
    later = T0 + timedelta(days=3)

    an_update(session, outage, "resolved", "A late note: the root cause was a config change.", later)
    after = fetch(client, "/history.atom")

    assert seconds(entry_for(before, outage).updated_parsed) == stamp(T0 + timedelta(hours=1))
    assert seconds(entry_for(after, outage).updated_parsed) == stamp(later)
    assert seconds(entry_for(after, outage).published_parsed) == stamp(T0)
    assert seconds(entry_for(after, slowness).updated_parsed) == stamp(T0 + timedelta(days=1))
    assert seconds(after.feed.updated_parsed) == stamp(later)
    assert "root cause was a config change" in entry_for(after, outage).content[0].value


def test_posting_an_update_moves_the_rss_build_date_and_keeps_the_item_date(client, session, outage):
    before = fetch(client, "/history.rss")
    later = T0 + timedelta(days=3)

    an_update(session, outage, "resolved", "A late note.", later)
    after = fetch(client, "/history.rss")

    assert seconds(before.feed.updated_parsed) == stamp(T0 + timedelta(hours=1))
    assert seconds(after.feed.updated_parsed) == stamp(later)
    assert seconds(entry_for(after, outage).published_parsed) == stamp(T0)


# --- one component --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FEEDS)
def test_a_component_filter_narrows_the_feed_to_that_components_incidents(
    client, api, database, outage, slowness, upgrade, path
):
    on_api = fetch(client, f"{path}?component={api.code}")
    on_database = fetch(client, f"{path}?component={database.code}")

    assert on_api.bozo == on_database.bozo == 0
    assert [e.title for e in on_api.entries] == ["API upgrade", "API outage"]
    assert [e.title for e in on_database.entries] == ["Slow queries"]
    assert on_api.feed.title == "Acme status: API"


def test_a_component_feed_links_to_itself(client, api, outage):
    feed = fetch(client, f"/history.atom?component={api.code}")

    assert f"{BASE}/history.atom?component={api.code}" in [
        link.href for link in feed.feed.links if link.rel == "self"
    ]


def test_a_component_without_incidents_has_an_empty_feed(client, session, outage):
    quiet = a_component(session, "Billing")

    feed = fetch(client, f"/history.atom?component={quiet.code}")

    assert feed.bozo == 0
    assert feed.entries == []


@pytest.mark.parametrize("path", FEEDS)
def test_an_unknown_component_is_a_404(client, outage, path):
    response = client.get(f"{path}?component=nosuchcompon")

    assert response.status_code == 404


# --- discovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/", "/history", "/incidents/{code}"])
def test_the_html_pages_advertise_both_feeds(client, outage, page):
    response = client.get(page.format(code=outage.code))
    document = lxml.html.fromstring(response.get_data(as_text=True))

    rss = document.xpath("//head/link[@rel='alternate'][@type='application/rss+xml']/@href")
    atom = document.xpath("//head/link[@rel='alternate'][@type='application/atom+xml']/@href")
    assert response.status_code == 200
    assert [href.removeprefix(BASE) for href in rss] == ["/history.rss"]
    assert [href.removeprefix(BASE) for href in atom] == ["/history.atom"]


# --- names are text, never markup ----------------------------------------------------------------


def test_names_with_markup_read_as_text_in_both_feeds_and_never_as_tags(client, session):
    from html import unescape

    from statuspage.page.record import get_page

    get_page(session).name = "Acme <i>Cloud</i> & Co"
    name = "<img src=x onerror=alert(1)> Billing & Payments down"
    an_incident(session, name, utcnow())
    session.commit()

    atom = client.get("/history.atom").get_data(as_text=True)
    assert re.search(r'<title type="html">&amp;lt;img src=x onerror=alert\(1\)&amp;gt; Billing &amp;amp;', atom)
    for path in ("/history.rss", "/history.atom"):
        feed = fetch(client, path)
        [entry] = feed.entries
        # A reader that shows the title as HTML shows these characters, and runs no tag.
        assert (entry.title_detail.type, feed.feed.title_detail.type) == ("text/html", "text/html")
        assert "<" not in entry.title and unescape(entry.title) == name
        assert "<" not in feed.feed.title and unescape(feed.feed.title) == "Acme <i>Cloud</i> & Co status"
