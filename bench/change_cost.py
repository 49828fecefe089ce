"""What one visible change costs the web processes: renders counted and CPU time measured.

Used by `bench/public_page.py`. Gunicorn serves `bench/counted_app.py` (the production app that logs
each render and each read of a render another process stored, and names the worker that answered)
with the production settings. A change is a component's status toggled through
`catalog.update_component` in the benchmark process, which bumps the page version as any visible change does.

Quiet: after the change, wait out the version-check interval with no traffic, then request each path
one at a time (new connection each) until every worker has answered every path with the new version.
The CPU time of all gunicorn processes over that window, minus a control window measured the same way
without a change just before, is the cost of the change. Sequential requests are the kindest case:
the second worker finds the first one's render in the database.

Under load: wrk keeps the paths busy from every side while the change lands, as when everyone refreshes
during an outage. CPU cannot be told apart from the hits there, so this counts renders and sums the
CPU time the renders took (measured in the worker threads).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import Gunicorn, http_get, median, parse_wrk, wrk_command


@dataclass
class Change:
    """One change: the page version it made and what serving it cost."""

    page_version: int
    seconds: float  # from the change until every worker answered every path with it
    renders: dict[str, int]  # by path
    render_cpu_ms: float  # CPU time of the renders (their threads), all paths and workers
    render_wall_ms: float  # the longest render, wall time (under load, threads and processes share the cores)
    shared_reads: int  # misses answered from another process's render
    cpu_ms: float | None = None  # quiet only: all gunicorn processes, minus the control window
    control_ms: float | None = None
    requests: int = 0  # under load: requests wrk completed while the change landed
    per_worker: dict[int, int] = field(default_factory=dict)  # renders by worker pid
    warm_up: bool = False  # until every worker has rendered every path once; left out of the medians


class RenderLog:
    """The lines `counted_app` writes, by page version."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self, page_version: int) -> list[dict]:
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        found = [json.loads(line) for line in lines if line]
        return [entry for entry in found if entry["version"].split("-", 1)[0] == str(page_version)]


class Changer:
    """Makes visible changes through the domain, as a responder would: one component's status toggled."""

    def __init__(self, database_url: str) -> None:
        from sqlalchemy import select

        from statuspage.audit import Actor
        from statuspage.db import Database
        from statuspage.models import Component

        self.database = Database()
        self.database.configure(database_url)
        self.actor = Actor.system("bench", "benchmark responder")
        with self.database.session() as session:  # the first component on the page
            self.code = session.scalars(select(Component.code).order_by(Component.group_id, Component.position)
                                        .limit(1)).one()

    def version(self) -> int:
        from statuspage.page import record

        with self.database.session() as session:
            return record.current_version(session)

    def change(self) -> int:
        """Toggle the component between operational and degraded; returns the new page version."""
        from statuspage.components import catalog
        from statuspage.models import ComponentStatus

        with self.database.transaction() as session:
            component = catalog.get_component(session, self.code)
            status = (ComponentStatus.DEGRADED_PERFORMANCE if component.status == ComponentStatus.OPERATIONAL
                      else ComponentStatus.OPERATIONAL)
            catalog.update_component(session, self.actor, component, status=status.value, cause="benchmark")
        return self.version()

    def close(self) -> None:
        if self.database.engine is not None:
            self.database.engine.dispose()


def serve_everywhere(server: Gunicorn, workers: list[int], paths: tuple[str, ...], page_version: int,
                     timeout: float = 60) -> int:
    """Request the paths one at a time until every worker has answered each with `page_version`; returns
    how many requests it took."""
    pending = {(pid, path) for pid in workers for path in paths}
    requests = 0
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"after {requests} requests, still not served with version {page_version}: "
                               f"{sorted(pending)}")
        for path in paths:
            answer = http_get(server.url + path, timeout=timeout)
            requests += 1
            headers = {name.lower(): value for name, value in answer.headers.items()}
            if answer.status == 200 and headers.get("etag", "").startswith(f'"v{page_version}-'):
                pending.discard((int(headers["x-bench-pid"]), path))
    return requests


def _change(log: RenderLog, paths: tuple[str, ...], page_version: int, seconds: float) -> Change:
    entries = log.entries(page_version)
    renders = [e for e in entries if e["kind"] == "render"]
    per_worker: dict[int, int] = {}
    for entry in renders:
        per_worker[entry["pid"]] = per_worker.get(entry["pid"], 0) + 1
    return Change(
        page_version=page_version, seconds=seconds,
        renders={path: sum(1 for e in renders if e["key"] == f"{path}?") for path in paths},
        render_cpu_ms=sum(e["cpu_ms"] for e in renders),
        render_wall_ms=max((e["wall_ms"] for e in renders), default=0.0),
        shared_reads=sum(1 for e in entries if e["kind"] == "shared" and e["found"]),
        per_worker=per_worker,
    )


