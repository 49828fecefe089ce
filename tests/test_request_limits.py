"""A body too large is 413 whether it declares its size or arrives in chunks, on real HTTP."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

LIMIT = 2 * 1024 * 1024


def post_chunked(origin: str, path: str, content_type: str, size: int, headers: str = "") -> str:
    """POST `size` bytes as chunks (no Content-Length); the status line of the answer."""
    address = urlsplit(origin)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
                           f"Transfer-Encoding: chunked\r\n{headers}\r\n".encode())
        chunk = b"x" * 65536
        try:
            for _ in range(size // len(chunk)):
                connection.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the end: read what it said
        answer = b""
        while b"\r\n" not in answer:
            data = connection.recv(4096)
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0].decode()


@pytest.mark.parametrize(("path", "content_type"), [
    ("/subscribe", "application/x-www-form-urlencoded"),
    ("/login", "application/x-www-form-urlencoded"),
])
def test_a_chunked_form_past_the_limit_is_413(live_server, path, content_type):
    assert " 413 " in post_chunked(live_server, path, content_type, 10 * 1024 * 1024)


def test_a_chunked_api_body_past_the_limit_is_413(live_server, api_token, page_code):
    key = api_token("admin")["Authorization"]
    status = post_chunked(live_server, f"/api/v1/pages/{page_code}/components", "application/json",
                          10 * 1024 * 1024, f"Authorization: {key}\r\n")
    assert " 413 " in status


def test_a_small_chunked_body_is_read_as_usual(live_server):
    status = post_chunked(live_server, "/subscribe", "application/x-www-form-urlencoded", 65536)
    assert " 422 " in status  # read, and refused for what it says (no email address), not for its size
