"""The public page keeps answering when its database does not: refused, gone, or hanging.

Every public read is served from the last snapshot (memory, or disk for a process that starts
during the outage) within a second; /healthz says degraded; everything recovers on its own.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import make_url, select
from sqlalchemy.orm import Session

from statuspage import create_app
from statuspage.audit import Actor
from statuspage.cli import alembic_config
from statuspage.components import catalog
from statuspage.config import Settings
from statuspage.db import make_engine, utcnow
from statuspage.edge import public_cache
from statuspage.incidents import lifecycle, lookups
from statuspage.models import SnapshotLease
from statuspage.page import record, snapshot
from statuspage.tools.setup import setup_page
from tests.conftest import POSTGRES_URL

ACTOR = Actor.system("test")
PUBLIC = ["/", "/history", "/history.rss", "/history.atom", "/api/v2/summary.json", "/api/v2/status.json",
          "/badge.svg", "/widget.js"]


def seed(url: str, component_name: str = "Database cluster") -> str:
    """A page (if there is none yet), a component and an open incident on it; gives the incident's path."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        setup_page(session, "Acme", "Europe/Berlin")
        component = catalog.create_component(session, ACTOR, component_name)
        incident = lifecycle.open_incident(session, ACTOR, name="Database cluster failure", body="Investigating.",
                                           status="investigating",
                                           component_statuses={component.code: "major_outage"}, now=utcnow())
        path = f"/incidents/{incident.code}"
    engine.dispose()
    return path


def app_on(settings: Settings, url: str, instance: Path):
    app = create_app(dataclasses.replace(settings, database_url=url, instance_dir=instance,
                                         version_check_seconds=0))
    app.config["TESTING"] = True
    return app


def gone(app, database: Path) -> None:
    """Move the database file away; pooled connections (open file handles) are closed, as after a restart
    of the database host, so every new connection finds no file."""
    database.rename(database.with_suffix(".moved"))
    app.extensions["statuspage.db"].engine.dispose()


def timed_get(client, path: str):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


@pytest.fixture
def sqlite_install(settings, tmp_path) -> tuple[str, Path, str]:
    database = tmp_path / "data" / "statuspage.db"
    database.parent.mkdir()
    url = f"sqlite:///{database}"
    command.upgrade(alembic_config(url), "head")
    return url, database, seed(url)


def test_with_the_database_file_gone_every_public_read_answers_from_the_snapshot(settings, tmp_path,
                                                                                  sqlite_install):
    url, database, incident = sqlite_install
    app = app_on(settings, url, tmp_path / "instance")
    client = app.test_client()
    rendered = {path: client.get(path).get_data() for path in [*PUBLIC, incident]}
    assert client.get("/healthz").status_code == 200

    gone(app, database)

    for path, body in rendered.items():
        response, took = timed_get(client, path)
        assert (response.status_code, response.get_data()) == (200, body), path
        assert took < 1.0, path
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "degraded"
    assert not database.exists(), "the database file is never created at run time"

    database.with_suffix(".moved").rename(database)
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_a_process_started_while_the_database_is_gone_serves_the_snapshot_on_disk(settings, tmp_path,
                                                                                   sqlite_install):
    url, database, incident = sqlite_install
    first_app = app_on(settings, url, tmp_path / "instance")
    first = first_app.test_client()
    rendered = {path: first.get(path).get_data() for path in ["/", incident, "/api/v2/summary.json"]}

    gone(first_app, database)
    try:
        restarted = app_on(settings, url, tmp_path / "instance").test_client()
        for path, body in rendered.items():
            response = restarted.get(path)
            assert (response.status_code, response.get_data()) == (200, body), path
        restarted.application.config["WTF_CSRF_ENABLED"] = False  # the form's token is not what is tested here
        signing_in = restarted.post("/login", data={"email": "ops@example.com", "password": "whatever it is"})
        assert signing_in.status_code == 503  # sign-in needs the database: a clear page, not a 500
        assert "cannot reach its database" in signing_in.get_data(as_text=True)
    finally:
        if database.with_suffix(".moved").exists():
            database.with_suffix(".moved").rename(database)


def test_the_snapshot_outlives_midnight_while_the_database_is_down(settings, tmp_path, sqlite_install,
                                                                   monkeypatch):
    url, database, _incident = sqlite_install
    app = app_on(settings, url, tmp_path / "instance")
    client = app.test_client()
    before = client.get("/")
    gone(app, database)

    tomorrow = utcnow() + timedelta(days=1)
    monkeypatch.setattr(public_cache, "utcnow", lambda: tomorrow)

    after = client.get("/")
    assert (after.status_code, after.get_data()) == (200, before.get_data())


