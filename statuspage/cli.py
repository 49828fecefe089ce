"""Flask commands: `flask --app app db ...` and `flask --app app statuspage ...`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from statuspage.accounts import users
from statuspage.audit import Actor
from statuspage.config import ROOT
from statuspage.db import utcnow
from statuspage.errors import DomainError
from statuspage.incidents import templates
from statuspage.models import User
from statuspage.tools import demo, importer, publish, scenarios, static_export
from statuspage.tools.setup import setup_page
from statuspage.worker import Worker, fast_clock


def alembic_config(database_url: str) -> Config:
    """Alembic's config for our migrations folder, pointed at `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def _database():
    return current_app.extensions["statuspage.db"]


def _settings():
    return current_app.config["STATUSPAGE"]


def _app() -> Flask:
    # Flask types current_app as Flask, though it is the LocalProxy whose documented method returns the app.
    return current_app._get_current_object()  # type: ignore[attr-defined]


db_group = AppGroup("db", help="Database migrations (Alembic).")
statuspage_group = AppGroup("statuspage", help="Operate the status page.")


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest), then set up the page if there is none."""
    settings = _settings()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    config = alembic_config(settings.database_url)
    command.upgrade(config, revision)
    click.echo(f"Database at {revision}.")
    if revision in ("head", *ScriptDirectory.from_config(config).get_heads()):
        with _database().transaction() as session:
            setup_page(session, settings.page_name, settings.timezone)


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION."""
    command.downgrade(alembic_config(_settings().database_url), revision)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True)
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration file (for developers)."""
    command.revision(alembic_config(_settings().database_url), message=message,
                     autogenerate=autogenerate)


@db_group.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    command.current(alembic_config(_settings().database_url))


def _fail(exc: DomainError) -> None:
    raise click.ClickException(exc.message)


UPGRADE_FIRST = "run `flask --app app db upgrade` first"


def _require_current_schema() -> None:
    """Stop with a clear message, not a traceback, when the database is unreachable or not migrated to head."""
    url = make_url(_settings().database_url)
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:") \
            and Path(url.database).parent.is_dir() and not Path(url.database).exists():
        raise click.ClickException(f"The database has no tables yet: {UPGRADE_FIRST}.")
    try:
        with _database().engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "it cannot be opened"
        raise click.ClickException(f"Cannot open the database ({reason}): check STATUSPAGE_DATABASE_URL, "
                                   f"and {UPGRADE_FIRST}.") from None
    heads = set(ScriptDirectory.from_config(alembic_config(_settings().database_url)).get_heads())
    if not current:
        raise click.ClickException(f"The database has no tables yet: {UPGRADE_FIRST}.")
    if current != heads:
        raise click.ClickException(f"The database is at revision {', '.join(sorted(current))}, this version "
                                   f"needs {', '.join(sorted(heads))}: {UPGRADE_FIRST}.")


@statuspage_group.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "responder"]), default="responder",
              show_default=True)
def create_user(email: str, role: str) -> None:
    """Create a user; the password comes from STATUSPAGE_PASSWORD or a prompt."""
    _require_current_schema()
    password = os.environ.get("STATUSPAGE_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        with _database().transaction() as session:
            settings = _settings()
            setup_page(session, settings.page_name, settings.timezone)
            user = users.create_user(session, email, password, role, Actor.system("cli"))
            click.echo(f"Created {user.role.value} {user.email}.")
    except DomainError as exc:
        _fail(exc)


@statuspage_group.command("create-token")
@click.argument("email")
@click.option("--name", default="API token", show_default=True)
def create_token(email: str, name: str) -> None:
    """Create a management API token; it is shown once, as the last word printed."""
    _require_current_schema()
    try:
        with _database().transaction() as session:
            settings = _settings()
            page = setup_page(session, settings.page_name, settings.timezone)
            _token, raw = users.create_token(session, email, name, Actor.system("cli"))
            page_code = page.code
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Page id: {page_code}")
    click.echo("Keep this token now; it cannot be shown again:")
    click.echo(f"Token: {raw}")


# --- people and keys: everything the admin's Users page does, for operators without a browser -------


def _change_user(email: str, change: Callable[[Session, Actor, User], str]) -> None:
    """Find the user by address, apply one change in a transaction, print what happened."""
    _require_current_schema()
    try:
        with _database().transaction() as session:
            click.echo(change(session, Actor.system("cli"), users.find_user(session, email)))
    except DomainError as exc:
        _fail(exc)


@statuspage_group.command("users")
def list_users() -> None:
    """List users: address, role, active or not, last sign-in."""
    _require_current_schema()
    with _database().transaction() as session:
        for user in users.all_users(session):
            seen = f"{user.last_login_at:%Y-%m-%d %H:%M} UTC" if user.last_login_at else "never signed in"
            click.echo(f"{user.email}\t{user.role.value}\t{'active' if user.active else 'deactivated'}\t{seen}")


@statuspage_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "responder"]))
def set_role(email: str, role: str) -> None:
    """Make a user an admin or a responder (their sessions end)."""
    _change_user(email, lambda s, actor, user: f"{users.change_role(s, actor, user, role).email} is now {role}.")


@statuspage_group.command("reset-password")
@click.argument("email")
def reset_password(email: str) -> None:
    """Set a new password from STATUSPAGE_PASSWORD or a prompt (the user's sessions end)."""
    password = os.environ.get("STATUSPAGE_PASSWORD") or click.prompt(
        "New password", hide_input=True, confirmation_prompt=True)
    _change_user(email, lambda s, actor, user:
                 f"New password set for {users.set_password(s, actor, user, password).email}.")


@statuspage_group.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Stop a user signing in or using their API keys, at once; their history stays."""
    _change_user(email, lambda s, actor, user: f"Deactivated {users.set_active(s, actor, user, False).email}.")


@statuspage_group.command("reactivate")
@click.argument("email")
def reactivate(email: str) -> None:
    """Let a deactivated user sign in again (with their keys that were not revoked)."""
    _change_user(email, lambda s, actor, user: f"Reactivated {users.set_active(s, actor, user, True).email}.")


@statuspage_group.command("delete-user")
@click.argument("email")
def delete_user(email: str) -> None:
    """Delete a user and their API keys; the audit log keeps what they did."""
    def delete(session: Session, actor: Actor, user: User) -> str:
        users.delete_user(session, actor, user)
        return f"Deleted {user.email}."

    _change_user(email, delete)


@statuspage_group.command("tokens")
@click.argument("email")
def list_tokens(email: str) -> None:
    """List a user's API keys: id, name, first characters, created, last used, revoked."""
    def listing(session: Session, _actor: Actor, user: User) -> str:
        lines = [f"{t.id}\t{t.name}\t{t.prefix}…\tcreated {t.created_at:%Y-%m-%d}\t"
                 f"{'used ' + format(t.last_used_at, '%Y-%m-%d %H:%M') if t.last_used_at else 'never used'}\t"
                 f"{'revoked ' + format(t.revoked_at, '%Y-%m-%d %H:%M') if t.revoked_at else 'active'}"
                 for t in users.tokens_of(session, user)]
        return "\n".join(lines) or f"{user.email} has no API keys."

    _change_user(email, listing)


@statuspage_group.command("revoke-token")
@click.argument("email")
@click.argument("token_id")
def revoke_token(email: str, token_id: str) -> None:
    """Revoke one of a user's API keys (by the id `tokens` lists); the API refuses it at once."""
    def revoke(session: Session, actor: Actor, user: User) -> str:
        token = users.revoke_token(session, actor, users.get_token(session, token_id, owner=user))
        return f"Revoked key {token.name} ({token.prefix}…) of {user.email}."

    _change_user(email, revoke)


@statuspage_group.command("demo")
@click.option("--scenario", type=click.Choice(["aug14"]), default=None,
              help="Also replay a real outage with its postmortem (aug14: the database cluster failure).")
def demo_command(scenario: str | None) -> None:
    """Seed the demo page: a web stack's components in groups (idempotent; notifies no one)."""
    _require_current_schema()
    with _database().transaction() as session:
        created = demo.seed_components(session, _settings())
        templates.seed_templates(session, Actor.system("demo"))
        if scenario == "aug14":
            incident = scenarios.aug14(session, _settings())
            if incident is not None:
                click.echo(f"Replayed the August 14th outage: /incidents/{incident.code}")
            else:
                click.echo("The August 14th outage was replayed before and its incident deleted since; "
                           "not replaying it again.")
    click.echo(f"Demo page ready ({created} components created).")


@statuspage_group.command("export-static")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def export_static_command(folder: Path) -> None:
    """Write the public site (pages, feeds, API v2 JSON) as static files into FOLDER."""
    _require_current_schema()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        written = static_export.export(_app(), folder)
    except static_export.IncompleteSite as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote {len(written)} files to {folder}.")


@statuspage_group.command("import-statuspage")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
def import_statuspage_command(source: Path) -> None:
    """Import components, groups, incidents and maintenances from Statuspage v2 JSON (file or folder)."""
    _require_current_schema()
    try:
        with _database().transaction() as session:
            settings = _settings()
            setup_page(session, settings.page_name, settings.timezone)
            counts = importer.run(session, Actor.system("cli", "import-statuspage"), source)
    except DomainError as exc:
        _fail(exc)
    except IntegrityError as exc:
        # A clash the import's own checks missed (e.g. a concurrent edit): nothing was saved.
        detail = str(exc.orig).splitlines()[0] if exc.orig else "a duplicate or missing reference"
        raise click.ClickException(
            f"Nothing imported: the export clashes with data on this page ({detail})."
        ) from None
    click.echo("Imported: " + ", ".join(f"{value} {key}" for key, value in counts.items()) + ".")


def _wait_for_database(once: bool, every: float = 5.0) -> None:
    """Start when the database answers: a worker started during an outage waits for it instead of exiting.
    A database that answers but is not migrated is an operator's mistake, reported at once."""
    while True:
        try:
            _require_current_schema()
            return
        except click.ClickException as exc:
            if once or not exc.message.startswith("Cannot open the database"):
                raise
            click.echo(f"{exc.message} Retrying in {every:g} s.", err=True)
            time.sleep(every)


@statuspage_group.command("worker")
@click.option("--once", is_flag=True, help="Do one pass of everything due, then exit.")
def worker_command(once: bool) -> None:
    """Run the background worker (maintenance windows, probes, notifications)."""
    _wait_for_database(once)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = _settings()
    speed = settings.worker_clock_speed
    if speed > 1:
        click.echo(f"The worker's clock runs {speed} times faster than real time (STATUSPAGE_WORKER_CLOCK_SPEED).")
    worker = Worker(_database(), clock=fast_clock(speed) if speed > 1 else utcnow, idle_seconds=1.0 / speed,
                    settings=settings, publisher=publish.publisher_for(_app(), settings))
    if once:
        done = worker.run_pass()
        worker.close()
        click.echo(f"Worker pass done ({done} units of work).")
    else:
        worker.run_forever()


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(statuspage_group)
