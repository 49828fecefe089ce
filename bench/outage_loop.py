"""Benchmark: the outage loop on the real clock, from a target that stops answering to responders, the public
page and subscribers, and back.

    .venv/bin/python bench/outage_loop.py [--rounds 5] [--seed 15] [--database-url postgresql+psycopg://...]

One component with one HTTP probe of the default settings but `auto_incident=publish`, against a threaded
HTTP server on loopback answering 200 on /health; a webhook alert route to a receiver on loopback; one
confirmed email subscriber, through an aiosmtpd sink on loopback. The worker is the real
`flask --app app statuspage worker` in its own process, the web app the documented gunicorn setup.

Each round waits for a check to reach the target, then a random 0-20 s (one probe interval: the failure
falls anywhere between two checks), stops the target (its socket closed: connections are refused) and
measures the seconds until (a) the webhook alert of the outage arrives, (b) /api/v2/summary.json shows an
unresolved incident affecting the component, (c) the subscriber's email arrives; then starts the target
again on the same port and measures the seconds until summary.json shows the component operational. The
incident is then resolved as a responder would (it waits in `monitoring`, and a component has one open
incident at a time), and the next round starts once every notification has been sent.

The pieces (the target, the worker process, the seed, the timing) are shared with the end-to-end test,
tests/test_outage_loop_e2e.py, which runs the same loop on a worker clock ten times faster.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from alembic import command
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LOOPBACK, ROOT, Gunicorn, Server, free_port, http_get, terminate_on_sigterm  # noqa: E402
from statuspage.audit import Actor  # noqa: E402
from statuspage.cli import alembic_config  # noqa: E402
from statuspage.components import catalog  # noqa: E402
from statuspage.db import Database, utcnow  # noqa: E402
from statuspage.incidents import lifecycle  # noqa: E402
from statuspage.models import Component, Delivery, DeliveryStatus, OutboxEvent, Probe, ProbeState  # noqa: E402
from statuspage.notify import alert_routes, subscribers  # noqa: E402
from statuspage.outbound.guard import Policy  # noqa: E402
from statuspage.probes import drafts, service  # noqa: E402
from statuspage.tools.setup import setup_page  # noqa: E402

ACTOR = Actor.system("bench")
SECRET = "outage-loop-secret-key-not-for-production"
SUBSCRIBER = "reader@example.org"
# Issue 15's promise, in seconds: after the target stops answering (alert, public, email), and after it
# answers again (recovery).
GOALS = {"alert": 45, "public": 60, "email": 75, "recovery": 60}
OUTAGE = ("alert", "public", "email")
# The alerts that tell responders of trouble (an incident's later updates and resolutions are not the first word).
TROUBLE = {"draft_proposed", "incident_opened", "component_changed"}
POLL_SECONDS = 0.05


# --- the target ----------------------------------------------------------------------------------------------


class _Health(BaseHTTPRequestHandler):
    # HTTP/1.0: every connection closes after its answer, so none outlives `stop` and answers a later check.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        status = 200 if self.path == "/health" else 404
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.server.target.answered()  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


class HealthTarget:
    """A threaded HTTP server on loopback answering 200 on /health. `stop` shuts it down and closes its socket
    (connections are refused at once); `start` listens again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self.checked = threading.Event()
        self.checked_at = 0.0
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/health"

    def start(self, timeout: float = 10) -> None:
        """Listen (again); the port may stay busy for a moment after `stop`, so binding is retried."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                server = ThreadingHTTPServer((LOOPBACK, self.port), _Health)  # SO_REUSEADDR: no TIME_WAIT wait
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        server.daemon_threads = True
        server.target = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server

    def answered(self) -> None:
        """A check was answered (the handler's call)."""
        self.checked_at = time.monotonic()
        self.checked.set()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def wait_for_check(self, timeout: float) -> None:
        """Return once the next check has been answered."""
        self.checked.clear()
        if not self.checked.wait(timeout):
            raise RuntimeError(f"no check reached the target within {timeout:g} s")


# --- the worker and the data ---------------------------------------------------------------------------------


def worker_env(database_url: str, folder: Path, smtp_port: int, speed: int = 1,
               base_url: str = "http://status.test") -> dict[str, str]:
    """The worker's settings: this database, mail through the SMTP sink, the clock `speed` times faster."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("STATUSPAGE_")}
    return {**inherited, "STATUSPAGE_DATABASE_URL": database_url, "STATUSPAGE_INSTANCE_DIR": str(folder),
            "STATUSPAGE_SECRET_KEY": SECRET, "STATUSPAGE_BASE_URL": base_url, "STATUSPAGE_MAIL_BACKEND": "smtp",
            "STATUSPAGE_SMTP_HOST": LOOPBACK, "STATUSPAGE_SMTP_PORT": str(smtp_port),
            "STATUSPAGE_MAIL_FROM": "status@acme.test", "STATUSPAGE_WORKER_CLOCK_SPEED": str(speed)}


class WorkerProcess(Server):
    """The real `flask --app app statuspage worker` in its own process group, its output in `log_path`
    (read it with `log_tail`); `stop` sends SIGTERM, then SIGKILL (bench._common.Server)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.name = "worker"
        self.url = ""
        self.env = env
        self.log_path = log_path
        self.command = [sys.executable, "-m", "flask", "--app", "app", "statuspage", "worker"]

    def start(self, ready_path: str = "", timeout: float = 0) -> None:
        """Start; there is nothing to ask whether it is ready (see `wait_ready`)."""
        assert self.process is None, "the worker is started once"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, start_new_session=True,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


@dataclass(frozen=True)
class Seeded:
    component: str
    probe: str
    route_secret: str


def seed(database: Database, target_url: str, hook_url: str, email: str = SUBSCRIBER) -> Seeded:
    """A component with an HTTP probe of the default settings but `auto_incident=publish` (due now), a webhook
    alert route listening to every event, and a confirmed email subscriber."""
    now = utcnow()
    with database.transaction() as session:
        component = catalog.create_component(session, ACTOR, "API")
        probe = service.create_probe(session, ACTOR, {"name": "API health", "kind": "http", "target": target_url,
                                                      "component_id": component.code, "auto_incident": "publish"},
                                     now)
        probe.next_run_at = now
        route = alert_routes.create_route(session, ACTOR, name="On call", kind="webhook", target=hook_url,
                                          policy=Policy(), now=now)
        subscribers.create(session, ACTOR, email=email, skip_confirmation=True, now=now)
        return Seeded(component.code, probe.code, route.secret or "")


def _quiet(database: Database, probe_code: str) -> bool:
    """The probe's last check passed, its component is operational and every notification has been sent."""
    with database.transaction() as session:
        probe = session.scalars(select(Probe).where(Probe.code == probe_code)).one()
        pending = session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.RETRYING])))
        unexpanded = session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.expanded_at.is_(None)))
        return (probe.state == ProbeState.UP and probe.component.status == "operational"
                and pending == 0 and unexpanded == 0)


