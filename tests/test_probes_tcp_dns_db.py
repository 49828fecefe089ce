"""TCP, DNS and database probes against real local targets (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from statuspage.db import make_engine
from statuspage.errors import InvalidInput
from statuspage.models import ProbeKind
from statuspage.outbound.guard import Policy
from statuspage.probes import CHECKERS, run_check
from statuspage.probes.base import ProbeSpec
from tests.conftest import POSTGRES_URL
from tests.probe_builders import T0
from tests.targets import closed_port

POLICY = Policy()


def run(kind: ProbeKind, target: str, timeout: float = 2, **options: Any):
    spec = ProbeSpec(id=1, code="p1", name="p", kind=kind, target=CHECKERS[kind].clean_target(target),
                     options=CHECKERS[kind].clean_options(options, {}), interval_seconds=30,
                     timeout_seconds=timeout, latency_threshold_ms=None, created_at=T0, last_ping_at=None)
    return run_check(spec, T0, POLICY)


# --- TCP ------------------------------------------------------------------------------------------


def test_tcp_connects_to_a_real_listener(tcp_listener):
    result = run(ProbeKind.TCP, f"127.0.0.1:{tcp_listener.port}")
    assert result.ok and result.latency_ms >= 0
    assert tcp_listener.accepted >= 0


def test_tcp_to_a_closed_port_is_refused():
    result = run(ProbeKind.TCP, f"127.0.0.1:{closed_port()}")
    assert not result.ok and result.reason == "connection refused"


def test_tcp_to_a_metadata_address_is_refused_before_connecting():
    result = run(ProbeKind.TCP, "[fd00:ec2::254]:80")
    assert not result.ok and result.reason.startswith("refused: fd00:ec2::254")


# --- DNS ------------------------------------------------------------------------------------------


def test_dns_resolves_localhost():
    result = run(ProbeKind.DNS, "localhost")
    assert result.ok and result.reason.startswith("resolved to ")
    assert {"127.0.0.1", "::1"} & set(result.detail["answers"])


def test_dns_can_expect_an_address():
    answers = run(ProbeKind.DNS, "localhost").detail["answers"]
    assert run(ProbeKind.DNS, "localhost", expect=[answers[0]]).ok
    result = run(ProbeKind.DNS, "localhost", expect=["192.0.2.7"])
    assert not result.ok and result.reason.endswith("expected 192.0.2.7")


def test_a_name_that_does_not_exist_is_a_failed_check():
    result = run(ProbeKind.DNS, "no-such-host.invalid")
    assert not result.ok and result.reason.startswith("DNS lookup for no-such-host.invalid")


# --- database: SQLite -------------------------------------------------------------------------------


def test_sqlite_select_1_times_connect_and_query_apart(tmp_path):
    path = tmp_path / "app.db"
    sqlite3.connect(path).close()
    result = run(ProbeKind.DATABASE, f"sqlite:///{path}")
    assert result.ok
    assert result.detail["connect_ms"] >= 0 and result.detail["query_ms"] >= 0
    assert result.latency_ms == pytest.approx(result.detail["connect_ms"] + result.detail["query_ms"], abs=0.05)


def test_a_missing_sqlite_file_fails_and_is_not_created(tmp_path):
    path = tmp_path / "gone.db"
    result = run(ProbeKind.DATABASE, f"sqlite:///{path}")
    assert not result.ok and "does not exist" in result.reason
    assert not path.exists()


def test_a_password_variable_that_is_not_set_is_a_clear_failure(tmp_path, monkeypatch):
    monkeypatch.delenv("PROBE_PASSWORD_MISSING", raising=False)
    result = run(ProbeKind.DATABASE, f"sqlite:///{tmp_path / 'a.db'}", password_env="PROBE_PASSWORD_MISSING")
    assert result.reason == "the environment variable PROBE_PASSWORD_MISSING is not set on the worker"


def test_a_refused_database_connection_is_a_failure():
    result = run(ProbeKind.DATABASE, f"postgresql+psycopg://app@127.0.0.1:{closed_port()}/app", timeout=2)
    assert not result.ok and result.reason == "connection refused"


def test_a_file_that_is_not_a_sqlite_database_fails(tmp_path):
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    result = run(ProbeKind.DATABASE, f"sqlite:///{path}")
    assert not result.ok and result.reason == "the file is not a SQLite database"
    assert path.read_text().startswith("root:x:0:0")  # opened read-only, left as it was


# --- database: what the probe sends (a fake PostgreSQL server) ------------------------------------


def test_the_password_comes_from_the_environment_variable_and_a_refusal_is_an_authentication_failure(
        fake_postgres, monkeypatch):
    monkeypatch.setenv("PROBE_PASSWORD_TEST", "s3cret-from-env")
    result = run(ProbeKind.DATABASE, fake_postgres.url(user="app", database="orders"),
                 password_env="PROBE_PASSWORD_TEST")
    assert not result.ok and result.reason == "authentication failed"
    assert fake_postgres.passwords == ["s3cret-from-env"]
    assert fake_postgres.startups[0]["user"] == "app" and fake_postgres.startups[0]["database"] == "orders"


def test_without_password_env_the_workers_own_postgres_password_is_never_sent(fake_postgres, monkeypatch, tmp_path):
    monkeypatch.setenv("PGPASSWORD", "the-workers-own-password")
    passfile = tmp_path / "pgpass"
    passfile.write_text("*:*:*:*:the-workers-pgpass-password\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    result = run(ProbeKind.DATABASE, fake_postgres.url())
    assert not result.ok and result.reason == "the server asks for a password: set password_env"
    assert fake_postgres.startups and fake_postgres.passwords == []


# --- database: the address guard ------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "postgresql+psycopg://app@/app?host=169.254.169.254",
    "postgresql+psycopg://app@db.internal/app?hostaddr=169.254.169.254",
    "postgresql+psycopg://app@db.internal/app?service=other",
    "postgresql+psycopg://app@db.internal/app?options=-c%20x%3Dy",
])
def test_url_parameters_that_could_change_where_a_database_probe_connects_are_refused(target):
    with pytest.raises(InvalidInput, match="is not allowed") as caught:
        CHECKERS[ProbeKind.DATABASE].clean_target(target)
    assert caught.value.field == "target"


def test_a_database_probe_needs_a_host_and_a_sqlite_one_takes_no_parameters(tmp_path):
    with pytest.raises(InvalidInput, match="needs a host"):
        CHECKERS[ProbeKind.DATABASE].clean_target("postgresql+psycopg://app@/app")
    with pytest.raises(InvalidInput, match="no \\?parameters"):
        CHECKERS[ProbeKind.DATABASE].clean_target(f"sqlite:///{tmp_path / 'a.db'}?mode=rwc")
    assert CHECKERS[ProbeKind.DATABASE].clean_target("postgresql+psycopg://app@db.internal/app?sslmode=require")


def stored(target: str) -> ProbeSpec:
    """A spec whose target skipped today's validation, as a row saved by an older version would."""
    return ProbeSpec(id=1, code="p1", name="p", kind=ProbeKind.DATABASE, target=target, options={},
                     interval_seconds=30, timeout_seconds=2, latency_threshold_ms=None, created_at=T0,
                     last_ping_at=None)


