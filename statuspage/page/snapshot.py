"""The shared public snapshot: a public response rendered once per version, then read by every web process.

The first process that misses a URL of a new version renders it and stores it here; the others
(on this node and on every other node of a PostgreSQL deployment) read the stored bytes instead
of rendering again. Entries of older versions are removed when a new version is stored.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statuspage.models import SnapshotEntry


def find(session: Session, version: str, key: str) -> SnapshotEntry | None:
    """The stored response for `key` at `version`, if a process rendered it already."""
    return session.scalars(select(SnapshotEntry).where(SnapshotEntry.version == version,
                                                       SnapshotEntry.key == key)).first()


def store(session: Session, version: str, key: str, mimetype: str, variants: dict[str, bytes]) -> None:
    """Keep a rendered response for every process; another process storing it first is fine."""
    try:
        with session.begin_nested():
            session.add(SnapshotEntry(version=version, key=key[:2048], mimetype=mimetype, body=variants["body"],
                                      gzipped=variants.get("gz"), brotli=variants.get("br")))
    except IntegrityError:
        return  # rendered at the same moment by another process: theirs is as good
    session.execute(delete(SnapshotEntry).where(SnapshotEntry.version != version))


def forget(session: Session) -> None:
    """Drop every stored response (after a direct database edit that did not move the version)."""
    session.execute(delete(SnapshotEntry))