def wait_ready(database: Database, probe_code: str, timeout: float) -> bool:
    """Wait until the probe has passed a check and nothing is left to send (False after `timeout`)."""
    deadline = time.monotonic() + timeout
    while not _quiet(database, probe_code):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def resolve(database: Database, component_code: str) -> None:
    """Resolve the component's open incident, as a responder does once it has been quiet in `monitoring`."""
    with database.transaction() as session:
        component = session.scalars(select(Component).where(Component.code == component_code)).one()
        incident = drafts.open_incident_for(session, component)
        if incident is not None:
            lifecycle.post_update(session, ACTOR, incident, status="resolved", body="Resolved.", now=utcnow())


# --- the timing ----------------------------------------------------------------------------------------------


@dataclass
class Watch:
    """Where the loop shows: the public summary at `origin`, and what responders and the subscriber received
    so far (`alerts`: the webhook bodies, `emails`: how many messages)."""

    origin: str
    component: str
    alerts: Callable[[], list[Any]]
    emails: Callable[[], int]

    def summary(self) -> dict[str, Any]:
        answer = http_get(self.origin + "/api/v2/summary.json", timeout=5)
        if answer.status != 200:
            raise RuntimeError(f"summary.json answered {answer.status}: {answer.body[:300]!r}")
        return json.loads(answer.body)

    def incident(self, summary: dict[str, Any]) -> dict[str, Any] | None:
        """The unresolved incident affecting the component, if the summary shows one."""
        return next((incident for incident in summary["incidents"]
                     if any(c["id"] == self.component for c in incident["components"])), None)

    def status(self, summary: dict[str, Any]) -> str:
        return next(c["status"] for c in summary["components"] if c["id"] == self.component)

    def trouble(self) -> int:
        """How many alerts of trouble responders have received."""
        return sum(1 for body in self.alerts()
                   if body.get("event") in TROUBLE and (body.get("alert") or {}).get("action") == "trigger")


