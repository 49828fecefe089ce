"""The outage loop end to end, with real processes and servers: a probe target stops answering, and the responders'
webhook alert, the incident in /api/v2/summary.json and the subscriber's email each come within issue 15's
promise; the target answers again, and the component is shown operational within its promise too.

The worker is the real `flask --app app statuspage worker` (not --once) with its clock ten times faster
(STATUSPAGE_WORKER_CLOCK_SPEED), so a real second is ten seconds of the worker's: the real times measured are
multiplied by ten before they meet the promise. The web app reads the page version ten times as often as by
default, for the same reason. bench/outage_loop.py runs the same loop on the real clock and holds the pieces.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from bench.outage_loop import (
    GOALS,
    OUTAGE,
    HealthTarget,
    Watch,
    WorkerProcess,
    seed,
    time_outage,
    time_recovery,
    wait_ready,
    worker_env,
)
from statuspage import create_app
from statuspage.notify import webhooks
from tests.conftest import serving

SPEED = 10
SUBSCRIBER = "oncall-reader@example.org"


@pytest.fixture
def loop_app(smtp_settings) -> Iterator[Flask]:
    """The web app; it checks the page version every 100 ms, the default second on the worker's clock."""
    app = create_app(dataclasses.replace(smtp_settings, version_check_seconds=1 / SPEED))
    yield app
    app.extensions["statuspage.db"].engine.dispose()


@pytest.fixture
def target() -> Iterator[HealthTarget]:
    target = HealthTarget()
    yield target
    target.stop()


@pytest.fixture
def worker(smtp_settings, smtp_server, tmp_path: Path) -> Iterator[WorkerProcess]:
    """The real worker process (started by the test); stopped with SIGTERM, then SIGKILL, whatever happens."""
    _sink, port = smtp_server
    process = WorkerProcess(worker_env(smtp_settings.database_url, tmp_path / "worker", port, SPEED),
                            tmp_path / "worker.log")
    yield process
    process.stop()


def explaining(worker: WorkerProcess) -> Callable[[str], str]:
    """A failure's message with the end of the worker's log."""
    return lambda what: f"{what}\n--- the worker's log ---\n{worker.log_tail(40)}"


def test_a_stopped_target_reaches_responders_the_public_page_and_subscribers_within_the_promise(
        loop_app, smtp_server, chat_receiver, target, worker):
    sink, _port = smtp_server
    hook = chat_receiver("webhook")
    database = loop_app.extensions["statuspage.db"]
    seeded = seed(database, target.url, hook.url, SUBSCRIBER)

    with serving(loop_app) as origin:
        worker.start()
        explain = explaining(worker)
        assert wait_ready(database, seeded.probe, 60), explain("the probe never passed a check")
        watch = Watch(origin, seeded.component, lambda: [r.json() for r in hook.delivered],
                      lambda: len(sink.to(SUBSCRIBER)))
        # Stopped right after a good check: the failure waits a whole interval to be seen, the worst case.
        real = time_outage(target, watch, limit=2 * GOALS["email"] / SPEED, delay=None)
        outage = {measure: round(real[measure] * SPEED, 1) for measure in OUTAGE if measure in real}
        print(f"\noutage loop on {database.engine.dialect.name}, seconds of the worker's clock: {outage}")
        assert set(outage) == set(OUTAGE), explain(f"not seen within {2 * GOALS['email']} s: {outage}")
        assert all(outage[m] <= GOALS[m] for m in OUTAGE), explain(f"over the promise {GOALS}: {outage}")

        back = time_recovery(target, watch, limit=2 * GOALS["recovery"] / SPEED)
        recovery = None if back is None else round(back * SPEED, 1)
        print(f"recovery: {recovery} s")
        assert recovery is not None and recovery <= GOALS["recovery"], explain(f"recovery took {recovery} s")
        incident = watch.incident(watch.summary())
        assert incident is not None and incident["status"] == "monitoring", incident

    assert hook.problems == []
    first = hook.delivered[0]
    assert webhooks.verify(seeded.route_secret, first.headers["X-Statuspage-Signature"], first.body, int(time.time()))
    alerts = watch.alerts()
    assert "incident_opened" in {body["event"] for body in alerts}
    # The move into the outage is told once, by the incident it opened, not again as a component change.
    assert [body for body in alerts if body["event"] == "component_changed"
            and body["alert"]["details"]["new_status"] != "operational"] == []
    [opened, *_later] = sink.to(SUBSCRIBER)
    assert "Elevated errors on API" in opened["Subject"]
