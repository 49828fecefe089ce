"""The documented gunicorn setup: its access log never holds an API key sent as ?api_key=, and idle
connections cannot hold it."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import requests

from statuspage.config import ROOT
from statuspage.edge.access_log import redact
from tests.conftest import free_port


def test_redact_replaces_every_api_key_value():
    assert redact('"GET /api/v1/pages/x/components?api_key=sp_abc&limit=5 HTTP/1.1"') == \
        '"GET /api/v1/pages/x/components?api_key=[redacted]&limit=5 HTTP/1.1"'
    assert redact("limit=5&API_KEY=sp_abc") == "limit=5&API_KEY=[redacted]"
    assert redact("/history?component=abc") == "/history?component=abc"


@contextlib.contextmanager
def gunicorn(settings, instance: Path, *options: str) -> Iterator[str]:
    """The app under a real gunicorn with the documented setup (one worker); yields its origin once it answers."""
    port = free_port()
    environment = {"STATUSPAGE_DATABASE_URL": settings.database_url, "STATUSPAGE_INSTANCE_DIR": str(instance),
                   "STATUSPAGE_SECRET_KEY": "test-secret-key-not-for-production", "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:statuspage.edge.gunicorn_conf", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", *options, "app:app"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(origin + "/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield origin
    finally:
        server.terminate()
        server.wait(10)


def test_gunicorn_logs_the_request_without_the_key(settings, tmp_path):
    log = tmp_path / "access.log"
    with gunicorn(settings, tmp_path, "--access-logfile", str(log)) as origin:
        requests.get(origin + "/api/v2/status.json?api_key=sp_do_not_log_me", timeout=5)
        deadline = time.monotonic() + 10
        while "status.json" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "nothing was logged"
            time.sleep(0.05)

    written = log.read_text()
    assert "api_key=[redacted]" in written and "sp_do_not_log_me" not in written


def test_idle_connections_cannot_hold_the_documented_setup(settings, tmp_path):
    with gunicorn(settings, tmp_path) as origin:
        address = urlsplit(origin)
        idle = [socket.create_connection((address.hostname, address.port)) for _ in range(4)]  # open, say nothing
        try:
            started = time.monotonic()
            answer = requests.get(origin + "/", timeout=10)
            assert answer.status_code == 200 and time.monotonic() - started < 2
        finally:
            for connection in idle:
                connection.close()
