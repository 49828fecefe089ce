"""Shared fixtures: the app on SQLite (and PostgreSQL when configured), clients and personas.

Each database is migrated once per session with our Alembic migrations;
every test then starts from empty tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from alembic import command
from flask import Flask
from flask import session as flask_session
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from statuspage import create_app
from statuspage.accounts.users import create_token, create_user
from statuspage.audit import Actor
from statuspage.cli import alembic_config
from statuspage.config import Settings
from statuspage.db import Base, make_engine, utcnow
from statuspage.tools.setup import setup_page

# Real local targets for probe tests (HTTP/HTTPS servers, TCP listeners, certificates) and for the
# notification channels (chat and SMS services).
pytest_plugins = ["tests.targets", "tests.channel_receivers"]

def _memoize_url_builders() -> None:
    """Build each URL rule's builder once per test process instead of once per app.

    Werkzeug compiles two small Python functions (through `ast` and `compile`) for every URL rule
    of every app; with ~230 rules that was 85% of `create_app`, and the suite makes an app per
    test (thousands). A builder depends only on the rule's text, its parsed parts and its
    defaults, and reaches its converters through the rule it is bound to (`self._converters`),
    so rules equal in those share one function, bound to each. Werkzeug is pinned in
    requirements.txt; the guard below keeps its own behaviour if the method ever goes away.
    """
    from werkzeug.routing.rules import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None or getattr(original, "memoized", False):
        return
    built: dict[tuple, Callable] = {}

    def compile_builder(self: Rule, append_unknown: bool = True) -> Callable:
        defaults = tuple(sorted((str(k), repr(v)) for k, v in (self.defaults or {}).items()))
        key = (self.rule, tuple(self._trace), defaults, append_unknown)
        if key not in built:
            built[key] = original(self, append_unknown)
        return built[key]

    compile_builder.memoized = True  # type: ignore[attr-defined]
    Rule._compile_builder = compile_builder  # type: ignore[method-assign]

_memoize_url_builders()

# The suite allocates heavily (an app, its routes and its engine per test) on top of a large heap of
# long-lived objects (SQLAlchemy, pydantic, schemathesis, hypothesis), and CPython's default
# thresholds (700, 10, 10) then spend about a third of the run in the cycle collector walking that
# heap again and again. Collecting young objects every 50,000 allocations instead cut test_api_v1 and
# test_components from 22 to 15 s; memory grows by about 15%.
gc.set_threshold(50_000, 20, 20)

POSTGRES_URL = os.environ.get("STATUSPAGE_TEST_POSTGRES_URL")
DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(request, monkeypatch):
    """Cheap argon2 parameters: a real hash costs about 0.35 s here, and tests sign in a lot.

    Mark a test `real_password_hashing` to keep the production parameters.
    """
    if request.node.get_closest_marker("real_password_hashing") is None:
        from argon2 import PasswordHasher

        from statuspage.accounts import users

        monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> str | None:
    """This process's PostgreSQL database: the configured one, or `<name>_gw0`, `<name>_gw1`, ... when
    pytest-xdist runs workers, so that no two workers ever empty, migrate or drop each other's tables.

    A worker's database is created through the configured one the first time and kept for later runs.
    """
    if not POSTGRES_URL or worker_id == "master":
        return POSTGRES_URL
    configured = make_url(POSTGRES_URL)
    name = f"{configured.database}_{worker_id}"
    engine = make_engine(POSTGRES_URL)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return configured.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory, postgres_url: str | None) -> dict[str, str]:
    """A freshly migrated database per backend, shared by the whole run (by one xdist worker's tests)."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"}
    if postgres_url:
        engine = make_engine(postgres_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        urls["postgresql"] = postgres_url
    for url in urls.values():
        command.upgrade(alembic_config(url), "head")
    return urls


_EMPTYING_ENGINES: dict = {}


def fresh_install(url: str) -> None:
    """Empty every table, then set up the page as `db upgrade` does on a new install."""
    engine = _EMPTYING_ENGINES.get(url) or _EMPTYING_ENGINES.setdefault(url, make_engine(url))
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # DELETE beats TRUNCATE on tables this small (no lock upgrade, no file rewrite), on both databases.
    with engine.begin() as connection:
        for table in tables:
            connection.execute(text(f"DELETE FROM {table}"))
    with Session(engine) as session, session.begin():
        setup_page(session, "Acme", "Europe/Berlin")


@pytest.fixture(params=DATABASES)
def database_url(request, migrated_urls) -> str:
    url = migrated_urls[request.param]
    fresh_install(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        environ={
            "STATUSPAGE_INSTANCE_DIR": str(tmp_path / "instance"),
            "STATUSPAGE_DATABASE_URL": database_url,
            "STATUSPAGE_SECRET_KEY": "test-secret-key-not-for-production",
            "STATUSPAGE_BASE_URL": "http://status.test",
            "STATUSPAGE_PAGE_NAME": "Acme",
            "STATUSPAGE_TIMEZONE": "Europe/Berlin",
            # Tests (schemathesis above all) make many calls with one token; test_api_rate_limit lowers it.
            "STATUSPAGE_API_RATE_LIMIT": "100000 per minute",
            # Webhook receivers in tests listen on loopback; test_subscriber_targets keeps the public-only default.
            "STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE": "true",
        }
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["statuspage.db"].engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session for arranging and checking data; commit what the app must see."""
    db = app.extensions["statuspage.db"]
    session = db.session()
    setup_page(session, "Acme", "Europe/Berlin")
    session.commit()
    yield session
    session.close()


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of this client's session, read from a rendered form."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict, token_from: str = "/login", **kwargs):
    """POST a form the way a browser would, with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **data}, **kwargs)


@pytest.fixture
def make_user(session: Session) -> Callable[..., object]:
    def make(email: str = "admin@example.com", role: str = "admin"):
        user = create_user(session, email, PASSWORD, role, Actor.system("test"))
        session.commit()
        return user

    return make


@pytest.fixture
def login_as(client: FlaskClient, session: Session, make_user) -> Callable[[str], object]:
    """Sign the test client in as a new user with `role` (admin or responder).

    It leaves what a successful sign-in (web/auth.py `login`) leaves: the user's `last_login_at`, and a
    permanent session with the keys flask-login's `login_user` writes (the user id with its session
    version among them), without rendering and posting the form each time; test_auth signs in
    through the form.
    """

    def login(role: str = "admin"):
        user = make_user(f"{role}@example.com", role)
        user.last_login_at = utcnow()
        session.commit()
        # A request with the client's address and User-Agent, so that the `_id` flask-login's session
        # protection compares is the one the client's requests will have.
        with client.application.test_request_context(environ_base=client.environ_base):
            flask_session.permanent = True
            login_user(user)
            signed_in = dict(flask_session)
        with client.session_transaction() as cookie:
            cookie.update(signed_in)
        return user

    return login


@pytest.fixture
def api_token(session: Session, make_user) -> Callable[[str], dict[str, str]]:
    """Headers with a fresh API token of a user with `role`."""

    def make(role: str = "admin") -> dict[str, str]:
        user = make_user(f"api-{role}@example.com", role)
        _token, raw = create_token(session, user.email, "test", Actor.system("test"))
        session.commit()
        return {"Authorization": f"OAuth {raw}"}

    return make


@pytest.fixture
def page_code(session: Session) -> str:
    return setup_page(session, "Acme", "Europe/Berlin").code


# --- a real SMTP server on loopback ------------------------------------------------------------


class SmtpSink:
    """aiosmtpd handler that keeps what arrived and can misbehave on purpose.

    `refuse_rcpt[address] = "550 ..."` refuses one recipient; `fail_data` is a
    list of replies given to the next DATA commands before accepting (e.g.
    ["421 try later"]); `drop_after` closes the connection after that many
    accepted messages (once).
    """

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse_rcpt: dict[str, str] = {}
        self.fail_data: list[str] = []
        self.drop_after: int | None = None
        self.delay = 0.0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse_rcpt.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            if self.fail_data:
                return self.fail_data.pop(0)
            self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
            if self.drop_after is not None and len(self.messages) >= self.drop_after:
                self.drop_after = None
                server.transport.close()
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1; yields (sink, port)."""
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server) -> Settings:
    _sink, port = smtp_server
    return dataclasses.replace(settings, mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port,
                               mail_from="status@acme.test", version_check_seconds=0)


@pytest.fixture
def mail_app(smtp_settings: Settings) -> Iterator[Flask]:
    """The app sending mail through the test SMTP server."""
    app = create_app(smtp_settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["statuspage.db"].engine.dispose()


@pytest.fixture
def worker_for(smtp_settings: Settings):
    """A worker of an app, with an injected clock (a one-item list you can move)."""
    from statuspage.worker import Worker

    def make(app: Flask, clock: list | None = None) -> Worker:
        clock = clock if clock is not None else [utcnow()]
        return Worker(app.extensions["statuspage.db"], clock=lambda: clock[0], settings=smtp_settings)

    return make


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve an app over real HTTP on 127.0.0.1 (threaded werkzeug) while in the block; gives its origin."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def live_server(app: Flask, session: Session):
    """The app served over real HTTP; yields its origin."""
    with serving(app) as origin:
        yield origin
