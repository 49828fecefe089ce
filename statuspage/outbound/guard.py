"""The one place that makes network calls for probes (and webhooks).

Every call here has a deadline, a response-size cap and the address guard:
link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10,
fd00:ec2::254, and names that resolve there) are refused unless the
operator allows them; private networks are allowed unless denied. The
guard runs on the address we actually connect to, for every redirect hop,
so a name that changes its answer between check and connect gains nothing.
Failures raise one typed error, `OutboundError`, whose message is fit to
show a responder as a check's reason.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import re
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InsecureRequestWarning

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA = (ipaddress.ip_address("fd00:ec2::254"),)
SHARED = ipaddress.ip_network("100.64.0.0/10")
# NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use) and IPv4-compatible ::a.b.c.d: the last 32 bits
# are an IPv4 address that a gateway may connect to.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
COMPATIBLE = ipaddress.ip_network("::/96")
# A probe with verify_tls off is a responder's explicit choice, recorded on the probe; no warning per check.
warnings.filterwarnings("ignore", category=InsecureRequestWarning)
REDIRECT_CODES = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024
USER_AGENT = "statuspage-probe/1.0"


class OutboundError(Exception):
    """A network call failed or was refused; `message` reads well as a check's reason."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # True when retrying cannot help (refused address, bad URL), as transports need to know.
        self.permanent = permanent


@dataclass(frozen=True)
class Policy:
    """What outbound calls may reach and how much they may read."""

    allow_link_local: bool = False
    deny_private: bool = False
    max_bytes: int = 1_048_576
    max_redirects: int = 5
    # A PEM bundle of the CAs to trust (internal services); None means the public ones.
    ca_bundle: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        """The policy the operator configured (STATUSPAGE_PROBE_*)."""
        return cls(
            allow_link_local=settings.probe_allow_link_local,
            deny_private=settings.probe_deny_private,
            max_bytes=settings.probe_max_bytes,
            ca_bundle=settings.probe_ca_bundle,
        )


# --- the address guard ---------------------------------------------------------------------------


def _unwrap(ip: IP) -> IP:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, IPv4-compatible), else `ip`.

    A NAT64 gateway turns 64:ff9b::a9fe:a9fe into 169.254.169.254, so the
    guard must judge the IPv4 address inside, not the IPv6 wrapper.
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in NAT64) or (ip in COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def refusal(ip: IP, policy: Policy) -> str | None:
    """Why connecting to `ip` is not allowed, or None when it is."""
    wrapped = ip
    ip = _unwrap(ip)
    if ip is not wrapped:
        reason = refusal(ip, policy)
        return f"{wrapped} carries {reason}" if reason else None
    if ip.is_multicast or (isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address(
            "255.255.255.255")):
        return f"{ip} is not a unicast address"
    if not policy.allow_link_local and (ip in METADATA or any(ip in net for net in LINK_LOCAL)):
        return (f"{ip} is a link-local or cloud-metadata address "
                "(an operator can allow it with STATUSPAGE_PROBE_ALLOW_LINK_LOCAL=true)")
    private = (ip.is_private or ip.is_loopback or ip.is_unspecified or ip.is_reserved
               or (isinstance(ip, ipaddress.IPv4Address) and ip in SHARED))
    if policy.deny_private and private:
        return f"{ip} is a private address (STATUSPAGE_PROBE_DENY_PRIVATE is set)"
    return None


def check_address(address: str, policy: Policy) -> None:
    """Raise OutboundError if the policy refuses this IP address."""
    reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]), policy)
    if reason:
        raise OutboundError(f"refused: {reason}", permanent=True)


