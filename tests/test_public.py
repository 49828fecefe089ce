"""The public page: the overall state in words, every component, the cache contract and /healthz."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import lxml.html
import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from statuspage import create_app
from statuspage.audit import Actor
from statuspage.components import catalog, status_rules
from statuspage.config import Settings
from statuspage.edge import public_cache
from statuspage.models import Component, ComponentGroup

ACTOR = Actor.system("test")
PUBLIC_PATHS = [
    "/",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]


# --- builders ---------------------------------------------------------------------------------


def a_group(session: Session, name: str, description: str | None = None) -> ComponentGroup:
    group = catalog.create_group(session, ACTOR, name, description)
    session.commit()
    return group


def a_component(
    session: Session, name: str, group: ComponentGroup | None = None, status: str = "operational",
    **fields,
) -> Component:
    component = catalog.create_component(session, ACTOR, name, status=status,
                                         group_code=group.code if group else None, **fields)
    session.commit()
    return component


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Another app (another gunicorn worker) on the same database, with settings overridden."""
    apps: list[Flask] = []

    def make(**overrides) -> Flask:
        app = create_app(dataclasses.replace(settings, **overrides))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["statuspage.db"].engine.dispose()


@dataclasses.dataclass
class MonotonicClock:
    """Stands in for the `time` module in the public cache, which reads only `time.monotonic()`."""

    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def cache_clock(monkeypatch) -> MonotonicClock:
    """The clock the public cache spaces its version checks by, moved only by the test: a test of
    the interval passes it at once instead of sleeping through it."""
    clock = MonotonicClock()
    monkeypatch.setattr(public_cache, "time", clock)
    return clock


def count_queries(app: Flask) -> list[str]:
    """Every SQL statement the app's engine runs from now on."""
    statements: list[str] = []

    @event.listens_for(app.extensions["statuspage.db"].engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    return statements


def parse(response) -> lxml.html.HtmlElement:
    assert response.status_code == 200
    return lxml.html.fromstring(response.get_data(as_text=True))


def text(element) -> str:
    return " ".join(element.text_content().split())


def rows(document) -> list[tuple[str, str, str]]:
    """(name, icon, label) of every component row on the page."""
    result = []
    for row in document.xpath("//section[@class='components']//li[@class='component']"):
        name = (row.xpath("./span[@class='name']")[0].text or "").strip()
        status = row.xpath(".//span[contains(@class, 'status')]")[0]
        icon = text(status.xpath("./span[@aria-hidden='true']")[0])
        result.append((name, icon, text(status).removeprefix(icon).strip()))
    return result


def overall(document) -> str:
    return text(document.xpath("//section[contains(@class, 'overall')]//h1")[0])


# --- what the page shows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "words"),
    [
        (["operational", "operational"], "All Systems Operational"),
        (["operational", "degraded_performance"], "Minor Service Outage"),
        (["operational", "major_outage"], "Partial System Outage"),
        (["major_outage", "major_outage"], "Major System Outage"),
        (["operational", "under_maintenance"], "Service Under Maintenance"),
    ],
)
def test_the_page_states_the_overall_state_in_words(client, session, statuses, words):
    for number, status in enumerate(statuses):
        a_component(session, f"Service {number}", status=status)

    document = parse(client.get("/"))

    assert overall(document) == words
    assert words in text(document.xpath("//title")[0])


def test_every_component_shows_its_status_as_an_icon_and_words(client, session):
    labels = {
        "operational": "Operational",
        "degraded_performance": "Degraded Performance",
        "partial_outage": "Partial Outage",
        "major_outage": "Major Outage",
        "under_maintenance": "Under Maintenance",
    }
    for status in labels:
        a_component(session, f"Service {status}", status=status)

    shown = {name: (icon, label) for name, icon, label in rows(parse(client.get("/")))}

    assert {name: label for name, (_icon, label) in shown.items()} == {
        f"Service {status}": label for status, label in labels.items()
    }
    icons = [icon for icon, _label in shown.values()]
    assert all(len(icon) == 1 and not icon.isalnum() for icon in icons)
    # Not colour alone: each status has its own symbol.
    assert len(set(icons)) == len(labels)


