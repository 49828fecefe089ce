"""The shared public snapshot: a public response rendered once per version, then read by every web process.

The first process that misses a URL of a new version renders it and stores it here; the others
(on this node and on every other node of a PostgreSQL deployment) read the stored bytes instead
of rendering again. Entries of older versions are removed when a new version is stored.

A process that misses first takes a lease on the URL of that version, so the processes that miss
at the same moment (everyone refreshes after a change) wait for its entry instead of rendering
too, for as long as the lease lives. A lease older than LEASE_SECONDS is taken over: its holder
died or hangs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statuspage.models import SnapshotEntry, SnapshotLease

# Long enough for a render of 1,000 components on a loaded machine (4-6 s measured under load).
LEASE_SECONDS = 10.0


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
    session.execute(delete(SnapshotLease).where((SnapshotLease.version != version) | (SnapshotLease.key == key[:2048])))


def take_lease(session: Session, version: str, key: str, now: datetime) -> bool:
    """True when this process should render `key` now: nobody else is, or their lease has run out."""
    try:
        with session.begin_nested():
            session.add(SnapshotLease(version=version, key=key[:2048], taken_at=now))
        return True
    except IntegrityError:
        pass
    expired = now - timedelta(seconds=LEASE_SECONDS)
    taken = session.execute(update(SnapshotLease)
                            .where(SnapshotLease.version == version, SnapshotLease.key == key[:2048],
                                   SnapshotLease.taken_at < expired)
                            .values(taken_at=now))
    return bool(getattr(taken, "rowcount", 0) == 1)


def leased(session: Session, version: str, key: str) -> bool:
    """Whether a process holds the lease on rendering `key` at `version` (it may have died: see take_lease)."""
    return session.scalar(select(SnapshotLease.id).where(SnapshotLease.version == version,
                                                         SnapshotLease.key == key[:2048])) is not None


def release_lease(session: Session, version: str, key: str) -> None:
    """Give a lease back without an entry (the render failed or had nothing to share)."""
    session.execute(delete(SnapshotLease).where(SnapshotLease.version == version, SnapshotLease.key == key[:2048]))


def forget(session: Session) -> None:
    """Drop every stored response (after a direct database edit that did not move the version)."""
    session.execute(delete(SnapshotEntry))
    session.execute(delete(SnapshotLease))
