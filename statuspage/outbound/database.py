"""A database ping (connect and `SELECT 1`) to a guarded address within a deadline (the database probe)."""

from __future__ import annotations

import time
from typing import Any

from statuspage.outbound.guard import OutboundError, Policy, guarded_addresses

# The only URL parameters a network database probe may carry: none of them can change where it connects.
DATABASE_QUERY_KEYS = frozenset({"sslmode", "sslrootcert", "application_name", "connect_timeout"})
DATABASE_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
NO_PASSFILE = "/dev/null/no-password-file"
_DB_REASONS = (
    (("too many connections", "too many clients", "remaining connection slots", "connection limit"),
     "too many connections: the server's connection limit is reached"),
    (("connection refused",), "connection refused"),
    (("statement timeout",), "the query timed out"),
    (("timeout expired", "timed out"), "timed out"),
    (("password authentication failed", "authentication failed", "access denied"), "authentication failed"),
    (("no password supplied",), "the server asks for a password: set password_env"),
    (("unable to open database file",), "cannot open the database file"),
    (("file is not a database", "database disk image is malformed"), "the file is not a SQLite database"),
    (("database is locked",), "the database is locked"),
)


def _database_reason(exc: Exception, timeout: float) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    lowered = text.lower()
    for needles, reason in _DB_REASONS:
        if any(needle in lowered for needle in needles):
            return f"{reason} (after {timeout:g} s)" if reason == "timed out" else reason
    first_line = text.splitlines()[0] if text else type(original).__name__
    return f"database error: {first_line[:200]}"


def database_ping(url: Any, password: str | None, *, policy: Policy, timeout: float) -> tuple[float, float]:
    """Open a fresh connection and run one query; returns (connect ms, query ms).

    SQLite files open read-only (a probe must never create or change one),
    and the query reads the schema, so a file that is not a database fails.
    A network database is reached only at the guarded address: the host,
    address and port are forced through the driver's arguments, so no URL
    parameter (`?host=`, `?hostaddr=`, `?service=`) can send the connection
    elsewhere; only DATABASE_QUERY_KEYS may appear, and a URL without a
    host is judged as loopback. PostgreSQL gets connect and statement
    timeouts.
    """
    from pathlib import Path

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    query = "SELECT 1"
    if backend == "sqlite":
        path = url.database or ""
        if not path or path == ":memory:" or not Path(path).is_file():
            raise OutboundError(f"the database file {path or '(none)'} does not exist")
        url = url.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
        connect_args = {"timeout": timeout}
        query = "SELECT count(*) FROM sqlite_master"
    else:
        unknown = sorted(set(url.query) - DATABASE_QUERY_KEYS)
        if unknown:
            raise OutboundError(f"refused: the URL parameter {unknown[0]!r} is not allowed", permanent=True)
        host = url.host or "127.0.0.1"  # no host means a local socket: judged (and reached) as loopback
        port = url.port or DATABASE_PORTS.get(backend)
        if port is None:
            raise OutboundError(f"the database URL needs a port for {backend}", permanent=True)
        address = guarded_addresses(host, port, policy, timeout)[0]
        if backend == "postgresql":
            # The password is only ever the probe's own: never the worker's PGPASSWORD or ~/.pgpass
            # (a path that cannot exist turns the password file off without a warning).
            connect_args = {"host": host, "hostaddr": address, "port": port, "password": password or "",
                            "passfile": NO_PASSFILE,
                            "connect_timeout": max(2, int(timeout + 0.999)),
                            "options": f"-c statement_timeout={int(timeout * 1000)}"}
        else:
            url = url.set(host=address, port=port)
    if password is not None:
        url = url.set(password=password)
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (SQLAlchemyError, ImportError, ValueError, TypeError) as exc:
        raise OutboundError(f"cannot use this database URL: {type(exc).__name__}", permanent=True) from None
    try:
        started = time.perf_counter()
        with engine.connect() as connection:
            connected = time.perf_counter()
            connection.execute(text(query)).scalar_one()
            queried = time.perf_counter()
    except (SQLAlchemyError, OSError) as exc:
        raise OutboundError(_database_reason(exc, timeout)) from None
    finally:
        engine.dispose()
    return (connected - started) * 1000, (queried - connected) * 1000
