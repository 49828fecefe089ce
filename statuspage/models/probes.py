"""Probes, their checks and rollups, and incidents drafted from failing checks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statuspage.db import Base, utcnow
from statuspage.models.base import NAME_MAX, ComponentStatus, StrEnumType, new_code
from statuspage.models.core import Component


class ProbeKind(StrEnum):
    HTTP = "http"
    TCP = "tcp"
    DNS = "dns"
    DATABASE = "database"
    HEARTBEAT = "heartbeat"
    ALERTMANAGER = "alertmanager"


class ProbeState(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    SLOW = "slow"
    DOWN = "down"


class DraftState(StrEnum):
    """Where a draft stands: waiting, published, dismissed, or recovered before anyone published it."""

    OPEN = "open"
    PUBLISHED = "published"
    DISMISSED = "dismissed"
    RECOVERED = "recovered"


class AutoIncident(StrEnum):
    OFF = "off"
    DRAFT = "draft"
    PUBLISH = "publish"


class Probe(Base):
    """A configured check of one component, run by the worker (or pushed to us)."""

    __tablename__ = "probe"
    __table_args__ = (
        # The worker's due probes.
        Index("ix_probe_next_run_at", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    kind: Mapped[ProbeKind] = mapped_column(StrEnumType(ProbeKind))
    # URL, host:port, DNS name or SQLAlchemy URL (without its password); none for push kinds.
    target: Mapped[str | None] = mapped_column(String(2000))
    # Kind-specific options (method, headers, expected_status, keyword, password_env, matchers ...).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Secret part of push URLs (heartbeat, alertmanager).
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The defaults are probes.defaults' (the outage timeline README states).
    interval_seconds: Mapped[int] = mapped_column(Integer, default=20)
    # After a failed check, and until the component has recovered, checks come this often.
    retry_interval_seconds: Mapped[int] = mapped_column(Integer, default=10)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10.0)
    latency_threshold_ms: Mapped[int | None] = mapped_column(Integer)
    failures_to_outage: Mapped[int] = mapped_column(Integer, default=2)
    successes_to_recover: Mapped[int] = mapped_column(Integer, default=2)
    slow_to_degrade: Mapped[int] = mapped_column(Integer, default=3)
    failure_rate_window: Mapped[int] = mapped_column(Integer, default=10)
    failure_rate_threshold: Mapped[float] = mapped_column(Float, default=0.5)
    outage_status: Mapped[ComponentStatus] = mapped_column(
        StrEnumType(ComponentStatus), default=ComponentStatus.MAJOR_OUTAGE
    )
    auto_incident: Mapped[AutoIncident] = mapped_column(StrEnumType(AutoIncident), default=AutoIncident.DRAFT)
    # `publish` mode: tell customers only once the outage has lasted this long (0: at once).
    publish_after_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # Resolve a probe-opened incident after this many minutes of good checks (None: a responder resolves).
    auto_resolve_minutes: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(default=False)
    state: Mapped[ProbeState] = mapped_column(StrEnumType(ProbeState), default=ProbeState.UNKNOWN)
    # The status this probe asks of its component; several probes combine to the worst.
    verdict: Mapped[ComponentStatus] = mapped_column(
        StrEnumType(ComponentStatus), default=ComponentStatus.OPERATIONAL
    )
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_slow: Mapped[int] = mapped_column(Integer, default=0)
    # The first failing check of the current bad streak: when the trouble was detected.
    first_failure_at: Mapped[datetime | None] = mapped_column()
    last_check_at: Mapped[datetime | None] = mapped_column()
    last_ping_at: Mapped[datetime | None] = mapped_column()
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    component: Mapped[Component] = relationship()


class Check(Base):
    """One run of a probe (or one push received), kept raw for a few days."""

    __tablename__ = "probe_check"
    __table_args__ = (
        # A probe's recent checks, newest first; the failure-rate window; pruning by age.
        Index("ix_probe_check_probe_at", "probe_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    probe_id: Mapped[int] = mapped_column(ForeignKey("probe.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column()
    slow: Mapped[bool] = mapped_column(default=False)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CheckRollup(Base):
    """Per-hour and per-day figures of a probe's checks, kept after the raw checks are pruned."""

    __tablename__ = "check_rollup"

    probe_id: Mapped[int] = mapped_column(ForeignKey("probe.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # "hour" or "day"
    start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    slow: Mapped[int] = mapped_column(Integer, default=0)
    latency_p50: Mapped[float | None] = mapped_column(Float)
    latency_p95: Mapped[float | None] = mapped_column(Float)
    latency_max: Mapped[float | None] = mapped_column(Float)


class IncidentDraft(Base):
    """An incident probes propose; a responder publishes or dismisses it."""

    __tablename__ = "incident_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"))
    probe_id: Mapped[int | None] = mapped_column(ForeignKey("probe.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ComponentStatus] = mapped_column(StrEnumType(ComponentStatus))
    started_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[DraftState] = mapped_column(StrEnumType(DraftState, 16), default=DraftState.OPEN)
    # A draft of a probe in `publish` mode with a delay: the worker publishes it then, unless it recovered.
    publish_at: Mapped[datetime | None] = mapped_column()
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))

    component: Mapped[Component] = relationship()
