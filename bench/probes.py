"""Benchmark: 1,000 HTTP probes every 30 s against a local target, run by one real worker process.

    .venv/bin/python bench/probes.py [--probes 1000] [--interval 30] [--duration 300]
                                     [--database-url postgresql+psycopg://...]

The target is a threaded HTTP server in its own process that notes when
each request arrives; the worker is the real `flask statuspage worker` in
its own process. Every probe's slots lie on a fixed grid (first run spread
over one interval, then every `interval` seconds), so the start delay of a
check is its arrival at the target minus its slot, and a missed check is a
slot with no arrival. The worker's CPU share comes from /proc.

Then the projected database size after one year for 200 components probed
every 30 s: raw checks kept 7 days plus hour and day rollups kept 400 days,
with bytes per row measured on a fresh database of the same kind.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from alembic import command
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from statuspage.audit import Actor  # noqa: E402
from statuspage.cli import alembic_config  # noqa: E402
from statuspage.components import catalog  # noqa: E402
from statuspage.db import Database  # noqa: E402
from statuspage.models import Check, CheckRollup  # noqa: E402
from statuspage.probes import service  # noqa: E402
from statuspage.tools.setup import setup_page  # noqa: E402

ACTOR = Actor.system("bench")
SECRET = "benchmark-secret-key-not-for-production"


# --- the target --------------------------------------------------------------------------------------


def _serve(port_pipe, stop_event, out_path: str) -> None:
    """Answer 200 to everything and note (path, arrival time); dump them when told to stop."""
    arrivals: list[tuple[str, float]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            arrivals.append((self.path, time.time()))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    port_pipe.send(server.server_address[1])
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    stop_event.wait()
    server.shutdown()
    Path(out_path).write_text(json.dumps(arrivals))


# --- setup -------------------------------------------------------------------------------------------


def prepare(url: str, probes: int, interval: int, port: int, start: datetime) -> dict[str, datetime]:
    """Migrate, then create the probes (20 per component) with first runs spread over one interval."""
    if url.startswith("postgresql"):
        database = Database()
        database.configure(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        database.engine.dispose()
    command.upgrade(alembic_config(url), "head")
    database = Database()
    database.configure(url)
    first_runs = {}
    with database.transaction() as session:
        setup_page(session, "Bench", "Etc/UTC")
        component = None
        for n in range(probes):
            if n % 20 == 0:
                component = catalog.create_component(session, ACTOR, f"Service {n // 20}")
            probe = service.create_probe(session, ACTOR, {
                "name": f"probe {n}", "kind": "http", "component_id": component.code,
                "target": f"http://127.0.0.1:{port}/p/{n}", "interval_seconds": interval,
                "timeout_seconds": 5, "auto_incident": "off"}, start)
            probe.next_run_at = start + timedelta(seconds=interval * n / probes)
            first_runs[f"/p/{n}"] = probe.next_run_at
    database.engine.dispose()
    return first_runs


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the run -----------------------------------------------------------------------------------------


def run(args, folder: Path) -> dict:
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    receive, send = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    arrivals_path = folder / "arrivals.json"
    target = multiprocessing.Process(target=_serve, args=(send, stop, str(arrivals_path)), daemon=True)
    target.start()
    port = receive.recv()
    start = datetime.now(UTC) + timedelta(seconds=10)  # setup and the worker's start-up come first
    first_runs = prepare(url, args.probes, args.interval, port, start)
    env = {**os.environ, "STATUSPAGE_DATABASE_URL": url, "STATUSPAGE_INSTANCE_DIR": str(folder),
           "STATUSPAGE_SECRET_KEY": SECRET, "STATUSPAGE_WORKER_THREADS": str(args.threads)}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "statuspage", "worker"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while datetime.now(UTC) < start:
            time.sleep(0.05)
        cpu_before, wall_before = cpu_seconds(worker.pid), time.monotonic()
        end = start + timedelta(seconds=args.duration)
        while datetime.now(UTC) < end and worker.poll() is None:
            time.sleep(0.5)
        cpu = cpu_seconds(worker.pid) - cpu_before
        wall = time.monotonic() - wall_before
        rss = peak_rss_mb(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _out, errors = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _out, errors = worker.communicate()
        stop.set()
        target.join(10)
    arrivals: dict[str, list[float]] = {}
    for path, at in json.loads(arrivals_path.read_text()):
        arrivals.setdefault(path, []).append(at)

    # Slots due up to 3 s before the end must have run; later ones may or may not have.
    horizon = (end - timedelta(seconds=3)).timestamp()
    delays, missed, extra, expected_total = [], 0, 0, 0
    for path, first in first_runs.items():
        slots = []
        slot = first.timestamp()
        while slot <= horizon:
            slots.append(slot)
            slot += args.interval
        hits = sorted(at for at in arrivals.get(path, []) if at <= horizon + 10)
        expected_total += len(slots)
        missed += max(len(slots) - len(hits), 0)
        extra += max(len(hits) - len(slots) - 1, 0)  # one slot past the horizon may have run
        delays += [hit - slot for hit, slot in zip(hits, slots, strict=False)]
    delays.sort()

    database = Database()
    database.configure(url)
    with database.transaction() as session:
        checks = session.scalar(text("SELECT count(*) FROM probe_check"))
        failed = session.scalar(text("SELECT count(*) FROM probe_check WHERE NOT ok"))
    database.engine.dispose()
    return {
        "database": url.split(":", 1)[0], "probes": args.probes, "interval_s": args.interval,
        "duration_s": args.duration, "threads": args.threads,
        "expected_checks": expected_total, "arrived": sum(len(v) for v in arrivals.values()),
        "checks_written": checks, "failed_checks": failed, "missed": missed, "ran_twice": extra,
        "delay_p50_s": round(statistics.median(delays), 3) if delays else None,
        "delay_p99_s": round(delays[int(len(delays) * 0.99) - 1], 3) if delays else None,
        "delay_max_s": round(delays[-1], 3) if delays else None,
        "worker_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
        "worker_cpu_percent_of_machine": round(100 * cpu / wall / (os.cpu_count() or 1), 1),
        "worker_peak_rss_mb": round(rss, 1),
        "worker_stderr_tail": errors.decode(errors="replace").strip().splitlines()[-3:],
    }


# --- storage projection --------------------------------------------------------------------------------


def bytes_per_row(url: str, folder: Path) -> tuple[float, float]:
    """Measured bytes per raw check and per rollup row (tables and indexes) on a fresh database."""
    if url.startswith("sqlite"):
        url = f"sqlite:///{folder / 'sizing.db'}"
    else:
        database = Database()
        database.configure(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        database.engine.dispose()
    command.upgrade(alembic_config(url), "head")
    database = Database()
    database.configure(url)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with database.transaction() as session:
        setup_page(session, "Sizing", "Etc/UTC")
        component = catalog.create_component(session, ACTOR, "Sized")
        probe_ids = [service.create_probe(session, ACTOR, {
            "name": f"p{n}", "kind": "http", "component_id": component.code,
            "target": "https://api.example.com/health"}, start).id for n in range(20)]

    def size() -> float:
        with database.engine.connect() as connection:
            if url.startswith("sqlite"):
                connection.execute(text("VACUUM"))
                return Path(url.removeprefix("sqlite:///")).stat().st_size
            return connection.execute(text(
                "SELECT pg_total_relation_size('probe_check') + pg_total_relation_size('check_rollup')")
            ).scalar()

    n_checks, n_rollups = 100_000, 20_000
    before = size()
    with database.transaction() as session:
        session.execute(insert(Check), [
            {"probe_id": probe_ids[i % 20], "at": start + timedelta(seconds=30 * (i // 20)), "ok": i % 97 != 0,
             "slow": False, "latency_ms": 20.0 + (i % 50), "reason": "ok" if i % 97 else "HTTP 503 (expected 2xx)",
             "detail": {"status": 200 if i % 97 else 503}} for i in range(n_checks)])
    middle = size()
    with database.transaction() as session:
        session.execute(insert(CheckRollup), [
            {"probe_id": probe_ids[i % 20], "period": "hour", "start": start + timedelta(hours=i // 20),
             "count": 120, "failures": 1, "slow": 0, "latency_p50": 21.5, "latency_p95": 48.0,
             "latency_max": 230.0} for i in range(n_rollups)])
    after = size()
    database.engine.dispose()
    return (middle - before) / n_checks, (after - middle) / n_rollups


def projection(url: str, folder: Path) -> dict:
    per_check, per_rollup = bytes_per_row(url, folder)
    probes, per_day = 200, 86_400 // 30
    raw_rows = probes * per_day * 7
    rollup_rows = probes * (400 * 24 + 400)
    total = raw_rows * per_check + rollup_rows * per_rollup
    return {"bytes_per_check": round(per_check, 1), "bytes_per_rollup": round(per_rollup, 1),
            "raw_checks_kept": raw_rows, "rollup_rows_kept": rollup_rows,
            "raw_mb": round(raw_rows * per_check / 1e6, 1), "rollups_mb": round(rollup_rows * per_rollup / 1e6, 1),
            "total_mb_after_one_year": round(total / 1e6, 1),
            "without_rollups_mb": round(probes * per_day * 365 * per_check / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--duration", type=int, default=300, help="seconds of schedule to measure (default 300)")
    parser.add_argument("--threads", type=int, default=32, help="STATUSPAGE_WORKER_THREADS for the worker")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--skip-run", action="store_true", help="only the storage projection")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-probes-") as name:
        folder = Path(name)
        if not args.skip_run:
            print(json.dumps({"run": run(args, folder)}, indent=2), flush=True)
        print(json.dumps({"storage": projection(args.database_url or "sqlite", folder)}, indent=2))


if __name__ == "__main__":
    main()
