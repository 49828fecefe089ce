"""The engine, the session factory, the declarative Base and transaction helpers.

The edge owns the transaction: web views commit the per-request session,
the worker and the CLI use `with db.transaction() as session:`. Domain
functions only ever receive a session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import CursorResult, DateTime, Delete, Engine, Update, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every database.

    SQLite has no time zones, so we store UTC and reattach it when reading;
    a naive value is a bug in the caller and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model; datetimes map to UTCDateTime."""

    type_annotation_map = {datetime: UTCDateTime()}


def make_engine(url: str, create: bool = False) -> Engine:
    """An engine with the settings our contracts need on each backend.

    A SQLite file is opened read-write only: a file moved away or deleted is an error, never
    an empty database created at run time. Only `db upgrade` (create=True) creates it.
    """
    if url.startswith("sqlite"):
        parsed = make_url(url)
        if not create and parsed.database not in (None, "", ":memory:") and not parsed.database.startswith("file:"):
            parsed = parsed.set(database=f"file:{parsed.database}",
                                query={**parsed.query, "mode": "rw", "uri": "true"})
        engine = create_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def database_unreachable(exc: SQLAlchemyError) -> bool:
    """Whether the error says the database cannot be reached now, rather than that a query was bad.

    Connection failures, a lost connection and a full pool are an outage (503, keep serving
    what was rendered); anything else, such as text the database refuses, is the request's
    fault or a bug, and must not be dressed up as an outage.
    """
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def rows_matched(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE and return how many rows it matched (1 = a compare-and-set claim is ours)."""
    result = session.execute(statement)
    # Session.execute() is typed to return a Result; an UPDATE or DELETE answers with a CursorResult,
    # the one that carries the rowcount.
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} from an UPDATE or DELETE has no rowcount")
    return result.rowcount


class Database:
    """Holds the engine and session factory of one application."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker[Session] | None = None

    def configure(self, url: str) -> None:
        """Bind to a database URL (called by create_app and by tests)."""
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        """A new session; the caller closes it."""
        assert self.sessionmaker is not None, "Database.configure() was not called"
        return self.sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        session = self.session()
        try:
            with session.begin():
                yield session
        finally:
            session.close()
