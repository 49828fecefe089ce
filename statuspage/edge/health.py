"""/healthz: is the database answering, within a deadline, at the schema version this code needs?

A hanging database must not hang the health check (a load balancer would wait with it),
so the check runs on a helper thread and gives up after the deadline, as the public cache does.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from statuspage.config import ROOT
from statuspage.db import Database

DEADLINE_SECONDS = 1.0


@cache
def schema_heads() -> frozenset[str]:
    """The migration heads this code was written for."""
    return frozenset(ScriptDirectory(str(ROOT / "migrations")).get_heads())


def _database_revisions(database: Database) -> frozenset[str]:
    with database.session() as session:
        return frozenset(session.scalars(text("SELECT version_num FROM alembic_version")))


def check(database: Database, deadline: float = DEADLINE_SECONDS) -> tuple[int, dict[str, Any]]:
    """(status code, body): 200 {"status": "ok"}, or 503 {"status": "degraded", "reason": ...}."""
    box: dict[str, Any] = {}

    def probe() -> None:
        try:
            box["revisions"] = _database_revisions(database)
        except SQLAlchemyError as exc:
            cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
            box["error"] = str(cause).splitlines()[0]

    worker = threading.Thread(target=probe, name="healthz", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        return 503, {"status": "degraded", "database": "unreachable",
                     "reason": f"the database did not answer within {deadline:g} s"}
    if "error" in box:
        return 503, {"status": "degraded", "database": "unreachable", "reason": box["error"]}
    if box["revisions"] != schema_heads():
        found = ", ".join(sorted(box["revisions"])) or "none"
        return 503, {"status": "degraded", "database": "behind",
                     "reason": f"the database is at revision {found}, this version needs "
                               f"{', '.join(sorted(schema_heads()))}: run `flask --app app db upgrade`"}
    return 200, {"status": "ok"}