def test_query_strings_a_page_does_not_read_do_not_bypass_the_snapshot(settings, tmp_path, sqlite_install):
    url, database, _incident = sqlite_install
    app = app_on(settings, url, tmp_path / "instance")
    client = app.test_client()
    client.get("/")
    gone(app, database)  # any render now would fail

    for query in ("?anything=1", "?utm_source=x&n=2", "?x=" + "a" * 200):
        response = client.get("/" + query)
        assert response.status_code == 200, query


def test_a_change_after_the_outage_shows_up_on_its_own(settings, tmp_path, sqlite_install):
    url, database, _incident = sqlite_install
    app = app_on(settings, url, tmp_path / "instance")
    client = app.test_client()
    client.get("/")
    gone(app, database)
    assert client.get("/").status_code == 200
    database.with_suffix(".moved").rename(database)

    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        for incident in lookups.unresolved_incidents(session):
            lifecycle.post_update(session, ACTOR, incident, status="resolved", body="Fixed.", now=utcnow())
    engine.dispose()

    assert "All Systems Operational" in client.get("/").get_data(as_text=True)


# --- PostgreSQL behind a proxy that refuses or hangs --------------------------------------------------


class Proxy:
    """A TCP proxy to PostgreSQL that can stop forwarding (the database hangs) or refuse (it is down)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "forward"
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()
                continue
            self.sockets.append(client)
            if self.mode == "hang":
                continue  # accepted, never answered
            upstream = socket.create_connection(self.target)
            self.sockets.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.mode == "hang":
                    time.sleep(0.05)  # open connections stop answering
                sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.listener.close()
        for item in self.sockets:
            item.close()


@pytest.fixture
def postgres_behind_proxy(postgres_url) -> Iterator[tuple[str, Proxy]]:
    if not POSTGRES_URL:
        pytest.skip("set STATUSPAGE_TEST_POSTGRES_URL")
    real = make_url(postgres_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    yield real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
    proxy.mode = "forward"
    proxy.close()


@pytest.mark.parametrize("fault", ["hang", "refuse"])
def test_postgresql_hanging_or_refusing_does_not_reach_readers(settings, tmp_path, postgres_behind_proxy, fault):
    url, proxy = postgres_behind_proxy
    incident = seed(url, f"Database cluster {secrets.token_hex(4)}")
    app = app_on(settings, url, tmp_path / "instance")
    client = app.test_client()
    paths = ["/", incident, "/api/v2/summary.json", "/history.rss"]
    rendered = {path: client.get(path).get_data() for path in paths}

    proxy.mode = fault
    if fault == "refuse":
        app.extensions["statuspage.db"].engine.dispose()  # the pool's open connections die with the server

    for path, body in rendered.items():
        response, took = timed_get(client, path)
        assert (response.status_code, response.get_data()) == (200, body), path
        assert took < 1.0, (path, took)
    health, took = timed_get(client, "/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "degraded" and took < 1.5

    proxy.mode = "forward"
    deadline = time.monotonic() + 15
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "did not recover"
        time.sleep(0.2)


# --- compressed once ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "coding"), [
    ("gzip, deflate, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"), ("identity", None), ("", None),
])
def test_each_client_gets_the_smallest_variant_it_accepts(client, accept, coding):
    import gzip

    import brotli

    plain = client.get("/", headers={"Accept-Encoding": ""}).get_data()
    response = client.get("/", headers={"Accept-Encoding": accept})

    assert response.headers.get("Content-Encoding") == coding
    assert response.headers["Vary"] == "Accept-Encoding"
    body = response.get_data()
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda b: b}[coding](body)
    assert decoded == plain
    if coding == "br":
        assert len(body) < len(gzip.compress(plain, 6))


def test_a_304_is_given_only_for_the_variant_the_client_holds(client):
    held = client.get("/", headers={"Accept-Encoding": "br"})

    same = client.get("/", headers={"Accept-Encoding": "br", "If-None-Match": held.headers["ETag"]})
    other = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": held.headers["ETag"]})

    assert same.status_code == 304
    assert other.status_code == 200 and other.headers["Content-Encoding"] == "gzip"


# --- one render per change ----------------------------------------------------------------------------


def test_a_change_is_rendered_once_for_every_web_process(settings, session, monkeypatch, tmp_path):
    renders: list[str] = []
    packed = public_cache.CachedBody.packed.__func__

    def counted(cls, body, mimetype, status):
        renders.append(mimetype)
        return packed(cls, body, mimetype, status)

    monkeypatch.setattr(public_cache.CachedBody, "packed", classmethod(counted))
    component = catalog.create_component(session, ACTOR, "Website")
    session.commit()
    processes = [create_app(dataclasses.replace(settings, version_check_seconds=0,
                                                instance_dir=tmp_path / f"node{n}")).test_client() for n in range(3)]

    first = [p.get("/") for p in processes]
    assert len(renders) == 1
    assert len({r.get_data() for r in first}) == 1 and len({r.headers["ETag"] for r in first}) == 1

    catalog.update_component(session, ACTOR, component, status="major_outage")
    session.commit()
    after = [p.get("/") for p in processes]
    assert len(renders) == 2
    assert all("Major System Outage" in r.get_data(as_text=True) for r in after)
    for process in processes:
        process.application.extensions["statuspage.db"].engine.dispose()


def count_renders(monkeypatch, seconds: float = 0.0) -> list[str]:
    """Record each render (each packing of a new response), taking `seconds` longer than usual."""
    renders: list[str] = []
    packed = public_cache.CachedBody.packed.__func__

    def counted(cls, body, mimetype, status):
        renders.append(mimetype)
        time.sleep(seconds)
        return packed(cls, body, mimetype, status)

    monkeypatch.setattr(public_cache.CachedBody, "packed", classmethod(counted))
    return renders


def test_processes_missing_the_same_page_at_once_render_it_once(settings, session, monkeypatch, tmp_path):
    catalog.create_component(session, ACTOR, "Website")
    session.commit()
    apps = [create_app(dataclasses.replace(settings, version_check_seconds=0, instance_dir=tmp_path / f"node{n}"))
            for n in range(3)]
    renders = count_renders(monkeypatch, seconds=0.4)
    start = threading.Barrier(6)
    answers = []

    def reader(app) -> None:
        client = app.test_client()
        start.wait()
        answers.append(client.get("/"))

    readers = [threading.Thread(target=reader, args=(app,)) for app in apps for _ in range(2)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(timeout=30)

    assert len(renders) == 1
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.get_data() for a in answers}) == 1
    for app in apps:
        app.extensions["statuspage.db"].engine.dispose()


def test_a_page_that_is_not_found_does_not_keep_the_next_reader_waiting(client, session):
    for _ in range(2):
        response, took = timed_get(client, "/incidents/nosuchthing")
        assert response.status_code == 404 and took < public_cache.LEASE_WAIT_SECONDS / 2
    assert session.scalars(select(SnapshotLease)).all() == []


def test_a_lease_left_by_a_process_that_died_is_taken_over(session):
    now = utcnow()
    assert snapshot.take_lease(session, "7-2026-12-06", "/?", now)
    assert not snapshot.take_lease(session, "7-2026-12-06", "/?", now + timedelta(seconds=1))
    later = now + timedelta(seconds=snapshot.LEASE_SECONDS + 1)
    assert snapshot.take_lease(session, "7-2026-12-06", "/?", later)
    assert snapshot.take_lease(session, "8-2026-12-06", "/?", later)  # a new version is a new lease


def test_requests_arriving_during_a_slow_version_check_wait_for_it_instead_of_failing():
    cache = public_cache.PublicCache(check_seconds=1.0, deadline_seconds=0.5)
    calls = []

    def slow_database() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 7

    answers: list[str | Exception] = []

    def reader() -> None:
        try:
            answers.append(cache.version(slow_database))
        except public_cache.Unavailable as exc:
            answers.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join()
    assert len(calls) == 1
    assert [a for a in answers if not isinstance(a, str)] == []
    assert {str(a).split("-")[0] for a in answers} == {"7"}


def test_a_hung_version_check_holds_each_request_at_most_once():
    cache = public_cache.PublicCache(check_seconds=0.0, deadline_seconds=0.3)
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(public_cache.Unavailable):
        cache.version(lambda: release.wait(30) and 1)
    for _ in range(5):  # the check is still hung: later requests are told at once
        with pytest.raises(public_cache.Unavailable):
            cache.version(lambda: 1)
    assert time.monotonic() - started < 1.0
    release.set()


def test_a_reader_waiting_on_a_render_that_was_given_back_renders_at_once(settings, session, tmp_path):
    catalog.create_component(session, ACTOR, "Website")
    session.commit()
    app = create_app(dataclasses.replace(settings, version_check_seconds=0, instance_dir=tmp_path / "node"))
    version = record.version_tag(record.current_version(session), utcnow().date())
    key = public_cache.cache_key("/", "")
    assert snapshot.take_lease(session, version, key, utcnow())  # another process is rendering `/`
    session.commit()

    def give_back() -> None:  # ... and its render fails
        time.sleep(0.3)
        snapshot.release_lease(session, version, key)
        session.commit()

    other = threading.Thread(target=give_back)
    other.start()
    response, took = timed_get(app.test_client(), "/")
    other.join()
    assert response.status_code == 200 and took < public_cache.LEASE_WAIT_SECONDS / 2
    app.extensions["statuspage.db"].engine.dispose()


def test_a_process_with_nothing_to_serve_waits_for_a_slow_database_instead_of_a_503(client, monkeypatch):
    reader = public_cache.page_version_reader

    def slow(database):
        read = reader(database)

        def later() -> int:
            time.sleep(0.7)  # past the 0.5 s deadline of the version check
            return read()

        return later

    monkeypatch.setattr(public_cache, "page_version_reader", slow)
    response, took = timed_get(client, "/api/v2/status.json")
    assert response.status_code == 200 and took >= 0.7
