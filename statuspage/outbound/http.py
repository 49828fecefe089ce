"""HTTP requests with every redirect hop guarded, a response-size cap and one deadline (probes, webhooks, chat)."""

from __future__ import annotations

import re
import socket
import ssl
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InsecureRequestWarning

from statuspage.outbound.deadline import Call, begin, current_call, end, open_socket
from statuspage.outbound.guard import OutboundError, Policy

# A probe with verify_tls off is a responder's explicit choice, recorded on the probe; no warning per check.
warnings.filterwarnings("ignore", category=InsecureRequestWarning)
REDIRECT_CODES = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024
USER_AGENT = "statuspage-probe/1.0"


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return open_socket(current_call(), self._dns_host, self.port, self.timeout)


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return open_socket(current_call(), self._dns_host, self.port, self.timeout)

    def connect(self) -> None:
        super().connect()
        if not isinstance(self.sock, ssl.SSLSocket):
            return
        call = current_call()
        if self.is_verified:
            call.peer_cert = self.sock.getpeercert()
        else:  # ssl decodes only verified certificates; the caller may still read the raw one's expiry
            call.peer_cert_der = self.sock.getpeercert(binary_form=True)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = DEFAULT_POOLBLOCK, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}



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
    peer_cert: Mapping[str, object] | None = None
    peer_cert_der: bytes | None = None


_TLS_REASON = re.compile(r"certificate verify failed: ([^(]+?)\s*\(")


def _failure(exc: BaseException, call: Call, timeout: float) -> OutboundError:
    """A clear reason for what went wrong, from requests' nested exceptions."""
    ours = _own_error(exc)
    if ours is not None:
        return ours
    if call.expired or isinstance(exc, requests.Timeout):
        return OutboundError(f"timed out after {timeout:g} s")
    if isinstance(exc, requests.exceptions.SSLError):
        return OutboundError(f"TLS error: {_tls_reason(str(exc))}")
    return _connection_failure(exc)


def _own_error(exc: BaseException) -> OutboundError | None:
    """Our own OutboundError (the address guard's, say), when it is `exc` or in the chain it was raised from."""
    link: BaseException | None = exc
    while link is not None:
        if isinstance(link, OutboundError):
            return link
        link = link.__context__
    return None


def _tls_reason(text: str) -> str:
    """Why a TLS handshake failed, in a few words from the error's text."""
    match = _TLS_REASON.search(text)
    if match:
        return match.group(1)
    for words in ("wrong version number", "handshake failure", "unexpected eof", "alert"):
        if words in text.lower():
            return words
    return "the handshake failed"


# Words in a failed request's text (lower-cased), and the reason they mean; the first match wins.
_CONNECTION_REASONS = (
    (("name or service not known", "nameresolutionerror"), "DNS lookup failed"),
    (("connection refused",), "connection refused"),
    (("connection reset",), "connection reset by peer"),
    (("remotedisconnected", "closed connection without response"),
     "the server closed the connection without a response"),
)


def _connection_failure(exc: BaseException) -> OutboundError:
    """The reason for a request that failed other than by timing out or in TLS."""
    lowered = str(exc).lower()
    for words, reason in _CONNECTION_REASONS:
        if any(word in lowered for word in words):
            return OutboundError(reason)
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
    call = Call(policy=policy, deadline=time.monotonic() + timeout)
    send_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    redirects: list[str] = []
    started = time.perf_counter()
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment: the guard must see the real target
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    begin(call)
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
        session.close()
        end(call)
