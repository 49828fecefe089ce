"""The models and the Alembic migrations describe the same schema, on every backend."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from statuspage import models  # noqa: F401  (registers every table on Base.metadata)
from statuspage.cli import alembic_config
from statuspage.db import Base, make_engine
from tests.conftest import DATABASES

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
TABLES = {table.name for table in Base.metadata.sorted_tables}


def differences(connection: Connection) -> list:
    """What autogenerate would write to make the database match the models."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (the unique names); PostgreSQL compares
        # them, and test_names_are_unique_in_the_database checks them on both.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        return compare_metadata(context, Base.metadata)


def revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def test_the_migrated_database_matches_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        assert revision_of(connection) == HEAD
        assert differences(connection) == []
    engine.dispose()


def test_there_is_one_line_of_migrations():
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1


@pytest.fixture(params=DATABASES)
def scratch_database(request, tmp_path: Path, postgres_url: str | None) -> Iterator[Connection]:
    """An empty database of its own: a temporary SQLite file, or a throwaway schema in this worker's
    PostgreSQL database.

    The shared, migrated databases other tests use are never touched.
    """
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}", create=True)
        with engine.connect() as connection:
            yield connection
        engine.dispose()
        return
    schema = f"migration_test_{secrets.token_hex(4)}"
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}"'))
        connection.commit()
        assert connection.execute(text("SELECT current_schema()")).scalar_one() == schema
        try:
            yield connection
        finally:
            connection.rollback()
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.commit()
    engine.dispose()


def migrate(connection: Connection, action, revision: str) -> None:
    config = alembic_config(str(connection.engine.url))
    config.attributes["connection"] = connection
    action(config, revision)
    connection.commit()


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def test_a_database_migrates_down_to_nothing_and_back_up(scratch_database):
    connection = scratch_database

    migrate(connection, command.upgrade, "head")
    assert tables(connection) == TABLES
    migrate(connection, command.downgrade, "base")
    assert tables(connection) == set()
    assert revision_of(connection) is None

    migrate(connection, command.upgrade, "head")
    assert tables(connection) == TABLES
    assert revision_of(connection) == HEAD
    assert differences(connection) == []


def test_a_migrated_database_keeps_its_rows_through_a_no_op_upgrade(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, "head")
    connection.execute(text(
        "INSERT INTO page (code, name, time_zone, version, created_at, updated_at) "
        "VALUES ('abcdefghijkl', 'Acme', 'Etc/UTC', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    ))
    connection.commit()

    migrate(connection, command.upgrade, "head")

    assert connection.execute(text("SELECT name FROM page")).scalar_one() == "Acme"


def insert_group(connection: Connection, code: str, name: str) -> int:
    connection.execute(text(
        "INSERT INTO component_group (code, name, position, created_at, updated_at) "
        "VALUES (:code, :name, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    ), {"code": code, "name": name})
    return connection.execute(
        text("SELECT id FROM component_group WHERE code = :code"), {"code": code}
    ).scalar_one()


def insert_component(connection: Connection, code: str, name: str, group_id: int | None) -> None:
    connection.execute(text(
        "INSERT INTO component (code, group_id, name, status, position, showcase, "
        "only_show_if_degraded, pinned, created_at, updated_at) VALUES (:code, :group_id, :name, "
        "'operational', 1, true, false, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    ), {"code": code, "name": name, "group_id": group_id})


def test_names_are_unique_in_the_database_whatever_their_case(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, "head")
    group_id = insert_group(connection, "group0000001", "Core")
    insert_component(connection, "compo0000001", "API", None)
    insert_component(connection, "compo0000002", "API", group_id)  # another scope: allowed
    connection.commit()

    for clash in (
        lambda: insert_group(connection, "group0000002", "core"),
        lambda: insert_component(connection, "compo0000003", "api", None),
        lambda: insert_component(connection, "compo0000004", "Api", group_id),
    ):
        with pytest.raises(IntegrityError):
            clash()
        connection.rollback()


def test_the_unique_names_migration_renames_twins_made_before_it(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, "0004")
    first = insert_group(connection, "group0000001", "Core")
    insert_group(connection, "group0000002", "CORE")
    insert_component(connection, "compo0000001", "Race 0", None)
    insert_component(connection, "compo0000002", "Race 0", None)
    insert_component(connection, "compo0000003", "race 0", None)
    insert_component(connection, "compo0000004", "Race 0", first)
    connection.commit()

    migrate(connection, command.upgrade, "0005")

    groups = connection.execute(text("SELECT name FROM component_group ORDER BY id")).scalars()
    assert list(groups) == ["Core", "CORE (2)"]
    components = connection.execute(text("SELECT name FROM component ORDER BY id")).scalars()
    assert list(components) == ["Race 0", "Race 0 (2)", "race 0 (3)", "Race 0"]
