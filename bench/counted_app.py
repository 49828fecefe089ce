"""The production app (`app:app`), instrumented for `bench/change_cost.py`: it counts renders.

Gunicorn serves `counted_app:app` with the production settings. Each render of a public response
(`edge.public_cache._render`) and each read of one another process stored (`_shared`) appends a
JSON line to the file named by BENCH_RENDER_LOG: which worker, which version and URL, and the
thread's CPU time for it. Every response carries `X-Bench-Pid`, so the benchmark knows which
worker answered. Nothing else changes; the throughput rounds use the plain `app:app`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from app import app as production
from statuspage.edge import public_cache

LOG = os.environ["BENCH_RENDER_LOG"]


def _logged(kind: str, step: Callable) -> Callable:
    def logged(cache, version, key, *rest):
        cpu, wall = time.thread_time(), time.perf_counter()
        entry = step(cache, version, key, *rest)
        line = {"pid": os.getpid(), "kind": kind, "version": version, "key": key, "found": entry is not None,
                "cpu_ms": (time.thread_time() - cpu) * 1000, "wall_ms": (time.perf_counter() - wall) * 1000}
        with open(LOG, "a") as out:  # one short write in append mode: lines from workers never mix
            out.write(json.dumps(line) + "\n")
        return entry

    return logged


public_cache._render = _logged("render", public_cache._render)
public_cache._shared = _logged("shared", public_cache._shared)


def app(environ, start_response):
    """The production app, naming the worker that answered."""
    pid = str(os.getpid())

    def start(status, headers, exc_info=None):
        return start_response(status, [*headers, ("X-Bench-Pid", pid)], exc_info)

    return production(environ, start)
