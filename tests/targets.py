"""Real local targets for probe tests: HTTP(S) servers in threads, TCP listeners, certificates.

Loaded as a pytest plugin from conftest.py, so its fixtures (`http_target`,
`tls_certs`, `https_target`, `tcp_listener`) are available everywhere.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest


class _Handler(BaseHTTPRequestHandler):
    """Answers by path; see HttpTarget for the menu."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"ok", content_type: str = "text/plain",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.do_GET()

    def do_GET(self) -> None:
        target: HttpTarget = self.server.target  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        target.record(self.path, dict(self.headers))
        if path == "/ok":
            self._send(200, b"all good: ok")
        elif path.startswith("/status/"):
            self._send(int(path.rsplit("/", 1)[1]), b"status")
        elif path == "/json":
            body = {"status": "ok", "healthy": True, "checks": [{"name": "db", "state": "up"}]}
            self._send(200, json.dumps(body).encode(), "application/json")
        elif path.startswith("/slow/"):
            target.released.wait(int(path.rsplit("/", 1)[1]) / 1000)
            self._send(200, b"slow ok")
        elif path == "/hang":
            target.released.wait(30)
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                if target.released.wait(0.1):
                    return
                self.wfile.write(b"x")
                self.wfile.flush()
        elif path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()  # no Content-Length: the client must count
            try:
                for _ in range(400):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/reset":
            sock = self.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            self.close_connection = True
        elif path == "/loop":
            self._send(302, b"", headers={"Location": "/loop"})
        elif path.startswith("/hops/"):
            left = int(path.rsplit("/", 1)[1])
            self._send(302, b"", headers={"Location": f"/hops/{left - 1}" if left > 1 else "/ok"})
        elif path == "/to":
            self._send(int(query.get("code", "302")), b"", headers={"Location": query["url"]})
        elif path == "/echo-headers":
            self._send(200, json.dumps(dict(self.headers)).encode(), "application/json")
        else:
            self._send(404, b"not found")


class HttpTarget:
    """A real HTTP server on 127.0.0.1 answering by path.

    /ok 200 · /status/<code> · /json · /slow/<ms> · /hang (never answers)
    · /drip (one byte per 0.1 s) · /huge (26 MB, no length) · /reset (RST)
    · /loop (redirects to itself) · /hops/<n> (n redirects, then /ok)
    · /to?url=<u>&code=<c> (one redirect) · /echo-headers
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.hits: list[tuple[str, float, dict[str, str]]] = []
        self.released = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.target = self  # type: ignore[attr-defined]
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.hits.append((path, time.monotonic(), headers))

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for hit in self.hits if hit[0] == path)

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_target() -> Iterator[HttpTarget]:
    """A real HTTP server in a thread (see HttpTarget for its paths)."""
    target = HttpTarget()
    yield target
    target.stop()


# --- TLS -------------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory) -> dict[str, Path]:
    """A test CA and leaf certificates for 127.0.0.1: valid, expiring in 5 days, expired, self-signed."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    folder = tmp_path_factory.mktemp("tls")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
             "-subj", "/CN=statuspage test CA", cwd=folder)
    (folder / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost", cwd=folder)
    for name, days in (("valid", "60"), ("soon", "5"), ("expired", "-1")):
        _openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", days, "-extfile", "san.cnf", cwd=folder)
    _openssl("req", "-x509", *ec, "-keyout", "self.key", "-out", "self.pem", "-days", "30",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", cwd=folder)
    return {"ca": folder / "ca.pem", "key": folder / "leaf.key", "valid": folder / "valid.pem",
            "soon": folder / "soon.pem", "expired": folder / "expired.pem",
            "self": folder / "self.pem", "self_key": folder / "self.key"}


@pytest.fixture
def https_target(tls_certs):
    """Start HTTPS targets by certificate name: `https_target("expired")`."""
    started: list[HttpTarget] = []

    def start(name: str) -> HttpTarget:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        key = tls_certs["self_key"] if name == "self" else tls_certs["key"]
        context.load_cert_chain(tls_certs[name], key)
        target = HttpTarget(tls=context)
        started.append(target)
        return target

    yield start
    for target in started:
        target.stop()


# --- TCP -------------------------------------------------------------------------------------------


class TcpListener:
    """A real TCP listener that accepts and closes connections, counting them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(1)
        self.sock.close()


@pytest.fixture
def tcp_listener() -> Iterator[TcpListener]:
    listener = TcpListener()
    yield listener
    listener.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a fake PostgreSQL server ----------------------------------------------------------------------

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


class FakePostgres:
    """A real TCP server that speaks just enough of PostgreSQL's protocol to refuse a password.

    It declines TLS and GSS encryption ('N'), asks for a cleartext password
    (AuthenticationCleartextPassword: 'R', code 3), records the startup
    parameters and the password it is sent, and answers ErrorResponse with
    SQLSTATE 28P01 (invalid_password), as a real server does for a wrong
    password. So a test sees exactly what a probe sends, whatever the
    local server's own authentication rules are.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.startups: list[dict[str, str]] = []
        self.passwords: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, user: str = "app", database: str = "app") -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the client hung up")
            data += chunk
        return data

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with conn:
            try:
                while True:  # SSLRequest / GSSENCRequest come first: decline, then the real startup follows
                    length, code = struct.unpack("!II", self._read(conn, 8))
                    body = self._read(conn, length - 8)
                    if code not in (SSL_REQUEST, GSSENC_REQUEST):
                        break
                    conn.sendall(b"N")
                parts = body.rstrip(b"\0").split(b"\0")
                self.startups.append({k.decode(): v.decode() for k, v in zip(parts[::2], parts[1::2], strict=False)})
                conn.sendall(b"R" + struct.pack("!II", 8, 3))
                kind, length = struct.unpack("!cI", self._read(conn, 5))
                payload = self._read(conn, length - 4)
                if kind == b"p":
                    self.passwords.append(payload.rstrip(b"\0").decode())
                user = self.startups[-1].get("user", "")
                fields = (b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \""
                          + user.encode() + b"\"\0\0")
                conn.sendall(b"E" + struct.pack("!I", 4 + len(fields)) + fields)
            except (ConnectionError, OSError, struct.error):
                pass

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(1)
        self.sock.close()


@pytest.fixture
def fake_postgres() -> Iterator[FakePostgres]:
    """A fake PostgreSQL server that asks for a password and refuses it (see FakePostgres)."""
    server = FakePostgres()
    yield server
    server.stop()