def test_groups_and_components_appear_in_page_order(client, session):
    a_component(session, "Website")
    backend = a_group(session, "Backend", "Our servers")
    a_component(session, "Database", backend)
    a_component(session, "API", backend, status="partial_outage")
    a_component(session, "Mail")
    catalog.move(session, ACTOR, backend, -1)
    session.commit()

    document = parse(client.get("/"))

    top = document.xpath("//ul[@class='component-list']/li")
    assert [li.xpath(".//span[@class='name']")[0].text.strip() for li in top] == ["Backend", "Website", "Mail"]
    group = top[0]
    assert "Partial Outage" in text(group.xpath(".//summary")[0])
    assert "Our servers" in text(group)
    assert [name for name, _icon, _label in rows(document)] == ["Database", "API", "Website", "Mail"]


def test_a_component_shown_only_when_degraded_is_hidden_while_operational(client, session):
    backend = a_group(session, "Backend")
    a_component(session, "Database", backend)
    quiet = a_component(session, "Batch jobs", backend, only_show_if_degraded=True)
    a_component(session, "Legacy API", only_show_if_degraded=True)

    shown = [name for name, _icon, _label in rows(parse(client.get("/")))]
    assert shown == ["Database"]

    status_rules.set_status(session, quiet, catalog.ComponentStatus.DEGRADED_PERFORMANCE, ACTOR)
    session.commit()
    app_cache = client.application.extensions["statuspage.public_cache"]
    app_cache.clear()

    assert ("Batch jobs", "◐", "Degraded Performance") in [
        (name, icon, label) for name, icon, label in rows(parse(client.get("/")))
    ]


def test_the_page_refreshes_itself_in_place_and_offers_a_link_without_javascript(client):
    """Issue 16 reverses the old contract (a meta refresh reloading the whole page every minute): the
    page's script refreshes it in place (tests/e2e/test_live_refresh.py); readers without it get a link."""
    response = client.get("/")
    document = parse(response)

    assert document.xpath("//meta[@http-equiv='refresh']") == []
    assert document.xpath("//script/@src") == ["/static/public.js"]
    [version] = document.xpath("//meta[@name='statuspage-version']/@content")
    assert response.headers["ETag"].strip('"') == f"v{version}"
    assert document.xpath("//footer//a[text()='Refresh']/@href") == ["/"]


def test_the_page_is_rendered_on_the_server_and_readable_on_a_phone(client, session):
    a_component(session, "Website", status="major_outage")

    response = client.get("/")
    document = parse(response)

    assert response.mimetype == "text/html"
    assert ("Website", "✕", "Major Outage") in rows(document)
    assert document.xpath("//meta[@name='viewport']")


def test_the_page_says_so_when_there_are_no_components(client):
    document = parse(client.get("/"))

    assert overall(document) == "All Systems Operational"
    assert "No components yet" in text(document)


# --- the cache contract -----------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_responses_carry_an_etag_and_may_be_served_stale_while_revalidating(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers.get("ETag")
    cache_control = response.cache_control
    assert cache_control.public
    assert cache_control.max_age is not None and cache_control.max_age > 0
    assert int(cache_control["stale-while-revalidate"]) > 0


