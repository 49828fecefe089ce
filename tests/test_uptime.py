"""Uptime from the status history: weights, day bars, 30/90-day figures, the public page and its cache."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from statuspage.components import catalog, status_rules, uptime
from statuspage.db import utcnow
from statuspage.edge import public_cache
from statuspage.incidents import lifecycle
from statuspage.models import Component, ComponentStatus, StatusChange
from statuspage.page.record import get_page
from statuspage.probes.rules import apply_check
from tests.probe_builders import ACTOR, a_probe, api_headers, good

NOW = datetime(2024, 8, 14, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
OPERATIONAL = ComponentStatus.OPERATIONAL
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE
MAJOR = ComponentStatus.MAJOR_OUTAGE
MAINTENANCE = ComponentStatus.UNDER_MAINTENANCE


def created(session, name: str, at: datetime, **fields) -> Component:
    """A component whose creation (and first history row) happened at `at`."""
    component = catalog.create_component(session, ACTOR, name, **fields)
    session.flush()
    component.created_at = at
    session.scalars(select(StatusChange).where(StatusChange.component_id == component.id)).one().at = at
    session.commit()
    return component


def change(session, component, status: ComponentStatus, at: datetime) -> None:
    status_rules.set_status(session, component, status, ACTOR, at=at)
    session.commit()


def figures(session, component, now=NOW) -> uptime.Uptime:
    return uptime.for_components(session, [component], now)[component.id]


def bar(result: uptime.Uptime, day: date) -> uptime.Day:
    return next(d for d in result.days if d.date == day)


def test_weights_major_counts_fully_partial_30_percent_degraded_and_maintenance_not_at_all():
    assert uptime.WEIGHTS == {OPERATIONAL: 0.0, MAINTENANCE: 0.0, DEGRADED: 0.0, PARTIAL: 0.3, MAJOR: 1.0}


def test_a_day_is_coloured_by_its_worst_status_and_weighted_by_time(session):
    api = created(session, "API", NOW - 20 * DAY)
    day = datetime(2024, 8, 10, tzinfo=UTC)
    change(session, api, DEGRADED, day + 1 * HOUR)
    change(session, api, PARTIAL, day + 6 * HOUR)   # 2 h partial
    change(session, api, MAJOR, day + 8 * HOUR)     # 1 h major
    change(session, api, MAINTENANCE, day + 9 * HOUR)
    change(session, api, OPERATIONAL, day + 12 * HOUR)
    result = figures(session, api)
    august_10 = bar(result, date(2024, 8, 10))
    assert august_10.status == MAJOR
    assert august_10.uptime == pytest.approx(100 * (1 - (3600 + 0.3 * 7200) / 86400))
    assert bar(result, date(2024, 8, 9)).status == OPERATIONAL and bar(result, date(2024, 8, 9)).uptime == 100
    assert august_10.uptime_label == "93.33%"


def test_ninety_bars_end_today_and_days_before_counting_have_no_data(session):
    api = created(session, "API", NOW - 3 * DAY + 6 * HOUR)
    result = figures(session, api)
    assert len(result.days) == 90
    assert result.days[-1].date == date(2024, 8, 14) and result.days[0].date == date(2024, 5, 17)
    assert [d.status for d in result.days[-5:]] == [None, OPERATIONAL, OPERATIONAL, OPERATIONAL, OPERATIONAL]
    assert result.days[0].uptime is None and result.days[0].uptime_label == "no data"


def test_30_and_90_day_figures_are_weighted_by_time(session):
    api = created(session, "API", NOW - 100 * DAY)
    change(session, api, MAJOR, NOW - 40 * DAY)
    change(session, api, OPERATIONAL, NOW - 40 * DAY + 9 * HOUR)   # 9 h down, outside the last 30 days
    change(session, api, PARTIAL, NOW - 2 * DAY)
    change(session, api, OPERATIONAL, NOW - 2 * DAY + 10 * HOUR)   # 10 h at 30%: 3 h down
    result = figures(session, api)
    assert result.uptime_30 == pytest.approx(100 * (1 - 3 * 3600 / (30 * 86400)))
    ninety = (NOW - datetime(2024, 5, 17, tzinfo=UTC)).total_seconds()
    assert result.uptime_90 == pytest.approx(100 * (1 - 12 * 3600 / ninety))
    assert result.label_30 == "99.58%"


def test_an_outage_that_began_before_the_window_counts_from_the_windows_start(session):
    api = created(session, "API", NOW - 200 * DAY)
    change(session, api, MAJOR, NOW - 95 * DAY)
    change(session, api, OPERATIONAL, datetime(2024, 5, 18, 6, tzinfo=UTC))
    result = figures(session, api)
    assert result.days[0].status == MAJOR and result.days[0].uptime == 0
    assert result.days[1].status == MAJOR and result.days[1].uptime == pytest.approx(75)


def test_a_component_without_changes_in_the_window_keeps_its_status(session):
    api = created(session, "API", NOW - 200 * DAY)
    change(session, api, PARTIAL, NOW - 120 * DAY)
    result = figures(session, api)
    assert {d.status for d in result.days} == {PARTIAL}
    assert result.uptime_90 == pytest.approx(70)


def test_the_start_date_sets_when_counting_begins(session):
    later = created(session, "Later", NOW - 30 * DAY, start_date="2024-08-12")
    assert [d.status for d in figures(session, later).days[-4:]] == [None, OPERATIONAL, OPERATIONAL, OPERATIONAL]
    backfilled = created(session, "Backfilled", NOW - 2 * DAY, start_date="2024-08-01")
    result = figures(session, backfilled)
    assert bar(result, date(2024, 8, 1)).status == OPERATIONAL
    assert bar(result, date(2024, 7, 31)).status is None


def test_a_days_tooltip_lists_the_incidents_that_touched_it(session):
    api = created(session, "API", NOW - 20 * DAY)
    lifecycle.open_incident(session, ACTOR, name="Checkout errors", body="", component_codes=[api.code],
                            started_at=NOW - 3 * DAY, now=NOW - 3 * DAY)
    session.commit()
    result = figures(session, api)
    assert bar(result, date(2024, 8, 11)).incidents == ["Checkout errors"]
    assert bar(result, date(2024, 8, 14)).incidents == ["Checkout errors"]  # still open
    assert bar(result, date(2024, 8, 10)).incidents == []


def test_all_components_cost_two_queries(session, app):
    components = [created(session, f"C{i}", NOW - 50 * DAY) for i in range(6)]
    for component in components:
        change(session, component, MAJOR, NOW - 5 * DAY)
    statements = []
    engine = app.extensions["statuspage.db"].engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        session.expire_all()
        loaded = session.scalars(select(Component)).all()
        statements.clear()
        result = uptime.for_components(session, loaded, NOW)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(result) == 6 and len(statements) == 2


def test_remembered_past_days_read_exactly_as_freshly_counted_ones(session):
    """The past days are remembered between renders; whatever happens next, they must read as if
    counted afresh: later the same day, after a change today, after a past change is edited."""
    rng = random.Random(12)
    components = [created(session, f"C{i}", NOW - rng.randint(5, 120) * DAY) for i in range(8)]
    for component in components:
        for at in sorted(NOW - timedelta(minutes=rng.randint(1, 90 * 24 * 60)) for _ in range(12)):
            if at > component.created_at:
                change(session, component, rng.choice(list(ComponentStatus)), at)
    lifecycle.open_incident(session, ACTOR, name="Slow checkout", body="", component_codes=[components[1].code],
                            started_at=NOW - 40 * DAY, now=NOW - 40 * DAY)
    session.commit()

    def both(now):
        warm = uptime.for_components(session, components, now)
        for component in components:  # each counted with nothing remembered
            uptime._PAST_DAYS.clear()
            assert uptime.for_components(session, [component], now)[component.id] == warm[component.id]
        uptime.for_components(session, components, now)  # remember them all for the next step
        return warm

    first = both(NOW)
    assert uptime.for_components(session, components, NOW) == first  # warm again, nothing moved
    both(NOW + 5 * HOUR)
    change(session, components[0], MAJOR, NOW + HOUR)
    assert bar(both(NOW + 2 * HOUR)[components[0].id], NOW.date()).status is MAJOR
    past = session.scalars(select(StatusChange).where(StatusChange.component_id == components[2].id)
                           .order_by(StatusChange.at.desc())).first()
    past.at -= 2 * DAY
    session.commit()
    both(NOW + 2 * HOUR)
    lifecycle.open_incident(session, ACTOR, name="Backfilled", body="", component_codes=[components[3].code],
                            started_at=NOW - 10 * DAY, now=NOW + 2 * HOUR)
    session.commit()
    assert bar(both(NOW + 3 * HOUR)[components[3].id], (NOW - 9 * DAY).date()).incidents == ["Backfilled"]
    both(NOW + DAY)  # the next day: yesterday becomes a past day


# --- the public page -------------------------------------------------------------------------------


def test_the_public_page_shows_bars_for_showcased_components_only(client, session):
    now = utcnow()
    shown = created(session, "Checkout API", now - 40 * DAY)
    created(session, "Internal batch", now - 40 * DAY, showcase=False)
    change(session, shown, MAJOR, now - 2 * DAY)
    change(session, shown, OPERATIONAL, now - 2 * DAY + HOUR)
    html = client.get("/").get_data(as_text=True)
    assert html.count('class="uptime-bars"') == 1
    # The 40 days since it was created, and today, none before: drawn as runs of days that read the same.
    runs = [(int(x), int(width)) for x, width in re.findall(r'<rect x="(\d+)" width="(\d+)"', html)]
    assert sum((width + 1) // 5 for _x, width in runs) == 41 and runs[0][0] == (90 - 41) * 5
    assert len(runs) == 3  # before the outage, the outage day, after it
    assert 'class="u-major_outage"' in html
    outage_day = (now - 2 * DAY).date()
    assert f"<title>{outage_day.strftime('%b %d, %Y')}: " in html
    # 40 days old: its 90-day figure says since when it is counted (issue 16; it said "uptime · " before).
    created_day = (now - 40 * DAY).date()
    assert f"uptime since {created_day.strftime('%b %d, %Y')} · " in html and "over 30 days" in html


def test_the_days_behind_the_bars_are_one_small_json_document_per_component(client, session):
    now = utcnow()
    api = created(session, "Checkout API", now - 40 * DAY, showcase=True)
    outage = (now - 2 * DAY).replace(hour=6, minute=0, second=0, microsecond=0)
    incident = lifecycle.open_incident(session, ACTOR, name="Checkout errors", body="Investigating.",
                                       status="investigating", component_statuses={api.code: "major_outage"},
                                       now=outage)
    lifecycle.post_update(session, ACTOR, incident, status="resolved", body="Fixed.", now=outage + 6 * HOUR)
    session.commit()

    response = client.get(f"/uptime/{api.code}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["ETag"] and "public" in response.headers["Cache-Control"]
    data = response.get_json()
    assert data["component"] == {"id": api.code, "name": "Checkout API"}
    days = data["days"]
    assert len(days) == 90 and days[-1]["date"] == now.date().isoformat()
    assert days[0] == {"date": (now - 89 * DAY).date().isoformat(), "status": None, "status_label": "No data",
                       "uptime": None, "uptime_label": "no data", "incidents": []}
    bad = next(day for day in days if day["date"] == outage.date().isoformat())
    assert bad["status"] == "major_outage" and bad["uptime"] == 75.0 and bad["uptime_label"] == "75.00%"
    assert bad["incidents"] == [{"id": incident.code, "name": "Checkout errors",
                                 "url": f"http://status.test/incidents/{incident.code}"}]
    assert data["uptime_90"] == figures(session, api, utcnow()).label_90
    assert len(response.get_data()) < 16_000  # small enough to fetch on a tap over a phone line


def test_the_days_of_a_component_without_bars_or_of_none_are_not_found(client, session):
    hidden = created(session, "Internal batch", utcnow() - 5 * DAY, showcase=False)
    for path in (f"/uptime/{hidden.code}.json", "/uptime/nosuchthing.json"):
        response = client.get(path)
        assert response.status_code == 404


def test_a_young_component_says_since_when_it_is_counted_instead_of_claiming_30_days(client, session):
    now = utcnow()
    created(session, "New API", now - 10 * DAY)
    created(session, "Old API", now - 200 * DAY)
    legends = [" ".join(text.split()) for text in
               re.findall(r'<span class="uptime-figures">(.*?)</span>', client.get("/").get_data(as_text=True))]
    young = (now - 10 * DAY).date().strftime("%b %d, %Y")
    assert sorted(legends) == [f"100% uptime since {young}", "100% uptime · 100% over 30 days"]


def test_the_public_cache_and_etag_turn_over_with_the_utc_date(client, session, monkeypatch):
    created(session, "API", utcnow() - 5 * DAY)
    first = client.get("/")
    assert client.get("/", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    tomorrow = utcnow() + DAY
    monkeypatch.setattr(public_cache, "utcnow", lambda: tomorrow)
    second = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]


# --- response times on the public page (opt-in per probe) -------------------------------------------------


def checked(session, component, name: str, **fields):
    """An HTTP probe of `component` with an hour of good checks, 20-80 ms, ending now."""
    probe = a_probe(session, component, name=name, **fields)
    now = utcnow()
    for minute in range(60, 0, -5):
        apply_check(session, probe, good(20 + minute), now - timedelta(minutes=minute))
    session.commit()
    return probe


def test_a_response_time_chart_is_public_only_for_components_whose_probe_opts_in(client, session):
    shown = created(session, "Checkout API", utcnow() - 5 * DAY)
    hidden = created(session, "Search", utcnow() - 5 * DAY)
    checked(session, shown, "checkout-internal-health", public_chart=True)
    checked(session, hidden, "search-internal-health")
    html = client.get("/").get_data(as_text=True)
    assert html.count('class="latency-chart"') == 1
    assert 'aria-label="Response time of Checkout API over the last 24 hours' in html
    assert "internal-health" not in html  # probe names are for responders


def test_opting_in_through_the_api_shows_the_chart_at_once_and_opting_out_hides_it(client, session):
    component = created(session, "Checkout API", utcnow() - 5 * DAY)
    probe = checked(session, component, "health")
    headers = api_headers(session, "admin")
    client.application.extensions["statuspage.public_cache"].check_seconds = 0  # see each version at once
    assert 'class="latency-chart"' not in client.get("/").get_data(as_text=True)  # now cached
    page_code = get_page(session).code
    url = f"/api/v1/pages/{page_code}/probes/{probe.code}"
    response = client.patch(url, headers=headers, json={"probe": {"public_chart": True}})
    assert response.status_code == 200 and response.get_json()["public_chart"] is True
    assert 'class="latency-chart"' in client.get("/").get_data(as_text=True)
    client.patch(url, headers=headers, json={"probe": {"public_chart": False}})
    assert 'class="latency-chart"' not in client.get("/").get_data(as_text=True)


def test_push_probes_have_no_response_times_to_show(client, session):
    component = created(session, "Backups", utcnow() - 5 * DAY)
    page_code = get_page(session).code
    response = client.post(f"/api/v1/pages/{page_code}/probes", headers=api_headers(session, "admin"),
                           json={"probe": {"name": "nightly", "kind": "heartbeat", "component_id": component.code,
                                           "interval_seconds": 86400, "public_chart": True}})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "public_chart"
