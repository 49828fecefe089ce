"""Keeping storage bounded: raw checks become per-hour and per-day figures, which are pruned later.

Raw checks are kept `raw_days` (default 7); then each (probe, day) is
rolled into 24 hour rows and one day row (count, failures, slow, latency
p50/p95/max) and its raw checks deleted, in one transaction. Rollups are
kept `keep_days` (default 400).

Any number of workers do this at once without counting a check twice:
1. Find a probe with checks older than the cutoff (no lock yet: cheap).
2. Claim that probe for this transaction: on PostgreSQL a transaction-
   scoped advisory lock, tried without waiting (taken: move on to the next
   probe); on SQLite a write to the probe's row, which takes the
   database's one write lock before anything else is read.
3. Read the oldest check again, now that no other worker can change it,
   and roll up that day.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.orm import Session

from statuspage.db import rows_matched
from statuspage.models import Check, CheckRollup, Probe

HOUR, DAY = "hour", "day"
# The first key of our PostgreSQL advisory locks for rollups (the second is the probe id).
ROLLUP_LOCK = 7_301_001
# A raw check as roll_up_day reads it: at, ok, slow, latency_ms.
CheckRow: TypeAlias = "Row[datetime, bool, bool, float | None]"


def day_start(when: datetime) -> datetime:
    """00:00 UTC of the day `when` falls in."""
    return when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def hour_start(when: datetime) -> datetime:
    """The start of the UTC hour `when` falls in."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile of sorted `values` (None when empty)."""
    if not values:
        return None
    rank = max(1, math.ceil(p / 100 * len(values)))
    return values[rank - 1]


@dataclass
class Figures:
    """What a rollup row keeps of a set of checks."""

    count: int
    failures: int
    slow: int
    p50: float | None
    p95: float | None
    max: float | None

    @classmethod
    def of(cls, checks: Sequence[CheckRow]) -> Figures:
        """The figures of some checks (rows with ok, slow and latency_ms)."""
        latencies = sorted(c.latency_ms for c in checks if c.latency_ms is not None)
        return cls(count=len(checks), failures=sum(1 for c in checks if not c.ok),
                   slow=sum(1 for c in checks if c.slow), p50=percentile(latencies, 50),
                   p95=percentile(latencies, 95), max=latencies[-1] if latencies else None)


def _weighted(a: float | None, wa: int, b: float | None, wb: int) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return (a * wa + b * wb) / (wa + wb)


def _store(session: Session, probe_id: int, period: str, start: datetime, figures: Figures) -> None:
    """Write a rollup row, merging with one already there (percentiles then approximate)."""
    row = session.get(CheckRollup, (probe_id, period, start))
    if row is None:
        session.add(CheckRollup(probe_id=probe_id, period=period, start=start, count=figures.count,
                                failures=figures.failures, slow=figures.slow, latency_p50=figures.p50,
                                latency_p95=figures.p95, latency_max=figures.max))
        return
    row.latency_p50 = _weighted(row.latency_p50, row.count, figures.p50, figures.count)
    row.latency_p95 = _weighted(row.latency_p95, row.count, figures.p95, figures.count)
    row.latency_max = max((v for v in (row.latency_max, figures.max) if v is not None), default=None)
    row.count += figures.count
    row.failures += figures.failures
    row.slow += figures.slow


def roll_up_day(session: Session, probe_id: int, day: datetime) -> int:
    """Roll one probe's raw checks of one UTC day into hour and day rows and delete them; returns how many."""
    end = day + timedelta(days=1)
    window = (Check.probe_id == probe_id, Check.at >= day, Check.at < end)
    checks = session.execute(select(Check.at, Check.ok, Check.slow, Check.latency_ms).where(*window)).all()
    by_hour: dict[datetime, list[CheckRow]] = defaultdict(list)
    for check in checks:
        by_hour[hour_start(check.at)].append(check)
    for start, items in sorted(by_hour.items()):
        _store(session, probe_id, HOUR, start, Figures.of(items))
    if checks:
        _store(session, probe_id, DAY, day, Figures.of(checks))
    session.execute(delete(Check).where(*window))
    return len(checks)


def claim_probe(session: Session, probe_id: int) -> bool:
    """Step 2: take this probe's rollup for the rest of the transaction; False if another worker has it."""
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.scalar(select(func.pg_try_advisory_xact_lock(ROLLUP_LOCK, probe_id))))
    # SQLite has one writer at a time: writing first makes us it (waiting our turn), so what we read next
    # is what the previous writer committed, and no one else writes until we commit.
    session.execute(update(Probe).where(Probe.id == probe_id).values(paused=Probe.paused)
                    .execution_options(synchronize_session=False))
    return True


def _oldest(session: Session, probe_id: int) -> datetime | None:
    return session.scalar(select(func.min(Check.at)).where(Check.probe_id == probe_id))


def roll_up_one(session: Session, now: datetime, raw_days: int = 7, keep_days: int = 400) -> bool:
    """Do one unit of upkeep: roll up one probe-day of old checks, or prune one probe's old rollups.

    Each probe's oldest check is found through the (probe_id, at) index,
    so a pass costs one small query per probe when there is nothing to do.
    Safe with several workers (see the module docstring).
    """
    cutoff = day_start(now - timedelta(days=raw_days))
    keep_from = day_start(now - timedelta(days=keep_days))
    for probe_id in list(session.scalars(select(Probe.id).order_by(Probe.id))):
        oldest = _oldest(session, probe_id)
        if oldest is not None and oldest < cutoff:
            if not claim_probe(session, probe_id):
                continue  # another worker is rolling this probe up right now
            oldest = _oldest(session, probe_id)
            if oldest is not None and oldest < cutoff:
                roll_up_day(session, probe_id, day_start(oldest))
                return True
        pruned = rows_matched(session, delete(CheckRollup).where(CheckRollup.probe_id == probe_id,
                                                                 CheckRollup.start < keep_from))
        if pruned:
            return True
    return False


def rollups(session: Session, probe: Probe, period: str, since: datetime) -> list[CheckRollup]:
    """A probe's rollup rows of one period from `since`, oldest first (for charts)."""
    return list(session.scalars(select(CheckRollup).where(
        CheckRollup.probe_id == probe.id, CheckRollup.period == period, CheckRollup.start >= since,
    ).order_by(CheckRollup.start)))