@pytest.mark.parametrize("path", ["/", "/api/v2/summary.json"])
def test_the_current_etag_gets_a_304_without_a_body(client, path):
    etag = client.get(path).headers["ETag"]

    response = client.get(path, headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag


def test_an_old_etag_gets_the_new_page(client, session, api_token, page_code):
    component = a_component(session, "Website")
    old = client.get("/").headers["ETag"]
    headers = api_token("responder")
    client.patch(f"/api/v1/pages/{page_code}/components/{component.code}", headers=headers,
                 json={"component": {"status": "major_outage"}})
    client.application.extensions["statuspage.public_cache"].clear()

    response = client.get("/", headers={"If-None-Match": old})

    assert response.status_code == 200
    assert response.headers["ETag"] != old
    assert ("Website", "✕", "Major Outage") in rows(parse(response))


def test_a_change_is_visible_on_every_worker_after_the_version_check_interval(
    session, make_app, api_token, page_code, cache_clock
):
    component = a_component(session, "Website")
    worker_a = make_app(version_check_seconds=0.2).test_client()
    worker_b = make_app(version_check_seconds=0.2).test_client()
    for worker in (worker_a, worker_b):
        assert overall(parse(worker.get("/"))) == "All Systems Operational"
        assert worker.get("/api/v2/status.json").get_json()["status"]["indicator"] == "none"

    response = worker_a.patch(f"/api/v1/pages/{page_code}/components/{component.code}",
                              headers=api_token("responder"),
                              json={"component": {"status": "major_outage"}})
    assert response.status_code == 200
    cache_clock.advance(0.25)

    for worker in (worker_a, worker_b):
        assert overall(parse(worker.get("/"))) == "Major System Outage"
        assert worker.get("/api/v2/status.json").get_json()["status"]["indicator"] == "critical"


@pytest.mark.parametrize("path", ["/", "/api/v2/summary.json", "/api/v2/components"])
def test_a_cache_hit_does_not_query_the_database(session, make_app, path):
    a_component(session, "Website")
    client = make_app(version_check_seconds=30).test_client()
    queries = count_queries(client.application)
    first = client.get(path)
    assert queries, "a miss reads the database"
    queries.clear()

    second = client.get(path)
    not_modified = client.get(path, headers={"If-None-Match": first.headers["ETag"]})

    assert second.status_code == 200 and second.get_data() == first.get_data()
    assert not_modified.status_code == 304
    assert queries == []


def test_the_version_is_read_again_once_the_interval_has_passed(session, make_app, cache_clock):
    client = make_app(version_check_seconds=0.1).test_client()
    client.get("/")
    queries = count_queries(client.application)
    cache_clock.advance(0.12)

    client.get("/")

    assert len(queries) == 1 and "version" in queries[0]


@pytest.mark.parametrize("path", ["/", "/api/v2/summary.json"])
def test_public_responses_neither_set_nor_vary_on_cookies(client, path):
    response = client.get(path)

    assert "Set-Cookie" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()


@pytest.mark.parametrize("path", ["/", "/api/v2/summary.json"])
def test_public_responses_to_a_signed_in_responder_neither_set_nor_vary_on_cookies(
    client, login_as, path
):
    login_as("responder")

    response = client.get(path)

    assert "Set-Cookie" not in response.headers
    assert "cookie" not in response.headers.get("Vary", "").lower()


# --- health -----------------------------------------------------------------------------------


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_does_not(make_app, tmp_path):
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'statuspage.db'}"
    client = make_app(database_url=unreachable).test_client()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["status"] == "degraded"


def test_healthz_answers_503_when_postgresql_refuses_connections(make_app):
    client = make_app(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none").test_client()

    assert client.get("/healthz").status_code == 503


# --- text no database can store -------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/incidents/a%00b",
    "/history.rss?component=a%00b",
    "/history.atom?component=a%00b",
    "/history?month=a%00b",
    "/?a%00b=1",
    "/subscribers/confirm/a%00b",
    "/subscribers/manage/a%00b",
    "/subscribers/unsubscribe/a%00b",
    "/badge.svg?component=a%00b",
])
def test_a_nul_character_in_the_address_gets_a_clear_400_page(client, path):
    response = client.get(path)

    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_a_nul_character_in_the_public_subscribe_form_gets_a_clear_400_page(client, session):
    response = client.post("/subscribe", data={"email": "a\x00@example.com"})

    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_the_api_keeps_answering_such_text_in_its_own_json_shape(client):
    response = client.get("/api/v2/incidents/a%00b.json")

    assert response.status_code in (400, 404)
    assert response.is_json


def test_the_page_answers_503_when_the_database_cannot_be_reached(make_app):
    client = make_app(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none").test_client()

    response = client.get("/incidents/abc")

    assert response.status_code == 503
    assert "cannot reach its database" in response.get_data(as_text=True)


def test_a_failed_query_in_a_public_view_is_not_reported_as_an_outage(app, session, page_code):
    from sqlalchemy.exc import IntegrityError

    from statuspage.edge.public_cache import cached_public
    from statuspage.edge.session import db_session
    from statuspage.models import Page

    def clashing_view():
        db_session().add(Page(code=page_code, name="Twin"))
        db_session().flush()
        return "unreachable"

    app.add_url_rule("/clash", "clash", cached_public(clashing_view))

    with pytest.raises(IntegrityError):  # a 500 in production: a bug to fix, not a database outage
        app.test_client().get("/clash")
