"""One deadline for a whole outbound call, however many connections, redirects and reads it takes.

Socket timeouts bound each read, not a server that drips a byte a second; a watchdog thread shuts the
sockets of calls past their deadline. Connections are opened only inside a call (`begin`/`end`), to
an address the guard allowed.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from statuspage.outbound.guard import OutboundError, Policy, guarded_addresses


@dataclass
class Call:
    """The state of one outbound call: its policy, deadline and the sockets it opened."""

    policy: Policy
    deadline: float
    sockets: list[socket.socket] = field(default_factory=list)
    expired: bool = False
    done: bool = False
    peer_cert: Mapping[str, object] | None = None
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
        self._heap: list[tuple[float, int, Call]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, call: Call) -> None:
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


def begin(call: Call) -> None:
    """Make `call` the current thread's call and start watching its deadline."""
    _local.call = call
    _watchdog.watch(call)


def end(call: Call) -> None:
    """The call is over: forget it and close what it opened."""
    _local.call = None
    call.finish()


def current_call() -> Call:
    """The call this thread is making; connections outside one are refused."""
    call: Call | None = getattr(_local, "call", None)
    if call is None:
        raise OutboundError("outbound connections must go through statuspage.outbound", permanent=True)
    return call


def open_socket(call: Call, host: str, port: int, timeout: Any) -> socket.socket:
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
