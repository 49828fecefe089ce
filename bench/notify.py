"""Benchmark: one incident update delivered to N confirmed email subscribers by one worker.

    .venv/bin/python bench/notify.py [--subscribers 100000] [--timeout 600]

A real SMTP sink (aiosmtpd) runs on loopback in this process; the worker is
the real `flask statuspage worker` in its own process. Run 1 measures a
clean fan-out (time, messages per second, the worker's peak memory). Run 2
repeats it on a fresh database and SIGKILLs the worker half-way, starts a
new one, and counts what arrived: every recipient at least once, and how
many twice (at most the batch in flight is expected).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller
from alembic import command
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import LOOPBACK, ROOT, free_port, terminate_on_sigterm  # noqa: E402
from statuspage.audit import Actor  # noqa: E402
from statuspage.cli import alembic_config  # noqa: E402
from statuspage.db import Database, utcnow  # noqa: E402
from statuspage.incidents import lifecycle  # noqa: E402
from statuspage.models import Subscriber, SubscriberMode, new_code  # noqa: E402
from statuspage.tools.setup import setup_page

SECRET = "benchmark-secret-key-not-for-production"
LEASE_SECONDS = 10


class CountingSink:
    """Counts accepted messages per recipient; keeps nothing else."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for address in envelope.rcpt_tos:
                self.received[address] += 1
        return "250 OK"

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())

    @property
    def distinct(self) -> int:
        with self.lock:
            return len(self.received)


def prepare(folder: Path, subscribers: int) -> str:
    """A migrated SQLite database with N confirmed subscribers and one published incident."""
    url = f"sqlite:///{folder / 'bench.db'}"
    command.upgrade(alembic_config(url), "head")
    database = Database()
    database.configure(url)
    now = utcnow()
    with database.transaction() as session:
        setup_page(session, "Bench", "Etc/UTC")
        rows = [{"code": new_code(), "mode": SubscriberMode.EMAIL, "email": f"reader{n}@example.org",
                 "all_components": True, "confirmed_at": now, "created_at": now, "token_nonce": "bench000",
                 "consecutive_failures": 0} for n in range(subscribers)]
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Subscriber), rows[start:start + 10_000])
        lifecycle.open_incident(session, Actor.system("bench"), name="Database cluster outage",
                                body="We are investigating elevated error rates and latency.")
    database.engine.dispose()
    return url


def start_worker(url: str, folder: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "STATUSPAGE_DATABASE_URL": url, "STATUSPAGE_INSTANCE_DIR": str(folder),
           "STATUSPAGE_SECRET_KEY": SECRET, "STATUSPAGE_MAIL_BACKEND": "smtp", "STATUSPAGE_SMTP_HOST": LOOPBACK,
           "STATUSPAGE_SMTP_PORT": str(port), "STATUSPAGE_MAIL_FROM": "status@bench.example",
           "STATUSPAGE_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS)}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "statuspage", "worker"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory so far (Linux), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(subscribers: int, timeout: float, kill_at: int | None) -> dict:
    """One fan-out; with `kill_at`, SIGKILL the worker once that many messages arrived, then restart."""
    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname=LOOPBACK, port=port)
    controller.start()
    workers: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="statuspage-bench-") as tmp:
        folder = Path(tmp)
        try:
            url = prepare(folder, subscribers)
            started = time.monotonic()
            workers.append(start_worker(url, folder, port))
            peak = 0.0
            killed = False
            deadline = started + timeout
            while sink.distinct < subscribers and time.monotonic() < deadline:
                time.sleep(0.2)
                peak = max(peak, peak_rss_mb(workers[-1].pid) or 0.0)
                if kill_at is not None and not killed and sink.total >= kill_at:
                    workers[-1].send_signal(signal.SIGKILL)
                    workers[-1].wait(10)
                    killed = True
                    workers.append(start_worker(url, folder, port))
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    try:
                        worker.wait(30)
                    except subprocess.TimeoutExpired:
                        worker.kill()
            controller.stop()
    return {"elapsed": elapsed, "distinct": sink.distinct, "total": sink.total,
            "duplicates": sink.total - sink.distinct, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds per run")
    args = parser.parse_args()
    terminate_on_sigterm()

    clean = run(args.subscribers, args.timeout, kill_at=None)
    crash = run(args.subscribers, args.timeout, kill_at=args.subscribers // 2)
    print(f"subscribers: {args.subscribers:,}; one worker; SMTP sink on loopback (aiosmtpd)")
    print(f"{'run':<28}{'delivered':>12}{'seconds':>10}{'msg/s':>10}{'duplicates':>12}{'peak MiB':>10}")
    for name, result in (("clean", clean), ("SIGKILL half-way + restart", crash)):
        rate = result["distinct"] / result["elapsed"] if result["elapsed"] else 0.0
        print(f"{name:<28}{result['distinct']:>12,}{result['elapsed']:>10.1f}{rate:>10.0f}"
              f"{result['duplicates']:>12,}{result['peak_mb']:>10.0f}")
    goal = all(r["distinct"] == args.subscribers and r["elapsed"] <= 300 for r in (clean, crash))
    print(f"goal (all {args.subscribers:,} accepted within 5 minutes, both runs): {'met' if goal else 'NOT met'}")


if __name__ == "__main__":
    main()