def quiet(server: Gunicorn, changer: Changer, log: RenderLog, paths: tuple[str, ...], changes: int,
          settle: float) -> list[Change]:
    """`changes` changes with no other traffic, each after a control window without one."""
    workers = server.worker_pids()
    serve_everywhere(server, workers, paths, changer.version())  # every worker holds the current version
    results = warm_up(server, workers, changer, log, paths, settle)
    for _ in range(changes):
        before = server.cpu_seconds()
        time.sleep(settle)
        serve_everywhere(server, workers, paths, changer.version())
        after = server.cpu_seconds()
        control = None if before is None or after is None else (after - before) * 1000
        started = time.monotonic()
        page_version = changer.change()
        time.sleep(settle)
        serve_everywhere(server, workers, paths, page_version)
        spent = server.cpu_seconds()
        change = _change(log, paths, page_version, time.monotonic() - started)
        if control is not None and spent is not None:
            change.control_ms = control
            change.cpu_ms = (spent - after) * 1000 - control
        results.append(change)
    return results


def warm_up(server: Gunicorn, workers: list[int], changer: Changer, log: RenderLog, paths: tuple[str, ...],
            settle: float, limit: int = 12) -> list[Change]:
    """Changes, not counted in the medians, until every worker has rendered every path once: a process's
    first render works out all 90 days of every component, later ones only what changed (uptime keeps
    past days in memory), which is what a site that has been up a while pays."""
    rendered: set[tuple[int, str]] = set()
    results = []
    while len(results) < limit and not {(pid, f"{path}?") for pid in workers for path in paths} <= rendered:
        page_version = changer.change()
        started = time.monotonic()
        time.sleep(settle)
        serve_everywhere(server, workers, paths, page_version)
        change = _change(log, paths, page_version, time.monotonic() - started)
        change.warm_up = True
        rendered |= {(e["pid"], e["key"]) for e in log.entries(page_version) if e["kind"] == "render"}
        results.append(change)
    return results


def under_load(wrk: str, server: Gunicorn, changer: Changer, log: RenderLog, paths: tuple[str, ...],
               changes: int, connections: int, duration: float = 10, lead: float = 2) -> list[Change]:
    """`changes` changes, each landing `lead` seconds into `duration` seconds of wrk on every path
    (brotli and gzip accepted, as browsers do)."""
    workers = server.worker_pids()
    results = []
    for _ in range(changes):
        runs = [subprocess.Popen(wrk_command(wrk, server.url + path, 1, max(1, connections // len(paths)),
                                             duration, ["Accept-Encoding: gzip, br"]),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for path in paths]
        try:
            time.sleep(lead)
            started = time.monotonic()
            page_version = changer.change()
            outputs = [run.communicate(timeout=duration + 30)[0] for run in runs]
        finally:
            for run in runs:
                if run.poll() is None:
                    run.kill()
                    run.wait()
        serve_everywhere(server, workers, paths, page_version)
        change = _change(log, paths, page_version, time.monotonic() - started)
        loads = [parse_wrk(out) for out in outputs]
        if any(load.errors for load in loads):
            raise RuntimeError(f"errors under load: {loads}")
        change.requests = sum(load.requests for load in loads)
        results.append(change)
    return results


def print_changes(title: str, changes: list[Change], paths: tuple[str, ...]) -> None:
    """One line per change, then the medians."""
    print(f"\n{title}")
    print(f"  {'version':>7} {'renders ' + ' / '.join(paths):>34} {'render cpu':>10} {'longest':>8} "
          f"{'shared':>6} {'cpu ms':>8} {'control':>8} {'seconds':>7}")
    for change in changes:
        if change.warm_up:
            print(f"  {change.page_version:>7} {'warm-up: ' + ' / '.join(str(change.renders[p]) for p in paths):>34} "
                  f"{change.render_cpu_ms:10.0f} {change.render_wall_ms:8.0f} {change.shared_reads:>6}")
            continue
        counts = " / ".join(str(change.renders[path]) for path in paths)
        quiet = change.cpu_ms is not None and change.control_ms is not None
        figures = f"{change.cpu_ms:8.0f} {change.control_ms:8.0f} {change.seconds:7.2f}" if quiet else ""
        print(f"  {change.page_version:>7} {counts:>34} {change.render_cpu_ms:10.0f} {change.render_wall_ms:8.0f} "
              f"{change.shared_reads:>6} {figures}")
    print("  render cpu = CPU time of the renders (all paths, all workers); longest = the longest render's wall\n"
          "  time; shared = misses answered from the render another worker stored; cpu ms = every gunicorn\n"
          "  process from the change until both workers served it, minus the control window without a change;\n"
          "  seconds = from the change until both workers served it (1.2 s of it waiting out the version check)")
    if any(change.warm_up for change in changes):
        print("  warm-up = changes until every worker had rendered every path once (a process's first render\n"
              "  counts all 90 days; later ones reuse the past days), not in the medians")
    changes = [change for change in changes if not change.warm_up]
    if any(change.cpu_ms is not None for change in changes):
        print(f"  median CPU per change, all gunicorn processes: "
              f"{median([c.cpu_ms for c in changes if c.cpu_ms is not None]):.0f} ms")
    print(f"  median render CPU per change: {median([c.render_cpu_ms for c in changes]):.0f} ms; "
          f"renders per change: " + ", ".join(f"{path} max {max(c.renders[path] for c in changes)}"
                                              for path in paths))
