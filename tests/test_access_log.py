"""The documented gunicorn setup: its access log never holds an API key sent as ?api_key=, and idle
connections cannot hold it."""

from __future__ import annotations

import contextlib
import logging
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
from statuspage.edge.access_log import COMBINED, RedactingLogger, combined_line, plain_handlers, redact
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


def file_logger(path: Path) -> RedactingLogger:
    """The access logger as gunicorn sets it up for `--access-logfile path`."""
    config = Config()
    config.set("accesslog", str(path))
    logger = RedactingLogger(config)
    for handler in [h for h in logger.access_log.handlers if not getattr(h, "_gunicorn", False)]:
        logger.access_log.removeHandler(handler)  # pytest's log capture, which a gunicorn worker does not have
    return logger


def log_requests(logger: RedactingLogger, *uris: str) -> None:
    for uri in uris:
        logger.access(Sent("200 OK", 10), [], request_environ(uri), timedelta(microseconds=350))


def test_the_line_written_straight_to_the_file_is_the_line_logging_writes(tmp_path):
    logger = file_logger(tmp_path / "direct.log")
    logger.now = lambda: "[06/Dec/2026:20:00:00 +0000]"
    assert plain_handlers(logger.access_log) == logger.access_log.handlers  # no LogRecord on this path
    log_requests(logger, "/", "/x?api_key=sp_secret")
    direct = (tmp_path / "direct.log").read_text()

    logger = file_logger(tmp_path / "logging.log")
    logger.now = lambda: "[06/Dec/2026:20:00:00 +0000]"
    logger.access_log.addFilter(lambda record: True)  # a filter sends every line through logging
    assert plain_handlers(logger.access_log) is None
    log_requests(logger, "/", "/x?api_key=sp_secret")
    logger.access_log.filters.clear()

    assert direct == (tmp_path / "logging.log").read_text()
    assert direct.count("\n") == 2 and "api_key=[redacted]" in direct and "sp_secret" not in direct


def test_a_filter_or_handler_from_a_logging_configuration_still_gets_every_line(tmp_path):
    logger = file_logger(tmp_path / "access.log")
    logger.access_log.addFilter(lambda record: "/healthz" not in record.getMessage())
    extra = logging.FileHandler(tmp_path / "extra.log")
    try:
        log_requests(logger, "/healthz", "/")
        logger.access_log.filters.clear()
        logger.access_log.addHandler(extra)
        log_requests(logger, "/history")
    finally:
        logger.access_log.removeHandler(extra)
        extra.close()

    written = (tmp_path / "access.log").read_text()
    assert "/healthz" not in written and '"GET / HTTP/1.1"' in written and "/history" in written
    assert "/history" in (tmp_path / "extra.log").read_text()


def test_after_a_reopen_the_next_lines_go_to_the_new_file(tmp_path):
    """What logrotate does: move the file away, send USR1 (gunicorn reopens its log files)."""
    log = tmp_path / "access.log"
    logger = file_logger(log)
    log_requests(logger, "/before")
    log.rename(tmp_path / "access.log.1")
    logger.reopen_files()
    log_requests(logger, "/after")

    assert "/before" in (tmp_path / "access.log.1").read_text()
    assert "/after" in log.read_text() and "/before" not in log.read_text()



def test_a_closed_file_handler_opens_its_file_again_as_logging_would(tmp_path):
    """logging.shutdown closes file handlers while a worker exits; a late line is still written."""
    log = tmp_path / "access.log"
    logger = file_logger(log)
    log_requests(logger, "/before")
    [handler] = logger.access_log.handlers
    handler.close()
    log_requests(logger, "/late")
    handler.close()

    assert "/before" in log.read_text() and "/late" in log.read_text()

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