def _literal_ip(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def literal_refusal(host: str, policy: Policy) -> str | None:
    """Why `host` is refused when it is an IP address the policy forbids; None for names (judged when
    resolved, at every connect) and allowed addresses."""
    literal = _literal_ip(host)
    return refusal(literal, policy) if literal is not None else None


def resolve(host: str, timeout: float, port: int | None = None) -> list[str]:
    """The addresses a name resolves to, within `timeout` seconds (no guard: DNS probes only look)."""
    literal = _literal_ip(host)
    if literal is not None:
        return [str(literal)]
    try:
        host.encode("idna")
    except UnicodeError:
        raise OutboundError(f"invalid host name {host!r}", permanent=True) from None
    box: dict[str, Any] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    # getaddrinfo cannot be interrupted; a helper thread lets us give up on time.
    thread = threading.Thread(target=lookup, name="outbound-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise OutboundError(f"DNS lookup for {host} timed out after {timeout:g} s")
    if "error" in box:
        error = box["error"]
        detail = error.strerror if isinstance(error, socket.gaierror) and error.strerror else str(error)
        raise OutboundError(f"DNS lookup for {host} failed: {detail}")
    addresses = list(dict.fromkeys(info[4][0] for info in box["infos"]))
    if not addresses:
        raise OutboundError(f"DNS lookup for {host} returned no addresses")
    return addresses


def guarded_addresses(host: str, port: int | None, policy: Policy, timeout: float) -> list[str]:
    """Resolve `host` and refuse it if any answer is forbidden (a name must not reach metadata at all)."""
    addresses = resolve(host, timeout, port)
    for address in addresses:
        try:
            check_address(address, policy)
        except OutboundError as exc:
            if _literal_ip(host) is None:
                raise OutboundError(f"refused: {host} resolves to {exc.message.removeprefix('refused: ')}",
                                    permanent=True) from None
            raise
    return addresses


# --- one deadline for a whole call -----------------------------------------------------------------


@dataclass
class _Call:
    """The state of one outbound call: its policy, deadline and the sockets it opened."""

    policy: Policy
    deadline: float
    sockets: list[socket.socket] = field(default_factory=list)
    expired: bool = False
    done: bool = False
    peer_cert: dict | None = None
    peer_cert_der: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.001)

    def finish(self) -> None:
        """Mark the call over and close what it opened; the watchdog then leaves it alone."""
        with self.lock:
            self.done = True
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass

    def add(self, sock: socket.socket) -> None:
        with self.lock:
            if self.expired:
                sock.close()
                raise OutboundError("timed out")
            self.sockets.append(sock)

    def expire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.expired = True
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Watchdog:
    """One thread that cuts the sockets of calls past their deadline.

    Socket timeouts bound each read, not a server that drips one byte a
    second; shutting the socket down wakes the blocked reader at once.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Call]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        with self._wake:
            heapq.heappush(self._heap, (call.deadline, next(self._counter), call))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbound-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                deadline, _n, call = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
            call.expire()


_watchdog = _Watchdog()
_local = threading.local()


def _current_call() -> _Call:
    call = getattr(_local, "call", None)
    if call is None:
        raise OutboundError("outbound connections must go through statuspage.outbound", permanent=True)
    return call


def _open_socket(call: _Call, host: str, port: int, timeout: Any) -> socket.socket:
    """Connect to the first allowed address of `host`, checked here and not re-resolved later."""
    limit = call.remaining()
    if isinstance(timeout, int | float) and timeout > 0:
        limit = min(limit, timeout)
    addresses = guarded_addresses(host, port, call.policy, limit)
    last: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=min(call.remaining(), limit))
        except OSError as exc:
            last = exc
            continue
        call.add(sock)
        return sock
    assert last is not None
    raise last


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _open_socket(_current_call(), self._dns_host, self.port, self.timeout)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _open_socket(_current_call(), self._dns_host, self.port, self.timeout)

    def connect(self) -> None:
        super().connect()
        if not isinstance(self.sock, ssl.SSLSocket):
            return
        call = _current_call()
        if self.is_verified:
            call.peer_cert = self.sock.getpeercert()
        else:  # ssl decodes only verified certificates; the caller may still read the raw one's expiry
            call.peer_cert_der = self.sock.getpeercert(binary_form=True)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    """What an HTTP call returned, read in full (up to the size cap)."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    redirects: list[str]
    elapsed_ms: float
    # The final hop's certificate as `ssl.getpeercert()` gives it when TLS was verified; when it was not,
    # the certificate itself (DER), as ssl decodes only verified ones.
    peer_cert: dict | None = None
    peer_cert_der: bytes | None = None


_TLS_REASON = re.compile(r"certificate verify failed: ([^(]+?)\s*\(")


def _failure(exc: BaseException, call: _Call, timeout: float) -> OutboundError:
    """A clear reason for what went wrong, from requests' nested exceptions."""
    if isinstance(exc, OutboundError):
        return exc
    text = str(exc)
    context = exc.__context__
    while context is not None:
        if isinstance(context, OutboundError):
            return context
        context = context.__context__
    if call.expired or isinstance(exc, requests.Timeout):
        return OutboundError(f"timed out after {timeout:g} s")
    if isinstance(exc, requests.exceptions.SSLError):
        match = _TLS_REASON.search(text)
        if match:
            return OutboundError(f"TLS error: {match.group(1)}")
        for words in ("wrong version number", "handshake failure", "unexpected eof", "alert"):
            if words in text.lower():
                return OutboundError(f"TLS error: {words}")
        return OutboundError("TLS error: the handshake failed")
    lowered = text.lower()
    if "name or service not known" in lowered or "nameresolutionerror" in lowered:
        return OutboundError("DNS lookup failed")
    if "connection refused" in lowered:
        return OutboundError("connection refused")
    if "connection reset" in lowered:
        return OutboundError("connection reset by peer")
    if "remotedisconnected" in lowered or "closed connection without response" in lowered:
        return OutboundError("the server closed the connection without a response")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return OutboundError("the connection broke while reading the response")
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema
                  | requests.exceptions.InvalidSchema | UnicodeError | ValueError):
        return OutboundError("invalid URL", permanent=True)
    if isinstance(exc, requests.ConnectionError):
        return OutboundError("connection failed")
    return OutboundError(f"request failed ({type(exc).__name__})")


