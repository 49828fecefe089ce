"""Running probes: claiming due ones with a lease, a bounded thread pool, writing results.

Claiming (the same on SQLite and PostgreSQL, with any number of workers):
1. Pick due candidates: scheduled kinds, not paused, `next_run_at <= now`
   and the lease free. On PostgreSQL `FOR UPDATE SKIP LOCKED` keeps two
   workers from even looking at the same rows; it is a speed-up only.
2. Compare-and-set each one: `UPDATE probe SET lease_until = now + timeout
   + margin, next_run_at = <next slot> WHERE id = :id AND next_run_at =
   :seen AND (lease_until IS NULL OR lease_until < :now)`; rowcount 1 means
   it is ours. Each slot is claimed once, so no check runs twice.
3. Run the network part on the pool. Threads only do I/O and return a
   plain CheckResult; this loop writes it with its own session, clears the
   lease and applies the rules. A hanging target holds one thread until
   its own timeout, never the loop or the other probes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from statuspage.config import Settings
from statuspage.db import Database, rows_matched
from statuspage.models import Check, ComponentStatus, Probe, ProbeKind, ProbeState
from statuspage.outbound.guard import Policy
from statuspage.probes import SCHEDULED_KINDS, run_check
from statuspage.probes.base import CheckResult, ProbeSpec, failed
from statuspage.probes.rollup import roll_up_one
from statuspage.probes.rules import apply_check
from statuspage.probes.service import LEASE_MARGIN

log = logging.getLogger("statuspage.probes")
ROLLUP_IDLE = timedelta(minutes=10)
BATCH_SECONDS = 0.1


@dataclass(frozen=True)
class Claim:
    """A probe slot this worker owns: what to run, when it was due, and our lease."""

    spec: ProbeSpec
    scheduled_at: datetime
    started_at: datetime
    lease_until: datetime


def _due(session: Session, kinds: tuple[ProbeKind, ...], now: datetime, limit: int,
         due_by: datetime | None = None) -> list[Probe]:
    query = (
        select(Probe)
        .where(Probe.kind.in_([k.value for k in kinds]), Probe.paused.is_(False),
               Probe.next_run_at <= (now if due_by is None else min(due_by, now)),
               or_(Probe.lease_until.is_(None), Probe.lease_until < now))
        .order_by(Probe.next_run_at, Probe.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def retrying(probe: Probe) -> bool:
    """Whether the probe checks at its retry interval: its last check failed (is it down, or was it one lost
    packet?) or its component has not recovered yet (is it back?)."""
    return probe.state == ProbeState.DOWN or probe.verdict != ComponentStatus.OPERATIONAL


def _next_slot(probe: Probe, now: datetime) -> datetime:
    """The next due time on the probe's fixed grid (the retry interval's while `retrying`); slots missed while
    no worker ran are skipped."""
    step = timedelta(seconds=probe.retry_interval_seconds if retrying(probe) else probe.interval_seconds)
    following = probe.next_run_at + step
    return following if following > now else now + step


def due_candidates(session: Session, now: datetime, limit: int, due_by: datetime | None = None) -> list[Probe]:
    """Step 1: scheduled probes that are due (by `due_by` if given) with a free lease (skipping rows locked
    on PostgreSQL)."""
    return _due(session, SCHEDULED_KINDS, now, limit, due_by)


def claim(session: Session, probe: Probe, now: datetime) -> Claim | None:
    """Step 2: compare-and-set one candidate's slot and lease; None if another worker got there first."""
    seen = probe.next_run_at
    lease = now + timedelta(seconds=probe.timeout_seconds) + LEASE_MARGIN
    won = rows_matched(
        session,
        update(Probe)
        .where(Probe.id == probe.id, Probe.next_run_at == seen,
               or_(Probe.lease_until.is_(None), Probe.lease_until < now))
        .values(lease_until=lease, next_run_at=_next_slot(probe, now))
        .execution_options(synchronize_session=False),
    )
    if won != 1:
        return None
    return Claim(ProbeSpec.of(probe), scheduled_at=seen, started_at=now, lease_until=lease)


def claim_due(session: Session, now: datetime, limit: int, due_by: datetime | None = None) -> list[Claim]:
    """Claim up to `limit` due probes (see the module docstring)."""
    claims = [claim(session, probe, now) for probe in due_candidates(session, now, limit, due_by)]
    return [c for c in claims if c is not None]


def write_result(session: Session, claim: Claim, result: CheckResult) -> Check | None:
    """Give the lease back and apply one finished check (None if the probe went away or was paused)."""
    # The first statement writes, so SQLite takes its write lock before we read anything.
    session.execute(update(Probe).where(Probe.id == claim.spec.id, Probe.lease_until == claim.lease_until)
                    .values(lease_until=None).execution_options(synchronize_session=False))
    probe = session.get(Probe, claim.spec.id, populate_existing=True)
    if probe is None or probe.paused:
        return None
    check = apply_check(session, probe, result, claim.started_at)
    if retrying(probe):
        # Confirm a failure (or a recovery) soon rather than a whole interval later.
        probe.next_run_at = min(probe.next_run_at,
                                claim.started_at + timedelta(seconds=probe.retry_interval_seconds))
    return check


def expire_one_heartbeat(session: Session, now: datetime, policy: Policy) -> bool:
    """Record a failed check for one heartbeat whose ping is overdue; its next deadline is one period on."""
    due = _due(session, (ProbeKind.HEARTBEAT,), now, 1)
    if not due:
        return False
    probe = due[0]
    following = now + timedelta(seconds=probe.interval_seconds)
    won = rows_matched(
        session,
        update(Probe).where(Probe.id == probe.id, Probe.next_run_at == probe.next_run_at)
        .values(next_run_at=following).execution_options(synchronize_session=False),
    )
    if won != 1:
        return False
    probe.next_run_at = following
    apply_check(session, probe, run_check(ProbeSpec.of(probe), now, policy), now)
    return True


