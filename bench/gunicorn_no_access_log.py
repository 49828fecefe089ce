"""The production gunicorn settings without the access log: a control for what the log costs per request.

`gunicorn -c python:gunicorn_no_access_log` (with bench/ and the checkout on PYTHONPATH).
"""

from __future__ import annotations

from statuspage.edge.gunicorn_conf import bind, keepalive, logger_class, threads, timeout, worker_class, workers

__all__ = ["bind", "keepalive", "logger_class", "threads", "timeout", "worker_class", "workers"]
accesslog = None
