"""Alembic environment: our models' metadata, batch mode for SQLite, type comparison on."""

from __future__ import annotations

from alembic import context

from statuspage import models  # noqa: F401  (registers the tables on Base.metadata)
from statuspage.config import Settings
from statuspage.db import Base, make_engine

config = context.config
database_url = config.attributes.get("database_url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=database_url, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url, create=True)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
