"""The public snapshot: each public response rendered once per page version, shared by every web process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from statuspage.db import Base, utcnow


class SnapshotEntry(Base):
    """One rendered public response of one version ("<page version>-<UTC date>"), with its variants."""

    __tablename__ = "snapshot_entry"
    __table_args__ = (UniqueConstraint("version", "key", name="uq_snapshot_entry_version_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(2048))
    mimetype: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    gzipped: Mapped[bytes | None] = mapped_column(LargeBinary)
    brotli: Mapped[bytes | None] = mapped_column(LargeBinary)
    rendered_at: Mapped[datetime] = mapped_column(default=utcnow)


class SnapshotLease(Base):
    """A process rendering one URL of one version: the others wait for its entry instead of rendering too."""

    __tablename__ = "snapshot_lease"
    __table_args__ = (UniqueConstraint("version", "key", name="uq_snapshot_lease_version_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(2048))
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
