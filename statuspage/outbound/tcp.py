"""A TCP connect to a guarded address within a deadline (the tcp probe)."""

from __future__ import annotations

import socket
import time

from statuspage.outbound.guard import OutboundError, Policy, guarded_addresses


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
