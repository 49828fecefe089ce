"""The documented gunicorn setup: `gunicorn -c python:statuspage.edge.gunicorn_conf app:app`.

Threaded workers, so a few idle or slow connections cannot hold every worker (with plain
sync workers two idle TCP connections held requests for 39 s); the access log without API
keys. Override any of these on the command line (`--bind`, `--workers`, ...).
"""

from __future__ import annotations

import os

bind = os.environ.get("STATUSPAGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("STATUSPAGE_WEB_WORKERS", "2"))
threads = int(os.environ.get("STATUSPAGE_WEB_THREADS", "8"))
worker_class = "gthread"
timeout = 30
keepalive = 5
# STATUSPAGE_WEB_ACCESS_LOG=off when the proxy in front already logs (the line costs 5-20 us of CPU a
# request under gunicorn, against about 150 us for a cached answer: docs/benchmarks.md, third round).
accesslog = None if os.environ.get("STATUSPAGE_WEB_ACCESS_LOG", "on").lower() in ("off", "false", "0") else "-"
logger_class = "statuspage.edge.access_log.RedactingLogger"
# No control socket: gunicorn's default path ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl) is one per user, so
# two instances (web nodes, staging beside production) would share it; signals do the same work (HUP, TTIN, TTOU).
control_socket_disable = True