def time_outage(target: HealthTarget, watch: Watch, limit: float, delay: float | None) -> dict[str, float]:
    """Stop the target `delay` seconds from now (None: right after its next check), then poll every 50 ms: the
    real seconds from the stop until the alert, the incident in summary.json and the email each first showed,
    and `after_check`, how long after the last check the target answered it stopped. A measure missing from
    the answer did not show within `limit` seconds."""
    alerts, emails = watch.trouble(), watch.emails()
    shows = {"alert": lambda: watch.trouble() > alerts,
             "public": lambda: watch.incident(watch.summary()) is not None,
             "email": lambda: watch.emails() > emails}
    if delay is None:
        target.wait_for_check(limit)
    else:
        time.sleep(delay)
    target.stop()
    stopped = time.monotonic()
    seen = {"after_check": stopped - target.checked_at}
    while any(measure not in seen for measure in OUTAGE) and time.monotonic() - stopped < limit:
        for measure, check in shows.items():
            if measure not in seen and check():
                seen[measure] = time.monotonic() - stopped
        time.sleep(POLL_SECONDS)
    return seen


def time_recovery(target: HealthTarget, watch: Watch, limit: float) -> float | None:
    """Start the target again; the real seconds until summary.json shows the component operational (None: not
    within `limit`).

    Operational beside the incident (in `monitoring` by then): each web process re-reads the page version
    once a second, so a process that has not yet seen the outage still shows the component operational and
    no incident, which is not a recovery.
    """
    target.start()
    started = time.monotonic()
    while time.monotonic() - started < limit:
        summary = watch.summary()
        if watch.status(summary) == "operational" and watch.incident(summary) is not None:
            return time.monotonic() - started
        time.sleep(POLL_SECONDS)
    return None