def check_http_url(url: str) -> None:
    """Raise OutboundError unless `url` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError when out of range)
    except ValueError:
        raise OutboundError(f"invalid URL {url[:200]!r}", permanent=True) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError(f"only http and https URLs can be fetched, not {url[:200]!r}", permanent=True)


def _read_capped(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise OutboundError(f"response body larger than {max_bytes:,} bytes")
    chunks, total = [], 0
    for chunk in response.iter_content(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise OutboundError(f"response body larger than {max_bytes:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def http_request(
    method: str,
    url: str,
    *,
    policy: Policy,
    timeout: float,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    verify: bool = True,
    max_redirects: int | None = None,
) -> HttpResponse:
    """One HTTP request with redirects followed by hand, every hop guarded, all within `timeout` s."""
    max_redirects = policy.max_redirects if max_redirects is None else max_redirects
    call = _Call(policy=policy, deadline=time.monotonic() + timeout)
    send_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    redirects: list[str] = []
    started = time.perf_counter()
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: the guard must see the real target
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    _local.call = call
    _watchdog.watch(call)
    try:
        while True:
            check_http_url(url)
            response = session.request(method, url, headers=send_headers, data=data, stream=True,
                                       allow_redirects=False,
                                       verify=(policy.ca_bundle or True) if verify else False,
                                       timeout=(call.remaining(), call.remaining()))
            location = response.headers.get("Location")
            if response.status_code in REDIRECT_CODES and location:
                response.close()
                if len(redirects) >= max_redirects:
                    raise OutboundError(f"too many redirects (more than {max_redirects})")
                next_url = urljoin(url, location)
                if urlsplit(next_url).hostname != urlsplit(url).hostname:
                    send_headers = {k: v for k, v in send_headers.items()
                                    if k.lower() not in ("authorization", "cookie")}
                if response.status_code == 303 or (response.status_code in (301, 302)
                                                   and method.upper() not in ("GET", "HEAD")):
                    method, data = "GET", None
                redirects.append(next_url)
                url = next_url
                continue
            try:
                body = b"" if method.upper() == "HEAD" else _read_capped(response, policy.max_bytes)
            finally:
                response.close()
            return HttpResponse(
                status=response.status_code,
                headers=dict(response.headers),
                body=body,
                url=url,
                redirects=redirects,
                elapsed_ms=(time.perf_counter() - started) * 1000,
                peer_cert=call.peer_cert,
                peer_cert_der=call.peer_cert_der,
            )
    except Exception as exc:  # every failure becomes one clear reason
        raise _failure(exc, call, timeout) from exc
    finally:
        _local.call = None
        session.close()
        call.finish()


# --- TCP -----------------------------------------------------------------------------------------


def tcp_connect(host: str, port: int, *, policy: Policy, timeout: float) -> float:
    """Open (and close) a TCP connection; returns the connect time in milliseconds."""
    if not 1 <= port <= 65535:
        raise OutboundError(f"port {port} is out of range", permanent=True)
    deadline = time.monotonic() + timeout
    addresses = guarded_addresses(host, port, policy, timeout)
    last: OSError | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        started = time.perf_counter()
        try:
            with socket.create_connection((address, port), timeout=remaining):
                return (time.perf_counter() - started) * 1000
        except TimeoutError:
            raise OutboundError(f"timed out after {timeout:g} s") from None
        except ConnectionRefusedError as exc:
            last = exc
        except OSError as exc:
            last = exc
    if isinstance(last, ConnectionRefusedError):
        raise OutboundError("connection refused")
    if last is None:
        raise OutboundError(f"timed out after {timeout:g} s")
    raise OutboundError(f"connection failed: {last.strerror or last}")


# --- databases -----------------------------------------------------------------------------------

# The only URL parameters a network database probe may carry: none of them can change where it connects.
DATABASE_QUERY_KEYS = frozenset({"sslmode", "sslrootcert", "application_name", "connect_timeout"})
DATABASE_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}
NO_PASSFILE = "/dev/null/no-password-file"
_DB_REASONS = (
    (("too many connections", "too many clients", "remaining connection slots", "connection limit"),
     "too many connections: the server's connection limit is reached"),
    (("connection refused",), "connection refused"),
    (("statement timeout",), "the query timed out"),
    (("timeout expired", "timed out"), "timed out"),
    (("password authentication failed", "authentication failed", "access denied"), "authentication failed"),
    (("no password supplied",), "the server asks for a password: set password_env"),
    (("unable to open database file",), "cannot open the database file"),
    (("file is not a database", "database disk image is malformed"), "the file is not a SQLite database"),
    (("database is locked",), "the database is locked"),
)


def _database_reason(exc: Exception, timeout: float) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip()
    lowered = text.lower()
    for needles, reason in _DB_REASONS:
        if any(needle in lowered for needle in needles):
            return f"{reason} (after {timeout:g} s)" if reason == "timed out" else reason
    first_line = text.splitlines()[0] if text else type(original).__name__
    return f"database error: {first_line[:200]}"


def database_ping(url: Any, password: str | None, *, policy: Policy, timeout: float) -> tuple[float, float]:
    """Open a fresh connection and run one query; returns (connect ms, query ms).

    SQLite files open read-only (a probe must never create or change one),
    and the query reads the schema, so a file that is not a database fails.
    A network database is reached only at the guarded address: the host,
    address and port are forced through the driver's arguments, so no URL
    parameter (`?host=`, `?hostaddr=`, `?service=`) can send the connection
    elsewhere; only DATABASE_QUERY_KEYS may appear, and a URL without a
    host is judged as loopback. PostgreSQL gets connect and statement
    timeouts.
    """
    from pathlib import Path

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    query = "SELECT 1"
    if backend == "sqlite":
        path = url.database or ""
        if not path or path == ":memory:" or not Path(path).is_file():
            raise OutboundError(f"the database file {path or '(none)'} does not exist")
        url = url.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
        connect_args = {"timeout": timeout}
        query = "SELECT count(*) FROM sqlite_master"
    else:
        unknown = sorted(set(url.query) - DATABASE_QUERY_KEYS)
        if unknown:
            raise OutboundError(f"refused: the URL parameter {unknown[0]!r} is not allowed", permanent=True)
        host = url.host or "127.0.0.1"  # no host means a local socket: judged (and reached) as loopback
        port = url.port or DATABASE_PORTS.get(backend)
        if port is None:
            raise OutboundError(f"the database URL needs a port for {backend}", permanent=True)
        address = guarded_addresses(host, port, policy, timeout)[0]
        if backend == "postgresql":
            # The password is only ever the probe's own: never the worker's PGPASSWORD or ~/.pgpass
            # (a path that cannot exist turns the password file off without a warning).
            connect_args = {"host": host, "hostaddr": address, "port": port, "password": password or "",
                            "passfile": NO_PASSFILE,
                            "connect_timeout": max(2, int(timeout + 0.999)),
                            "options": f"-c statement_timeout={int(timeout * 1000)}"}
        else:
            url = url.set(host=address, port=port)
    if password is not None:
        url = url.set(password=password)
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (SQLAlchemyError, ImportError, ValueError, TypeError) as exc:
        raise OutboundError(f"cannot use this database URL: {type(exc).__name__}", permanent=True) from None
    try:
        started = time.perf_counter()
        with engine.connect() as connection:
            connected = time.perf_counter()
            connection.execute(text(query)).scalar_one()
            queried = time.perf_counter()
    except (SQLAlchemyError, OSError) as exc:
        raise OutboundError(_database_reason(exc, timeout)) from None
    finally:
        engine.dispose()
    return (connected - started) * 1000, (queried - connected) * 1000
