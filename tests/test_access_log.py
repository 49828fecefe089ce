"""The documented gunicorn setup: its access log never holds an API key sent as ?api_key=, and idle
connections cannot hold it."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from gunicorn.config import Config
from gunicorn.glogging import SafeAtoms

from statuspage.config import ROOT
from statuspage.edge.access_log import COMBINED, RedactingLogger, combined_line, redact
from tests.conftest import free_port


def test_redact_replaces_every_api_key_value():
    assert redact('"GET /api/v1/pages/x/components?api_key=sp_abc&limit=5 HTTP/1.1"') == \
        '"GET /api/v1/pages/x/components?api_key=[redacted]&limit=5 HTTP/1.1"'
    assert redact("limit=5&API_KEY=sp_abc") == "limit=5&API_KEY=[redacted]"
    assert redact("/history?component=abc") == "/history?component=abc"


class Sent:
    """What gunicorn hands the logger about a response."""

    def __init__(self, status, sent):
        self.status, self.sent, self.headers = status, sent, [("Content-Type", "text/html")]


def request_environ(uri: str, **headers: str) -> dict:
    return {"REQUEST_METHOD": "GET", "RAW_URI": uri, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9",
            "PATH_INFO": uri.split("?")[0], "QUERY_STRING": uri.partition("?")[2], **headers}


@pytest.mark.parametrize(("response", "environ"), [
    (Sent("200 OK", 239_464), request_environ("/", HTTP_USER_AGENT="Mozilla/5.0 (X11)")),
    (Sent("304 Not Modified", 0), request_environ("/api/v2/summary.json?api_key=sp_secret&x=1",
                                                  HTTP_REFERER="https://ex.com/?api_key=sp_other")),
    (Sent(503, None), request_environ('/history?q="quoted"', HTTP_USER_AGENT='curl "8"')),
    (Sent("401 Unauthorized", 120), request_environ("/admin", HTTP_AUTHORIZATION="Basic dXNlciJzOnB3")),
])
def test_the_default_line_is_gunicorns_combined_format_redacted(response, environ):
    logger = RedactingLogger(Config())
    logger.now = lambda: "[06/Dec/2026:20:00:00 +0000]"
    expected = COMBINED % SafeAtoms(logger.atoms(response, [], environ, timedelta(microseconds=350)))
    assert combined_line(logger, response, environ) == expected
    assert "sp_secret" not in expected and "sp_other" not in expected


def test_a_custom_format_is_redacted_too(tmp_path):
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("access_log_format", "%(m)s %(q)s %({user-agent}i)s")
    logger = RedactingLogger(config)
    logger.access(Sent("200 OK", 10), [("USER-AGENT", "probe")], request_environ("/x?api_key=sp_secret"),
                  timedelta(microseconds=350))
    for handler in logger.access_log.handlers:
        handler.flush()
    assert (tmp_path / "access.log").read_text() == "GET api_key=[redacted] probe\n"


@contextlib.contextmanager
def gunicorn(settings, instance: Path, *options: str) -> Iterator[str]:
    """The app under a real gunicorn with the documented setup (one worker); yields its origin once it answers."""
    port = free_port()
    environment = {"STATUSPAGE_DATABASE_URL": settings.database_url, "STATUSPAGE_INSTANCE_DIR": str(instance),
                   "STATUSPAGE_SECRET_KEY": "test-secret-key-not-for-production", "PATH": "/usr/bin:/bin",
                   "HOME": str(instance)}
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


def test_the_documented_setup_leaves_no_control_socket_in_the_home_directory(settings, tmp_path):
    with gunicorn(settings, tmp_path) as origin:
        assert requests.get(origin + "/healthz", timeout=5).status_code == 200
        assert not (tmp_path / ".gunicorn").exists()


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