# --- the benchmark's receivers -------------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.bodies.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Mail:
    """aiosmtpd handler keeping each message's subject, per recipient."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        subject = str(message_from_bytes(envelope.content)["Subject"])
        self.received += [(address, subject) for address in envelope.rcpt_tos]
        return "250 OK"

    def to(self, address: str) -> int:
        return sum(1 for rcpt, _subject in self.received if rcpt == address)


# --- the run -------------------------------------------------------------------------------------------------


def prepare(url: str) -> None:
    """A migrated, empty database with the page set up (what `flask db upgrade` leaves)."""
    if url.startswith("postgresql"):
        database = Database()
        database.configure(url)
        with database.engine.begin() as connection:  # type: ignore[union-attr]
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        database.engine.dispose()  # type: ignore[union-attr]
    command.upgrade(alembic_config(url), "head")
    database = Database()
    database.configure(url)
    with database.transaction() as session:
        setup_page(session, "Acme", "Etc/UTC")
    database.engine.dispose()  # type: ignore[union-attr]


def run(rounds: int, rng: random.Random, url: str | None, folder: Path) -> list[dict[str, float | None]]:
    """The rounds, each a dict of measures in seconds (None: not within twice its goal)."""
    url = url or f"sqlite:///{folder / 'outage.db'}"
    prepare(url)
    mail = _Mail()
    smtp_port = free_port()
    controller = Controller(mail, hostname=LOOPBACK, port=smtp_port)
    hook = ThreadingHTTPServer((LOOPBACK, 0), _Hook)
    hook.daemon_threads = True
    hook.bodies = []  # type: ignore[attr-defined]
    target = HealthTarget()
    database = Database()
    database.configure(url)
    env = worker_env(url, folder, smtp_port)
    web = Gunicorn("web", "app:app", ROOT, ["-c", "python:statuspage.edge.gunicorn_conf"],
                   env | {"STATUSPAGE_WEB_ACCESS_LOG": "off"}, folder / "web.log")
    worker = WorkerProcess(env, folder / "worker.log")
    results = []
    try:
        controller.start()
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        seeded = seed(database, target.url, f"http://{LOOPBACK}:{hook.server_address[1]}/alerts")
        web.start("/healthz")
        worker.start()
        watch = Watch(web.url, seeded.component, lambda: list(hook.bodies),  # type: ignore[attr-defined]
                      lambda: mail.to(SUBSCRIBER))
        for number in range(1, rounds + 1):
            if not wait_ready(database, seeded.probe, 120):
                raise RuntimeError(f"round {number}: the loop did not settle\n{worker.log_tail()}")
            # Recovery leaves one check at the retry interval; from the next check on the grid is the interval's.
            target.wait_for_check(2 * service.DEFAULTS["interval_seconds"])
            delay = rng.uniform(0, service.DEFAULTS["interval_seconds"])
            seen: dict[str, float | None] = {**time_outage(target, watch, 2 * GOALS["email"], delay)}
            seen["recovery"] = time_recovery(target, watch, 2 * GOALS["recovery"])
            results.append(seen)
            print(row(number, seen), flush=True)
            resolve(database, seeded.component)
    finally:
        worker.stop()
        web.stop()
        target.stop()
        hook.shutdown()
        hook.server_close()
        controller.stop()
        database.engine.dispose()  # type: ignore[union-attr]
    return results


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def row(number: int, seen: dict[str, float | None]) -> str:
    return f"| {number} | {_seconds(seen['after_check'])} | " + " | ".join(_seconds(seen.get(m)) for m in GOALS) + " |"


def report(results: list[dict[str, float | None]]) -> None:
    print("\n| measure | goal (s) | min | median | max | goal met |\n|---|---:|---:|---:|---:|---|")
    for measure, goal in GOALS.items():
        values = [r.get(measure) for r in results]
        found = [v for v in values if v is not None]
        met = len(found) == len(values) and max(found) <= goal
        low, middle, high = (min(found), statistics.median(found), max(found)) if found else (None, None, None)
        missing = f" ({len(values) - len(found)} not within {2 * goal} s)" if len(found) < len(values) else ""
        print(f"| {measure} | {goal} | {_seconds(low)} | {_seconds(middle)} | {_seconds(high)} | "
              f"{'yes' if met else 'NO'}{missing} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=15, help="of the random moments of failure")
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use (default: SQLite)")
    args = parser.parse_args()
    terminate_on_sigterm()
    print(f"outage loop: {args.rounds} rounds, default probe settings "
          f"(interval {service.DEFAULTS['interval_seconds']} s, retry {service.DEFAULTS['retry_interval_seconds']} s, "
          f"{service.DEFAULTS['failures_to_outage']} failures, {service.DEFAULTS['successes_to_recover']} successes), "
          f"publish; load average {os.getloadavg()[0]:.1f}", flush=True)
    print("\n| round | stopped after the last good check (s) | alert (s) | public (s) | email (s) | recovery (s) |\n"
          "|---:|---:|---:|---:|---:|---:|", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="statuspage-outage-") as tmp:
        results = run(args.rounds, random.Random(args.seed), args.database_url, Path(tmp))
    report(results)
    print(f"\n{timedelta(seconds=round(time.monotonic() - started))} in all; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