class ProbeRunner:
    """The worker's probe steps; it keeps the checks in flight between steps."""

    def __init__(self, database: Database, clock: Callable[[], datetime], settings: Settings | None = None,
                 wait_seconds: float = 0.2) -> None:
        self.database = database
        self.clock = clock
        self.policy = Policy.from_settings(settings) if settings is not None else Policy()
        self.threads = settings.worker_threads if settings is not None else 8
        self.raw_days = settings.check_retention_days if settings is not None else 7
        self.keep_days = settings.rollup_retention_days if settings is not None else 400
        self.wait_seconds = wait_seconds
        # How many clock seconds pass in a real one (STATUSPAGE_WORKER_CLOCK_SPEED): sleeps are real.
        self.speed = settings.worker_clock_speed if settings is not None else 1
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: dict[Future[CheckResult], Claim] = {}
        self._rollup_idle_until: datetime | None = None
        # During a single pass (`worker --once`), only probes due by the pass's start are run.
        self.due_by: datetime | None = None

    @property
    def in_flight(self) -> int:
        """How many checks are running now."""
        return len(self._inflight)

    # --- steps -----------------------------------------------------------------------------------

    def handle_one_probe_batch(self) -> bool:
        """Write the checks that finished, then start the due probes that fit in the free threads.

        When neither happened but checks are in flight, wait a moment for
        the first to finish, so the loop keeps writing results promptly.
        """
        wrote = self._write_finished()
        started = self._start_due()
        if not wrote and not started:
            if self._inflight:
                wait(list(self._inflight), timeout=self.wait_seconds, return_when=FIRST_COMPLETED)
                wrote = self._write_finished()
            elif self.due_by is None and self._sleep_until_next_due():
                started = self._start_due()
        return bool(wrote or started)

    def handle_one_heartbeat_timeout(self) -> bool:
        """Record a failed check for one heartbeat that missed its period + grace."""
        now = self.clock()
        with self.database.transaction() as session:
            return expire_one_heartbeat(session, now, self.policy)

    def handle_one_rollup(self) -> bool:
        """Roll up one probe-day of old checks or prune old rollups; idle for a while when none is due."""
        now = self.clock()
        if self._rollup_idle_until is not None and now < self._rollup_idle_until:
            return False
        with self.database.transaction() as session:
            did = roll_up_one(session, now, self.raw_days, self.keep_days)
        self._rollup_idle_until = None if did else now + ROLLUP_IDLE
        return did

    def finish(self, timeout: float | None = None) -> int:
        """Wait for the checks in flight and write them (SIGTERM, --once, tests); returns how many."""
        if self._inflight:
            wait(list(self._inflight), timeout=timeout)
        written = self._write_finished()
        return written

    def close(self) -> None:
        """Finish what is in flight and stop the threads."""
        self.finish()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # --- internals -------------------------------------------------------------------------------

    def _sleep_until_next_due(self) -> bool:
        """If a probe falls due within `wait_seconds`, sleep until then, rather than the loop's idle second.

        Without this a probe that falls due while the loop idles waits up to
        `idle_seconds`. The sleep runs `BATCH_SECONDS` past the due time so
        that one pass of the loop starts the few probes due together: fewer
        passes, much less CPU, starts still within a tenth of a second.
        """
        now = self.clock()
        with self.database.transaction() as session:
            upcoming = session.scalar(
                select(func.min(Probe.next_run_at))
                .where(Probe.kind.in_([k.value for k in SCHEDULED_KINDS]), Probe.paused.is_(False),
                       or_(Probe.lease_until.is_(None), Probe.lease_until < now))
            )
        if upcoming is None:
            return False
        gap = (upcoming - now).total_seconds() / self.speed  # in real seconds
        if gap > self.wait_seconds:
            return False
        if gap > 0:
            time.sleep(gap + BATCH_SECONDS / self.speed)
        return True

    def _start_due(self) -> int:
        free = self.threads - len(self._inflight)
        if free <= 0:
            return 0
        now = self.clock()
        try:
            with self.database.transaction() as session:
                claims = claim_due(session, now, free, self.due_by)
        except OperationalError:  # SQLite busy under a concurrent writer: claim on the next pass
            log.warning("could not claim probes this pass; retrying", exc_info=True)
            return 0
        if not claims:
            return 0
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="probe")
        for claim in claims:
            future = self._pool.submit(run_check, claim.spec, claim.started_at, self.policy)
            self._inflight[future] = claim
        return len(claims)

    def _write_finished(self) -> int:
        done = [future for future in self._inflight if future.done()]
        for future in done:
            claim = self._inflight.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # run_check does not raise; this guards the guard
                result = failed(f"the check itself failed ({type(exc).__name__})")
            self._write(claim, result)
        return len(done)

    def _write(self, claim: Claim, result: CheckResult) -> None:
        """Write one result, retrying database hiccups; a result that cannot be written is logged, and
        never stops the others."""
        for attempt in range(3):
            try:
                with self.database.transaction() as session:
                    write_result(session, claim, result)
                return
            except (OperationalError, DBAPIError):  # lock timeout, deadlock, failover: try again
                if attempt < 2:
                    time.sleep(0.1 * (attempt + 1))
                    continue
            except Exception:  # noqa: BLE001  (a bug must cost one check, not the worker)
                pass
            log.exception("probe %s: could not write its check; the next one runs on schedule",
                          claim.spec.code)
            return
