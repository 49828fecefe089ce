"""The benchmark's yardstick: the smallest Flask app, one fixed string.

Served by gunicorn with the same settings as ours, it measures what the
machine, gunicorn and Flask cost before any of our code runs.
"""

from __future__ import annotations

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "All Systems Operational"


# With BASELINE_BYTES=N, `/bytes` answers a fixed body of N bytes: the same app and
# server with a response as large as one of ours tells what its size alone costs.
SIZE = int(os.environ.get("BASELINE_BYTES", "0"))
if SIZE > 0:
    BODY = b"x" * SIZE

    @app.get("/bytes")
    def sized() -> bytes:
        return BODY
