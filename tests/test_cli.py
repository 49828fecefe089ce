"""The operator's commands: create-user, create-token and demo."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import func, select

from statuspage import ROOT, create_app
from statuspage.cli import alembic_config
from statuspage.db import Base, utcnow
from statuspage.models import ApiToken, AuditEntry, Component, ComponentGroup, IncidentTemplate, Page, Role, User
from statuspage.tools.demo import DEMO_STACK


def invoke(runner, *args: str, password: str | None = None):
    env = {"STATUSPAGE_PASSWORD": password} if password is not None else {}
    return runner.invoke(args=list(args), env=env)


def create_user(runner, email: str = "ops@example.com", role: str = "admin",
                password: str = "a long enough password"):
    return invoke(runner, "statuspage", "create-user", email, "--role", role, password=password)


def users(session) -> list[User]:
    session.expire_all()
    return list(session.scalars(select(User).order_by(User.id)))


# --- create-user ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "responder"])
def test_create_user_takes_the_password_from_the_environment(runner, session, role):
    result = create_user(runner, "Ops@Example.com", role)

    assert result.exit_code == 0, result.output
    assert f"Created {role} ops@example.com." in result.output
    [user] = users(session)
    assert (user.email, user.role) == ("ops@example.com", Role(role))
    assert user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(user.password_hash, "a long enough password")


def test_create_user_asks_for_the_password_when_the_environment_has_none(runner, session, monkeypatch):
    monkeypatch.delenv("STATUSPAGE_PASSWORD", raising=False)

    result = runner.invoke(args=["statuspage", "create-user", "ops@example.com"],
                           input="a long enough password\na long enough password\n")

    assert result.exit_code == 0, result.output
    [user] = users(session)
    assert user.role == Role.RESPONDER
    assert "a long enough password" not in result.output


def test_create_user_refuses_a_short_password(runner, session):
    result = create_user(runner, password="short")

    assert result.exit_code != 0
    assert "Password must be at least 10 characters." in result.output
    assert users(session) == []


def test_create_user_refuses_a_duplicate_with_a_clear_message(runner, session):
    assert create_user(runner, "ops@example.com").exit_code == 0

    result = create_user(runner, "OPS@example.com", "responder")

    assert result.exit_code != 0
    assert "A user ops@example.com already exists." in result.output
    assert "Traceback" not in result.output
    assert [u.role for u in users(session)] == [Role.ADMIN]


@pytest.mark.parametrize("email", ["not-an-email", "", "ops@"])
def test_create_user_refuses_an_invalid_email(runner, session, email):
    result = create_user(runner, email)

    assert result.exit_code != 0
    assert "mail" in result.output.lower()
    assert users(session) == []


def test_create_user_refuses_an_unknown_role(runner, session):
    result = create_user(runner, role="owner")

    assert result.exit_code != 0
    assert "owner" in result.output
    assert users(session) == []


def test_create_user_leaves_an_audit_row(runner, session):
    create_user(runner)

    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")).one()
    assert (entry.actor, entry.detail["email"], entry.detail["role"]) == ("cli", "ops@example.com", "admin")


# --- create-token -----------------------------------------------------------------------------


def new_token(runner, email: str = "ops@example.com", *options: str) -> str:
    result = invoke(runner, "statuspage", "create-token", email, *options)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1].split()[-1]


def test_create_token_prints_a_token_that_works_against_the_management_api(runner, client, page_code):
    create_user(runner)

    token = new_token(runner)

    response = client.get(f"/api/v1/pages/{page_code}/components",
                          headers={"Authorization": f"OAuth {token}"})
    assert response.status_code == 200
    assert response.get_json() == []
    assert client.get(f"/api/v1/pages/{page_code}/components",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_create_token_prints_the_page_id(runner, page_code):
    create_user(runner)

    result = invoke(runner, "statuspage", "create-token", "ops@example.com")

    assert f"Page id: {page_code}" in result.output


def test_each_token_is_new_and_named(runner, session):
    create_user(runner)

    first = new_token(runner)
    second = new_token(runner, "ops@example.com", "--name", "Grafana")

    assert first != second
    assert sorted(session.scalars(select(ApiToken.name))) == ["API token", "Grafana"]


def test_the_token_is_stored_only_as_a_hash(runner, session, app):
    create_user(runner)

    token = new_token(runner)

    stored = session.scalars(select(ApiToken)).one()
    assert token not in (stored.token_hash, stored.prefix)
    assert len(stored.token_hash) == 64
    with app.extensions["statuspage.db"].engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                assert token not in repr(tuple(row)), table.name


def test_create_token_for_an_unknown_user_fails_clearly(runner, session):
    result = invoke(runner, "statuspage", "create-token", "nobody@example.com")

    assert result.exit_code != 0
    assert "No user nobody@example.com." in result.output
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


@pytest.mark.parametrize("name, message", [
    ("x" * 300, "Name must be at most 255 characters."),
    ("CI\nbot", "Name must be one line without control characters"),
])
def test_create_token_refuses_a_bad_name_clearly(runner, session, name, message):
    create_user(runner)

    result = invoke(runner, "statuspage", "create-token", "ops@example.com", "--name", name)

    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_create_token_names_a_token_with_only_spaces_api_token(runner, session):
    create_user(runner)

    new_token(runner, "ops@example.com", "--name", "   ")

    assert session.scalars(select(ApiToken.name)).all() == ["API token"]


def test_a_token_of_a_deactivated_user_stops_working(runner, client, session, page_code):
    create_user(runner)
    token = new_token(runner)
    user = users(session)[0]
    user.active = False
    session.commit()

    response = client.get(f"/api/v1/pages/{page_code}/components",
                          headers={"Authorization": f"OAuth {token}"})

    assert response.status_code == 401


# --- demo -------------------------------------------------------------------------------------


def demo_state(session) -> tuple[list[tuple[str, str | None]], int]:
    session.expire_all()
    rows = session.execute(
        select(Component.name, ComponentGroup.name)
        .outerjoin(ComponentGroup, Component.group_id == ComponentGroup.id)
        .order_by(Component.id)
    ).all()
    groups = session.scalar(select(func.count()).select_from(ComponentGroup))
    return [(name, group) for name, group in rows], groups


def test_demo_seeds_a_grouped_web_stack(runner, session):
    result = invoke(runner, "statuspage", "demo")

    assert result.exit_code == 0, result.output
    components, groups = demo_state(session)
    names = [name.lower() for name, _group in components]
    for wanted in ("website", "api", "authentication", "database cluster", "monitoring and alerting"):
        assert any(wanted in name for name in names), wanted
    assert groups >= 2
    grouped = {name.lower() for name, group in components if group is not None}
    assert {"website", "authentication", "database cluster"} <= grouped


def test_demo_is_idempotent(runner, session):
    first = invoke(runner, "statuspage", "demo")
    before = demo_state(session)

    second = invoke(runner, "statuspage", "demo")

    assert first.exit_code == second.exit_code == 0
    assert demo_state(session) == before
    assert "(0 components created)" in second.output


def test_demo_leaves_existing_components_alone(runner, client, session):
    invoke(runner, "statuspage", "demo")
    website = session.scalars(select(Component).where(Component.name == "Website")).one()
    website.description = "Our own words"
    session.commit()

    invoke(runner, "statuspage", "demo")

    session.expire_all()
    assert session.get(Component, website.id).description == "Our own words"
    assert client.get("/").status_code == 200


def uptime_bars(html: str) -> dict[str, tuple[str, int, list[str]]]:
    """Per component on the public page: its uptime label, how many days its bars cover, and the label of
    each day (a bar covers a run of days that read the same: 5 units per day)."""
    bars = {}
    for label, body in re.findall(r'<svg class="uptime-bars"[^>]*aria-label="([^"]*)">(.*?)</svg>', html, re.S):
        name, figures = label.rsplit(": ", 1)
        days: list[str] = []
        for width, day_label in re.findall(r'<rect x="\d+" width="(\d+)"[^>]*><title>[^<]*: ([^<]*?)</title>', body):
            days += [day_label] * ((int(width) + 1) // 5)
        bars[name] = (figures, len(days), days)
    return bars


def test_the_demo_page_shows_ninety_days_of_uptime_for_every_component(runner, client):
    assert invoke(runner, "statuspage", "demo", "--scenario", "aug14").exit_code == 0

    bars = uptime_bars(client.get("/").get_data(as_text=True))

    assert set(bars) == {name for _group, members in DEMO_STACK for name, _description in members}
    for name, (figures, count, days) in bars.items():
        assert figures == "100% uptime over 90 days, 100% over 30 days", name
        assert count == 90, name
        assert days == ["100%"] * 90, name


def test_a_second_demo_run_keeps_the_history_it_started(runner, session):
    invoke(runner, "statuspage", "demo")
    session.expire_all()
    before = sorted(session.execute(select(Component.name, Component.created_at)).all())

    invoke(runner, "statuspage", "demo")

    session.expire_all()
    assert sorted(session.execute(select(Component.name, Component.created_at)).all()) == before
    assert all(utcnow() - created > timedelta(days=90) for _name, created in before)


def fresh_environment(tmp_path: Path, database: Path) -> dict[str, str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("STATUSPAGE_")}
    return {**environ, "STATUSPAGE_INSTANCE_DIR": str(tmp_path / "instance"),
            "STATUSPAGE_DATABASE_URL": f"sqlite:///{database}", "STATUSPAGE_SECRET_KEY": "demo-test-key"}


def test_demo_on_a_database_never_migrated_says_to_upgrade_first(tmp_path):
    database = tmp_path / "fresh.db"

    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "statuspage", "demo"],
                            cwd=ROOT, env=fresh_environment(tmp_path, database), capture_output=True,
                            text=True, timeout=120)

    assert result.returncode != 0
    assert "run `flask --app app db upgrade` first" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Demo page ready" not in result.stdout


def test_demo_on_a_database_behind_the_code_says_to_upgrade_first(settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    command.upgrade(alembic_config(url), "0001")
    behind = create_app(dataclasses.replace(settings, database_url=url))

    result = behind.test_cli_runner().invoke(args=["statuspage", "demo"])

    behind.extensions["statuspage.db"].engine.dispose()
    assert result.exit_code != 0
    assert "The database is at revision 0001" in result.output
    assert "run `flask --app app db upgrade` first" in result.output
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("args", [
    ["statuspage", "create-user", "ops@example.com", "--role", "admin"],
    ["statuspage", "create-token", "ops@example.com"],
    ["statuspage", "import-statuspage", "."],
    ["statuspage", "export-static", "out"],
    ["statuspage", "worker", "--once"],
])
def test_every_data_command_on_a_database_never_migrated_says_to_upgrade_first(settings, tmp_path, args,
                                                                                monkeypatch):
    monkeypatch.setenv("STATUSPAGE_PASSWORD", "a long enough password")
    monkeypatch.chdir(tmp_path)
    fresh = create_app(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))

    result = fresh.test_cli_runner().invoke(args=args)

    fresh.extensions["statuspage.db"].engine.dispose()
    assert result.exit_code != 0
    assert "The database has no tables yet: run `flask --app app db upgrade` first." in result.output
    assert isinstance(result.exception, SystemExit)


def test_demo_on_a_database_it_cannot_open_says_what_to_check(settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'statuspage.db'}"
    unreachable = create_app(dataclasses.replace(settings, database_url=url))

    result = unreachable.test_cli_runner().invoke(args=["statuspage", "demo"])

    unreachable.extensions["statuspage.db"].engine.dispose()
    assert result.exit_code != 0
    assert "Cannot open the database" in result.output
    assert "STATUSPAGE_DATABASE_URL" in result.output
    assert isinstance(result.exception, SystemExit)


# --- db upgrade sets the page up; requests never do ----------------------------------------------


def test_db_upgrade_sets_up_the_page_and_its_saved_messages(settings, tmp_path):
    fresh = create_app(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))

    result = fresh.test_cli_runner().invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with fresh.extensions["statuspage.db"].session() as session:
        [page] = session.scalars(select(Page))
        assert (page.name, page.time_zone) == ("Acme", "Europe/Berlin")
        assert session.scalar(select(func.count()).select_from(IncidentTemplate)) > 0
    again = fresh.test_cli_runner().invoke(args=["db", "upgrade"])
    with fresh.extensions["statuspage.db"].session() as session:
        assert again.exit_code == 0 and session.scalar(select(func.count()).select_from(Page)) == 1
    fresh.extensions["statuspage.db"].engine.dispose()


def test_a_request_on_a_database_without_a_page_answers_503_and_writes_nothing(settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'no-page.db'}"
    command.upgrade(alembic_config(url), "head")  # the schema only, as an upgrade interrupted before setup
    bare = create_app(dataclasses.replace(settings, database_url=url))

    responses = [bare.test_client().get(path) for path in ("/", "/api/v2/status.json")]

    with bare.extensions["statuspage.db"].session() as session:
        assert session.scalar(select(func.count()).select_from(Page)) == 0
    bare.extensions["statuspage.db"].engine.dispose()
    assert [r.status_code for r in responses] == [503, 503]
    assert "db upgrade" in responses[1].get_json()["error"]["message"]
