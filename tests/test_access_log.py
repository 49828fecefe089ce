"""The documented gunicorn setup: its access log never holds an API key sent as ?api_key=, and idle
connections cannot hold it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import requests

from statuspage.config import ROOT
from statuspage.edge.access_log import redact
from tests.conftest import free_port


def test_redact_replaces_every_api_key_value():
    assert redact('"GET /api/v1/pages/x/components?api_key=sp_abc&limit=5 HTTP/1.1"') == \
        '"GET /api/v1/pages/x/components?api_key=[redacted]&limit=5 HTTP/1.1"'
    assert redact("limit=5&API_KEY=sp_abc") == "limit=5&API_KEY=[redacted]"
    assert redact("/history?component=abc") == "/history?component=abc"


def test_gunicorn_logs_the_request_without_the_key(settings, tmp_path):
    port, log = free_port(), tmp_path / "access.log"
    environment = {"STATUSPAGE_DATABASE_URL": settings.database_url, "STATUSPAGE_INSTANCE_DIR": str(tmp_path),
                   "STATUSPAGE_SECRET_KEY": "test-secret-key-not-for-production", "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:statuspage.edge.gunicorn_conf", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--access-logfile", str(log), "app:app"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/api/v2/status.json?api_key=sp_do_not_log_me", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        deadline = time.monotonic() + 10
        while "status.json" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "nothing was logged"
            time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(10)

    written = log.read_text()
    assert "api_key=[redacted]" in written and "sp_do_not_log_me" not in written


def test_idle_connections_cannot_hold_the_documented_setup(settings, tmp_path):
    port = free_port()
    environment = {"STATUSPAGE_DATABASE_URL": settings.database_url, "STATUSPAGE_INSTANCE_DIR": str(tmp_path),
                   "STATUSPAGE_SECRET_KEY": "test-secret-key-not-for-production", "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:statuspage.edge.gunicorn_conf", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "app:app"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    idle: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]  # open, say nothing

        started = time.monotonic()
        answer = requests.get(f"http://127.0.0.1:{port}/", timeout=10)

        assert answer.status_code == 200 and time.monotonic() - started < 2
    finally:
        for connection in idle:
            connection.close()
        server.terminate()
        server.wait(10)
