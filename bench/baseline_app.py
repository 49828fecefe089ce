"""The benchmark's yardstick: the smallest Flask app, answering fixed bytes.

Served by gunicorn with the same settings as ours, it measures what the
machine, gunicorn and Flask cost before any of our code runs. `/` is one
short string (the yardstick of the issue 2 and 3 runs); `/page` a fixed HTML
page of about 30 KB, the size of a typical status page, which is the
yardstick issue 12 names ("a minimal Flask app returning 30 KB"). `raw`
answers that page with no Flask at all: the floor of any Python app on the
same server settings; `replay` answers a reply captured from our app (status,
headers and body, from a JSON file named by BASELINE_REPLAY) the same way: what
the server costs to send exactly our reply, with none of our code loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask

app = Flask(__name__)

ROW = ('<li class="component"><span class="name">Service {n:03d}</span> '
       '<span class="status status-operational">Operational</span></li>\n')
PAGE = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Status</title></head><body>\n"
        "<h1>All Systems Operational</h1>\n<ul>\n" + "".join(ROW.format(n=n) for n in range(240))
        + "</ul>\n</body></html>\n").encode()


@app.get("/")
def index() -> str:
    return "All Systems Operational"


@app.get("/page")
def page() -> tuple[bytes, dict[str, str]]:
    return PAGE, {"Content-Type": "text/html; charset=utf-8"}


def raw(environ, start_response):
    """The same 30 KB page as a bare WSGI callable, no framework: what the server alone costs."""
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))])
    return [PAGE]


# With BASELINE_BYTES=N, `/bytes` answers a fixed body of N bytes: the same app and
# server with a response as large as one of ours tells what its size alone costs.
SIZE = int(os.environ.get("BASELINE_BYTES", "0"))
if SIZE > 0:
    BODY = b"x" * SIZE

    @app.get("/bytes")
    def sized() -> bytes:
        return BODY


# With BASELINE_REPLAY=path, `replay` answers the reply in that file: {"status", "headers", "body_file"}.
REPLAY = json.loads(Path(os.environ["BASELINE_REPLAY"]).read_text()) if os.environ.get("BASELINE_REPLAY") else None
if REPLAY is not None:
    REPLAY_HEADERS = [(name, value) for name, value in REPLAY["headers"]]
    REPLAY_BODY = Path(REPLAY["body_file"]).read_bytes()


def replay(environ, start_response):
    """The captured reply as a bare WSGI callable."""
    start_response(REPLAY["status"], REPLAY_HEADERS)
    return [REPLAY_BODY]
