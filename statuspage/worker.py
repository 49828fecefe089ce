"""The worker: a loop of small steps, each a `handle_one_*() -> bool` that tests call directly.

Each step does one unit of work in its own transaction and says whether
there was any; the loop runs steps until none has work, then sleeps a
little. SIGTERM (and Ctrl-C) let the unit in flight finish, then stop.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from statuspage.config import Settings
from statuspage.db import Database, utcnow
from statuspage.incidents import windows
from statuspage.notify.sender import Notifier
from statuspage.notify.transports import MailTransport
from statuspage.postmortems import action_items
from statuspage.probes import drafts
from statuspage.probes.runner import ProbeRunner
from statuspage.tools.publish import Publisher

log = logging.getLogger("statuspage.worker")
Clock = Callable[[], datetime]


def fast_clock(speed: int, now: Clock = utcnow, monotonic: Callable[[], float] = time.monotonic) -> Clock:
    """A clock that starts at `now()` and runs `speed` times faster (STATUSPAGE_WORKER_CLOCK_SPEED)."""
    start, began = now(), monotonic()
    return lambda: start + timedelta(seconds=(monotonic() - began) * speed)


class Worker:
    """Runs the background steps against one database."""

    def __init__(
        self,
        database: Database,
        clock: Clock = utcnow,
        idle_seconds: float = 1.0,
        settings: Settings | None = None,
        transport: MailTransport | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()
        # Without settings (some tests) the worker only moves maintenance windows.
        self.notifier = (
            Notifier(database, settings, lambda: self.clock(), transport) if settings is not None else None
        )
        self.probes = ProbeRunner(database, lambda: self.clock(), settings)
        # Copies the public site to STATUSPAGE_PUBLISH_DIR / _S3_URL after each change (tools.publish).
        self.publisher = publisher
        # run_forever sends notifications and alerts on a thread of their own (see _deliver_forever).
        self._deliveries_apart = False

    def handle_one_maintenance_transition(self) -> bool:
        """Move one maintenance window across the edge it has reached."""
        now = self.clock()
        with self.database.transaction() as session:
            maintenance = windows.due_maintenance(session, now)
            if maintenance is None:
                return False
            update = windows.advance_maintenance(session, maintenance, now)
            log.info("maintenance %s is now %s", maintenance.code, update.status)
            return True

    def handle_one_delayed_publish(self) -> bool:
        """Publish one probe draft whose `publish_after_minutes` have passed with the outage still on."""
        now = self.clock()
        with self.database.transaction() as session:
            return drafts.publish_one_due(session, now) is not None

    def handle_one_auto_resolve(self) -> bool:
        """Resolve one probe-opened incident whose component has been operational for `auto_resolve_minutes`."""
        now = self.clock()
        with self.database.transaction() as session:
            return drafts.resolve_one_recovered(session, now) is not None

    def handle_one_overdue_alert(self) -> bool:
        """Alert responders of one action item that fell overdue."""
        now = self.clock()
        with self.database.transaction() as session:
            return action_items.alert_one_overdue(session, now) is not None

    def handle_one_probe_batch(self) -> bool:
        """Write the checks that finished and start the probes that are due (probes.runner)."""
        return self.probes.handle_one_probe_batch()

    def handle_one_heartbeat_timeout(self) -> bool:
        """Record a failed check for one heartbeat that has gone silent."""
        return self.probes.handle_one_heartbeat_timeout()

    def handle_one_rollup(self) -> bool:
        """Roll up one probe-day of old checks, or prune old rollups."""
        return self.probes.handle_one_rollup()

    def handle_one_publish(self) -> bool:
        """Publish the public site when the page version moved (on a thread of its own; never raises)."""
        return self.publisher.handle_one_publish() if self.publisher is not None else False

    def close(self) -> None:
        """Finish the checks and the publish in flight and write them (after SIGTERM, and after --once)."""
        self.probes.close()
        if self.publisher is not None:
            self.publisher.close()

    @property
    def steps(self) -> list[Callable[[], bool]]:
        steps = [self.handle_one_maintenance_transition, self.handle_one_probe_batch,
                 self.handle_one_heartbeat_timeout, self.handle_one_delayed_publish, self.handle_one_auto_resolve,
                 self.handle_one_overdue_alert, self.handle_one_rollup]
        if self.notifier is not None and not self._deliveries_apart:
            steps += self.delivery_steps
        if self.publisher is not None:
            steps.append(self.handle_one_publish)
        return steps

    @property
    def delivery_steps(self) -> list[Callable[[], bool]]:
        return [] if self.notifier is None else [self.notifier.handle_one_event_expansion,
                                                 self.notifier.handle_one_delivery_batch]

    def run_once(self, limit: int = 10_000) -> int:
        """Do everything that is due now; returns how many units of work were done."""
        done = 0
        while done < limit and not self.stopping.is_set():
            progressed = False
            for step in self.steps:
                if self.stopping.is_set():
                    break
                if step():
                    done += 1
                    progressed = True
            if not progressed:
                break
        return done

    def run_pass(self) -> int:
        """Do everything due at the start of the pass and write every check it started (`worker --once`).

        `run_once` stops when no step has work this moment, which with all
        threads busy on slow targets leaves due probes unstarted; a pass
        runs it again until nothing due by its start remains and nothing is
        in flight. Probes falling due during the pass wait for the next one,
        so a pass always ends.
        """
        self.probes.due_by = self.clock()
        done = 0
        try:
            while not self.stopping.is_set():
                did = self.run_once()
                done += did
                if did == 0 and not self.probes.in_flight:
                    break
        finally:
            self.probes.due_by = None
        return done

    def run_forever(self) -> None:
        """Loop until stopped by a signal."""
        self._install_signal_handlers()
        log.info("worker started")
        deliveries = None
        if self.notifier is not None:
            self._deliveries_apart = True
            deliveries = threading.Thread(target=self._deliver_forever, name="deliveries", daemon=True)
            deliveries.start()
        while not self.stopping.is_set():
            try:
                self.run_once()
            except Exception:  # a bad row must not kill the loop; it is logged and retried
                log.exception("worker step failed")
            self.stopping.wait(self.idle_seconds)
        if deliveries is not None:
            deliveries.join()  # the batch in flight is sent and recorded first
        self.close()
        log.info("worker stopped")

    def _deliver_forever(self) -> None:
        """Expand events and send deliveries until stopped, apart from the main loop: a receiver that is slow
        (up to its timeout per message) or a big fan-out never delays the next probe check or its verdict."""
        while not self.stopping.is_set():
            try:
                did = any([step() for step in self.delivery_steps])
            except Exception:
                log.exception("delivery step failed")
                did = False
            if not did:
                self.stopping.wait(self.idle_seconds)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stopping.set())
