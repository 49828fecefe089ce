"""The worker's probe steps: leases, schedule, a bounded pool, hanging targets, shutdown, rollups."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuspage.db import Database
from statuspage.models import Check, CheckRollup, Probe
from statuspage.probes.rollup import day_start, roll_up_one
from statuspage.probes.runner import claim, claim_due, due_candidates
from statuspage.worker import Worker
from tests.conftest import POSTGRES_URL
from tests.probe_builders import T0, a_component, a_probe, checks_of, minutes


@pytest.fixture
def db(app):
    return app.extensions["statuspage.db"]


@pytest.fixture
def component(session):
    return a_component(session, "API")


@pytest.fixture
def make_worker(db, settings):
    workers = []

    def make(clock: list, threads: int = 8, database=None) -> Worker:
        worker = Worker(database or db, clock=lambda: clock[0], idle_seconds=0.01,
                        settings=dataclasses.replace(settings, worker_threads=threads))
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()


def reload(session, probe: Probe) -> Probe:
    session.expire_all()
    return session.get(Probe, probe.id)


# --- claiming ---------------------------------------------------------------------------------------


def test_a_claim_takes_the_lease_and_moves_the_probe_to_its_next_slot(db, session, component):
    probe = a_probe(session, component, interval_seconds=30, timeout_seconds=5)
    with db.transaction() as tx:
        [claimed] = claim_due(tx, T0, 10)
    assert claimed.scheduled_at == T0 and claimed.spec.code == probe.code
    probe = reload(session, probe)
    assert probe.next_run_at == T0 + timedelta(seconds=30)
    assert probe.lease_until == T0 + timedelta(seconds=35)
    with db.transaction() as tx:
        assert claim_due(tx, T0 + timedelta(seconds=31), 10) == []  # due again, but leased


def test_two_workers_claiming_at_once_get_each_probe_once(db, session, component):
    a_probe(session, component, name="a")
    a_probe(session, component, name="b")
    with db.transaction() as late:
        stale = due_candidates(late, T0, 10)  # read before the other worker claims
        with db.transaction() as early:
            first = claim_due(early, T0, 10)
        second = [c for c in (claim(late, probe, T0) for probe in stale) if c is not None]
    # SQLite: the early worker claims both and the stale compare-and-set loses;
    # PostgreSQL: the late worker's rows are locked, so the early one skips them.
    codes = [c.spec.code for c in first + second]
    assert len(codes) == 2 and len(set(codes)) == 2


def test_missed_slots_are_skipped_not_run_in_a_burst(db, session, component):
    probe = a_probe(session, component, interval_seconds=30)
    with db.transaction() as tx:
        claim_due(tx, T0 + timedelta(seconds=100), 10)
    assert reload(session, probe).next_run_at == T0 + timedelta(seconds=130)


def test_paused_and_push_probes_are_not_claimed(db, session, component):
    a_probe(session, component, paused=True)
    a_probe(session, component, kind="heartbeat", target=None, name="hb")
    a_probe(session, component, kind="alertmanager", target=None, name="am")
    with db.transaction() as tx:
        assert claim_due(tx, T0 + timedelta(days=1), 10) == []


# --- running ------------------------------------------------------------------------------------------


def test_the_worker_runs_each_slot_once_at_its_time(make_worker, session, component, http_target):
    probe = a_probe(session, component, target=http_target.url("/ok"), interval_seconds=30)
    clock = [T0]
    worker = make_worker(clock)
    for second in range(0, 95, 5):
        clock[0] = T0 + timedelta(seconds=second)
        worker.run_once()
        worker.probes.finish()
    checks = checks_of(session, probe)
    assert [c.at for c in checks] == [T0 + timedelta(seconds=s) for s in (0, 30, 60, 90)]
    assert all(c.ok for c in checks) and http_target.count("/ok") == 4
    assert reload(session, probe).lease_until is None


def test_a_hanging_target_does_not_delay_other_probes(make_worker, session, component, http_target):
    hanging = a_probe(session, component, name="hang", target=http_target.url("/hang"), timeout_seconds=1)
    quick = a_probe(session, component, name="quick", target=http_target.url("/ok"))
    worker = make_worker([T0])
    assert worker.handle_one_probe_batch()  # both start
    started = time.monotonic()
    while not checks_of(session, quick):
        worker.handle_one_probe_batch()
    assert time.monotonic() - started < 0.8
    assert checks_of(session, hanging) == [] and worker.probes.in_flight == 1
    worker.probes.finish()
    [timed_out] = checks_of(session, hanging)
    assert timed_out.reason == "timed out after 1 s"


def test_the_pool_is_bounded_and_the_rest_wait_their_turn(make_worker, session, component, http_target):
    probes = [a_probe(session, component, name=f"p{i}", target=http_target.url("/slow/100")) for i in range(5)]
    worker = make_worker([T0], threads=2)
    worker.handle_one_probe_batch()
    assert worker.probes.in_flight == 2
    worker.run_once()
    worker.probes.finish()
    assert all(len(checks_of(session, p)) == 1 for p in probes)


def test_worker_once_runs_every_due_probe_when_more_are_due_than_threads(app, runner, session, component,
                                                                        http_target):
    probes = [a_probe(session, component, name=f"p{i}", target=http_target.url("/slow/400")) for i in range(6)]
    app.config["STATUSPAGE"] = dataclasses.replace(app.config["STATUSPAGE"], worker_threads=2)
    started = time.monotonic()
    result = runner.invoke(args=["statuspage", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert [len(checks_of(session, p)) for p in probes] == [1] * 6
    assert all(c.ok for p in probes for c in checks_of(session, p))
    assert http_target.count("/slow/400") == 6
    assert time.monotonic() - started >= 1.2  # three rounds of two: the pool stayed bounded


def test_a_single_pass_ends_although_probes_fall_due_again_during_it(db, settings, session, component,
                                                                     http_target):
    probe = a_probe(session, component, target=http_target.url("/ok"), interval_seconds=10)
    ticks = itertools.count()
    # Every reading of this clock is 15 s later, so the probe is due again at every step of the pass.
    worker = Worker(db, clock=lambda: T0 + timedelta(seconds=15 * next(ticks)), idle_seconds=0.01,
                    settings=settings)
    try:
        worker.run_pass()
    finally:
        worker.close()
    assert len(checks_of(session, probe)) == 1


def test_stopping_the_worker_finishes_the_checks_in_flight(make_worker, session, component, http_target):
    probe = a_probe(session, component, target=http_target.url("/slow/300"))
    worker = make_worker([T0])
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    deadline = time.monotonic() + 5
    while worker.probes.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stopping.set()  # what SIGTERM does
    thread.join(5)
    assert not thread.is_alive()
    [written] = checks_of(session, probe)
    assert written.ok


# --- two workers, one database ---------------------------------------------------------------------------


def still_due(session, now) -> int:
    """How many probes are due at `now` and not yet claimed (a claim moves `next_run_at` past now)."""
    due = session.scalar(select(func.count()).select_from(Probe).where(Probe.next_run_at <= now))
    session.rollback()  # the next look sees the workers' newer claims
    return due


@pytest.mark.skipif(not POSTGRES_URL, reason="two workers against PostgreSQL need STATUSPAGE_TEST_POSTGRES_URL")
def test_two_workers_never_run_a_check_twice_and_skip_none(database_url, make_worker, session, component,
                                                           http_target):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite proves this with the compare-and-set test above")
    probes = []
    for i in range(24):
        probe = a_probe(session, component, name=f"p{i}", target=http_target.url(f"/ok?p={i}"),
                        interval_seconds=10, timeout_seconds=2)
        probe.next_run_at = T0 + timedelta(milliseconds=400 * i)
        probes.append(probe)
    session.commit()
    clock = [T0]
    databases = [Database(), Database()]
    for database in databases:
        database.configure(database_url)
    workers = [make_worker(clock, threads=4, database=database) for database in databases]
    threads = [threading.Thread(target=w.run_forever) for w in workers]
    for thread in threads:
        thread.start()
    for tick in range(0, 601):  # one minute of schedule in 100 ms steps
        clock[0] = T0 + timedelta(milliseconds=100 * tick)
        time.sleep(0.004)
    deadline = time.monotonic() + 10
    while still_due(session, clock[0]) and time.monotonic() < deadline:
        time.sleep(0.01)  # the last slots fall due at the final tick: let the workers claim them
    for worker in workers:
        worker.stopping.set()
    for thread in threads:
        thread.join(10)
    for database in databases:
        database.engine.dispose()

    for i, probe in enumerate(probes):
        offset = timedelta(milliseconds=400 * i)
        slots = {k for k in range(7) if offset + timedelta(seconds=10 * k) <= timedelta(seconds=60)}
        checks = checks_of(session, probe)
        assert http_target.count(f"/ok?p={i}") == len(checks), probe.name  # each check ran once
        ran = [(c.at - T0 - offset) // timedelta(seconds=10) for c in checks]
        assert sorted(ran) == sorted(slots), (probe.name, ran)  # every slot once: none twice, none skipped


# --- rollups -----------------------------------------------------------------------------------------------


def add_checks(session, probe, start, count, every=timedelta(minutes=1), fail_every=0, latency=10.0):
    for n in range(count):
        session.add(Check(probe_id=probe.id, at=start + every * n, ok=not (fail_every and n % fail_every == 0),
                          slow=False, latency_ms=latency + n, reason="", detail={}))
    session.commit()


def test_old_checks_roll_up_into_hours_and_days_and_recent_ones_stay(db, session, component):
    probe = a_probe(session, component)
    old_day = T0 - timedelta(days=10)
    add_checks(session, probe, old_day.replace(hour=0, minute=0), 120, fail_every=10)  # 00:00-01:59
    add_checks(session, probe, T0 - timedelta(days=1), 5)
    with db.transaction() as tx:
        assert roll_up_one(tx, T0, raw_days=7)
    remaining = checks_of(session, probe)
    assert len(remaining) == 5 and all(c.at > T0 - timedelta(days=2) for c in remaining)
    rows = session.scalars(select(CheckRollup).order_by(CheckRollup.period, CheckRollup.start)).all()
    day = [r for r in rows if r.period == "day"]
    hours = [r for r in rows if r.period == "hour"]
    assert len(day) == 1 and len(hours) == 2
    assert (day[0].count, day[0].failures) == (120, 12)
    assert (day[0].latency_p50, day[0].latency_p95, day[0].latency_max) == (69.0, 123.0, 129.0)
    assert (hours[0].count, hours[0].failures, hours[0].latency_max) == (60, 6, 69.0)
    with db.transaction() as tx:
        assert not roll_up_one(tx, T0, raw_days=7)


def test_two_workers_rolling_up_at_once_count_every_check_once(database_url, session, component):
    probe = a_probe(session, component)
    first = day_start(T0 - timedelta(days=10))
    add_checks(session, probe, first, 30)
    add_checks(session, probe, first + timedelta(days=1), 20)
    databases = [Database(), Database()]
    for database in databases:
        database.configure(database_url)
    outcome: dict[str, object] = {}

    def second_worker() -> None:
        try:
            with databases[1].transaction() as tx:
                outcome["rolled"] = roll_up_one(tx, T0)
        except Exception as exc:  # noqa: BLE001  (the test reports it below)
            outcome["error"] = exc

    with databases[0].transaction() as tx:
        assert roll_up_one(tx, T0)  # the first day, not yet committed
        other = threading.Thread(target=second_worker)
        other.start()
        # PostgreSQL: the second worker skips the claimed probe; SQLite: it waits for the write lock.
        other.join(0.5)
    other.join(10)
    with databases[1].transaction() as tx:
        while roll_up_one(tx, T0):
            pass
    for database in databases:
        database.engine.dispose()

    assert "error" not in outcome, outcome
    session.expire_all()
    days = {r.start: r.count for r in session.scalars(select(CheckRollup).where(CheckRollup.period == "day"))}
    assert days == {first: 30, first + timedelta(days=1): 20}
    hours = session.scalars(select(func.sum(CheckRollup.count)).where(CheckRollup.period == "hour")).one()
    assert hours == 50 and checks_of(session, probe) == []


def test_rollups_older_than_the_retention_are_pruned(db, session, component):
    probe = a_probe(session, component)
    for days in (401, 399):
        session.add(CheckRollup(probe_id=probe.id, period="day", start=T0 - timedelta(days=days), count=1,
                                failures=0, slow=0))
    session.commit()
    with db.transaction() as tx:
        assert roll_up_one(tx, T0, keep_days=400)
    assert session.scalar(select(func.count()).select_from(CheckRollup)) == 1


def test_the_rollup_step_rests_when_there_is_nothing_to_do(make_worker, session, component):
    probe = a_probe(session, component)
    clock = [T0]
    worker = make_worker(clock)
    assert not worker.handle_one_rollup()
    add_checks(session, probe, T0 - timedelta(days=9), 3)
    assert not worker.handle_one_rollup()  # resting
    clock[0] = T0 + minutes(11)
    assert worker.handle_one_rollup()
    assert checks_of(session, probe) == []
