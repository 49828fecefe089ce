"""Helpers shared by benchmark scripts: loopback servers, the load tool, small statistics.

Benchmarks run on shared machines, so every helper is bounded in time,
talks to 127.0.0.1 only, and leaves no process behind.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago (prefer `listening_socket`: no race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket bound to a free loopback port and listening.

    Handing this socket to the server (rather than a port number picked
    now and bound later) leaves no gap for another process on a shared
    machine to take the port in between.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(2048)
    return sock


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks still stop our servers."""

    def _handler(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _handler)


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> HttpResult:
    """One GET; HTTP errors (304 included) come back as results, not exceptions."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResult(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return HttpResult(exc.code, dict(exc.headers), exc.read())


class Gunicorn:
    """A gunicorn master in its own process group, so stopping it stops its workers too."""

    def __init__(self, name: str, app_spec: str, chdir: Path, args: Sequence[str],
                 env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.socket: socket.socket | None = listening_socket()
        self.port = self.socket.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = log_path
        self.command = [
            sys.executable, "-m", "gunicorn", *args,
            "--bind", f"fd://{self.socket.fileno()}",
            "--chdir", str(chdir),
            "--log-level", "warning",
            "--error-logfile", str(log_path),
            app_spec,
        ]
        # GUNICORN_CMD_ARGS would change one server's settings behind our back.
        self.env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"} | env
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str = "/", timeout: float = 30) -> None:
        """Start and wait until `ready_path` answers; raises if it never does."""
        assert self.socket is not None, "a Gunicorn is started once"
        try:
            self.process = subprocess.Popen(
                self.command, env=self.env, start_new_session=True, pass_fds=(self.socket.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        finally:
            self.close_socket()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: gunicorn exited ({self.process.returncode}); "
                                   f"see {self.log_path}:\n{self.log_tail()}")
            try:
                if http_get(self.url + ready_path, timeout=2).status < 500:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the master and its workers (Linux /proc), else None.

        Unlike requests per second, CPU per request hardly moves when other
        work shares the machine, so it is the steadier figure for comparing apps.
        """
        if self.process is None or not Path("/proc/self/stat").exists():
            return None
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended while we looked
            pid, ppid = int(stat.parent.name), int(fields[1])
            if self.process.pid in (pid, ppid):
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def close_socket(self) -> None:
        sock, self.socket = self.socket, None
        if sock is not None:
            sock.close()

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after `timeout`."""
        self.close_socket()
        process, self.process = self.process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        # The master may be gone while a worker lingers; the group id still names it.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def ensure_wrk() -> str:
    """The path of `wrk`, installing the Debian package when we are root; exits otherwise."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing; installing it: apt-get install -y wrk", flush=True)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, env=env, timeout=300).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, timeout=300, check=False)
            subprocess.run(install, env=env, timeout=300, check=False)
        path = shutil.which("wrk")
        if path:
            return path
    print("This benchmark needs the load tool wrk. Install it with:\n"
          "    sudo apt-get install wrk      (Debian/Ubuntu)\n"
          "    brew install wrk              (macOS)", file=sys.stderr)
    sys.exit(2)


@dataclass
class WrkResult:
    requests_per_second: float
    requests: int
    non_2xx_3xx: int
    socket_errors: int
    latency_ms: float
    bytes_read: float

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + self.socket_errors


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


_UNITS_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def run_wrk(wrk: str, url: str, threads: int, connections: int, duration: int,
            headers: Sequence[str] = ()) -> WrkResult:
    """One wrk run against a loopback URL, parsed; bounded by a timeout past `duration`."""
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"refusing to load anything but loopback: {url}")
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s"]
    for header in headers:
        command += ["-H", header]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read", out)
    if not rps or not total:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\b", out)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        # gunicorn's sync workers close every connection; wrk may count those as
        # read errors, so only connect, write and timeout errors are real failures.
        socket_errors=(int(sock.group(1)) + int(sock.group(3)) + int(sock.group(4))) if sock else 0,
        latency_ms=float(latency.group(1)) * _UNITS_MS[latency.group(2)] if latency else 0.0,
        bytes_read=float(total.group(2)) * _UNITS_BYTES[total.group(3)],
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile by linear interpolation (0.5 is the median)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