def test_a_stored_url_with_a_host_parameter_is_refused_at_check_time_too(fake_postgres):
    target = f"postgresql+psycopg://app@/app?host=127.0.0.1&port={fake_postgres.port}"
    result = run_check(stored(target), T0, POLICY)
    assert not result.ok and result.reason == "refused: the URL parameter 'host' is not allowed"
    assert fake_postgres.startups == []


def test_a_database_url_without_a_host_is_judged_as_loopback():
    result = run_check(stored("postgresql+psycopg://app@/app"), T0, Policy(deny_private=True))
    assert not result.ok
    assert result.reason == "refused: 127.0.0.1 is a private address (STATUSPAGE_PROBE_DENY_PRIVATE is set)"


def test_a_database_probe_connects_only_to_the_guarded_address(fake_postgres):
    result = run_check(stored(fake_postgres.url()), T0, Policy(deny_private=True))
    assert result.reason.startswith("refused: 127.0.0.1 is a private address")
    assert fake_postgres.startups == []


# --- database: PostgreSQL ------------------------------------------------------------------------------

postgres_only = pytest.mark.skipif(not POSTGRES_URL, reason="set STATUSPAGE_TEST_POSTGRES_URL")


@pytest.fixture
def pg_role(monkeypatch, postgres_url):
    """A throwaway PostgreSQL role with a password (from a PROBE_PASSWORD_ variable) and a connection limit,
    probing this worker's database."""
    engine = make_engine(postgres_url)
    name = f"probe_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with engine.begin() as connection:
        connection.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' CONNECTION LIMIT 1"))
    monkeypatch.setenv("PROBE_PASSWORD_TEST", password)
    url = engine.url.set(username=name, password=None).render_as_string(hide_password=False)
    yield name, url
    with engine.begin() as connection:
        connection.execute(text(f"DROP ROLE {name}"))
    engine.dispose()


@postgres_only
def test_postgresql_select_1_with_the_password_from_the_environment(pg_role):
    _name, url = pg_role
    result = run(ProbeKind.DATABASE, url, password_env="PROBE_PASSWORD_TEST")
    assert result.ok, result.reason
    assert result.detail["connect_ms"] > 0 and result.detail["query_ms"] > 0


@postgres_only
def test_postgresql_out_of_connections_is_a_failure(pg_role):
    name, url = pg_role
    holder = make_engine(make_url(url).set(password=os.environ["PROBE_PASSWORD_TEST"])
                         .render_as_string(hide_password=False))
    with holder.connect():  # takes the role's only connection, as an exhausted pool would
        result = run(ProbeKind.DATABASE, url, password_env="PROBE_PASSWORD_TEST")
    holder.dispose()
    assert not result.ok
    assert result.reason == "too many connections: the server's connection limit is reached"
