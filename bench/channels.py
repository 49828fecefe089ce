"""Benchmark: one incident update to N subscribers spread over email, Slack and SMS, one worker.

    .venv/bin/python bench/channels.py [--subscribers 10000] [--timeout 600]

Three real receivers run on loopback in this process: an SMTP sink (aiosmtpd), a Slack-like
incoming-webhook server (one URL per subscriber) and a Twilio-compatible Messages API; each
counts what it accepted and when. The worker is the real `flask statuspage worker` in its own
process. Prints the whole fan-out's time and, per channel, how many arrived and at what rate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from alembic import command
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LOOPBACK, ROOT, free_port, terminate_on_sigterm  # noqa: E402
from bench.notify import SECRET, peak_rss_mb  # noqa: E402
from statuspage.audit import Actor  # noqa: E402
from statuspage.cli import alembic_config  # noqa: E402
from statuspage.db import Database, utcnow  # noqa: E402
from statuspage.incidents import lifecycle  # noqa: E402
from statuspage.models import Subscriber, SubscriberMode, new_code  # noqa: E402
from statuspage.tools.setup import setup_page  # noqa: E402

ACCOUNT, TOKEN, SENDER = "ACbench", "bench-token", "+15005550006"


class Tally:
    """What one channel accepted: per recipient, and when the first and last arrived."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.first = self.last = 0.0
        self.lock = threading.Lock()

    def add(self, recipient: str) -> None:
        with self.lock:
            now = time.monotonic()
            self.first = self.first or now
            self.last = now
            self.received[recipient] += 1

    @property
    def distinct(self) -> int:
        with self.lock:
            return len(self.received)


class SmtpTally(Tally):
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        for address in envelope.rcpt_tos:
            self.add(address)
        return "250 OK"


class _Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        slack, twilio = self.server.tallies  # type: ignore[attr-defined]
        if self.path.endswith("/Messages.json"):
            twilio.add(parse_qs(body.decode())["To"][0])
            status, answer = 201, b'{"sid": "SMbench"}'
        else:
            slack.add(self.path)
            status, answer = 200, b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def prepare(folder: Path, subscribers: int, hooks_origin: str) -> str:
    """A migrated SQLite database with N confirmed subscribers, a third per channel, and one incident."""
    url = f"sqlite:///{folder / 'bench.db'}"
    command.upgrade(alembic_config(url), "head")
    database = Database()
    database.configure(url)
    now = utcnow()
    common = {"all_components": True, "confirmed_at": now, "created_at": now, "token_nonce": "bench000",
              "consecutive_failures": 0}
    rows = []
    for n in range(subscribers):
        kind = n % 3
        if kind == 0:
            rows.append({"mode": SubscriberMode.EMAIL, "email": f"reader{n}@example.org"})
        elif kind == 1:
            rows.append({"mode": SubscriberMode.SLACK, "endpoint": f"{hooks_origin}/services/T0/B0/{n}"})
        else:
            rows.append({"mode": SubscriberMode.SMS, "phone_number": f"+1202{n:07d}"})
    with database.transaction() as session:
        setup_page(session, "Bench", "Etc/UTC")
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Subscriber), [{"code": new_code(), **common, **row}
                                                 for row in rows[start:start + 10_000]])
        lifecycle.open_incident(session, Actor.system("bench"), name="Database cluster outage",
                                body="We are investigating elevated error rates and latency.")
    database.engine.dispose()
    return url


def start_worker(url: str, folder: Path, smtp_port: int, hooks_origin: str) -> subprocess.Popen:
    env = {**os.environ, "STATUSPAGE_DATABASE_URL": url, "STATUSPAGE_INSTANCE_DIR": str(folder),
           "STATUSPAGE_SECRET_KEY": SECRET, "STATUSPAGE_MAIL_BACKEND": "smtp", "STATUSPAGE_SMTP_HOST": LOOPBACK,
           "STATUSPAGE_SMTP_PORT": str(smtp_port), "STATUSPAGE_MAIL_FROM": "status@bench.example",
           "STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE": "true", "STATUSPAGE_SMS_PROVIDER": "twilio",
           "STATUSPAGE_SMS_ACCOUNT_SID": ACCOUNT, "STATUSPAGE_SMS_AUTH_TOKEN": TOKEN, "STATUSPAGE_SMS_FROM": SENDER,
           "STATUSPAGE_SMS_API_URL": hooks_origin}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "statuspage", "worker"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(subscribers: int, timeout: float) -> tuple[float, float, dict[str, Tally]]:
    """One fan-out: (seconds, the worker's peak MiB, the tally of each channel)."""
    tallies = {"email": SmtpTally(), "slack": Tally(), "sms": Tally()}
    smtp_port = free_port()
    controller = Controller(tallies["email"], hostname=LOOPBACK, port=smtp_port)
    controller.start()
    server = ThreadingHTTPServer((LOOPBACK, 0), _Hook)
    server.daemon_threads = True
    server.tallies = (tallies["slack"], tallies["sms"])  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://{LOOPBACK}:{server.server_address[1]}"
    with tempfile.TemporaryDirectory(prefix="statuspage-bench-") as tmp:
        folder = Path(tmp)
        worker = None
        try:
            url = prepare(folder, subscribers, origin)
            started = time.monotonic()
            worker = start_worker(url, folder, smtp_port, origin)
            peak = 0.0
            while sum(t.distinct for t in tallies.values()) < subscribers and time.monotonic() < started + timeout:
                time.sleep(0.2)
                peak = max(peak, peak_rss_mb(worker.pid) or 0.0)
            elapsed = time.monotonic() - started
        finally:
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(30)
            server.shutdown()
            controller.stop()
    for tally in tallies.values():
        tally.first -= started
        tally.last -= started
    return elapsed, peak, tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    terminate_on_sigterm()
    elapsed, peak, tallies = run(args.subscribers, args.timeout)
    print(f"subscribers: {args.subscribers:,} (a third each by email, Slack and SMS); one worker; loopback receivers")
    print(f"{'channel':<10}{'delivered':>11}{'duplicates':>12}{'first s':>9}{'last s':>9}{'msg/s':>9}")
    for name, tally in tallies.items():
        span = tally.last - tally.first
        rate = tally.distinct / span if span > 0 else 0.0
        duplicates = sum(tally.received.values()) - tally.distinct
        print(f"{name:<10}{tally.distinct:>11,}{duplicates:>12,}{tally.first:>9.1f}{tally.last:>9.1f}{rate:>9.0f}")
    delivered = sum(t.distinct for t in tallies.values())
    print(f"all: {delivered:,} of {args.subscribers:,} in {elapsed:.1f} s ({delivered / elapsed:.0f} msg/s); "
          f"worker peak {peak:.0f} MiB")


if __name__ == "__main__":
    main()
