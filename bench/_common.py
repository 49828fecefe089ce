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


def group_cpu_seconds(leader: int) -> float | None:
    """CPU time used so far by process `leader` and its children (Linux /proc), else None."""
    if not Path("/proc/self/stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        pid, ppid = int(stat.parent.name), int(fields[1])
        if leader in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Server:
    """A server process in its own process group, so stopping it stops its workers too.

    Subclasses set `name`, `url`, `log_path` and `command`, and may hand a listening socket
    over (`self.socket`, passed to the child and closed here once it runs).
    """

    name: str
    url: str
    log_path: Path
    command: list[str]
    env: dict[str, str] | None = None
    socket: socket.socket | None = None
    process: subprocess.Popen | None = None

    def start(self, ready_path: str = "/", timeout: float = 30) -> None:
        """Start and wait until `ready_path` answers; raises if it never does."""
        assert self.process is None, f"{self.name} is started once"
        fds = (self.socket.fileno(),) if self.socket is not None else ()
        try:
            self.process = subprocess.Popen(
                self.command, env=self.env, start_new_session=True, pass_fds=fds,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        finally:
            self.close_socket()
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: exited ({self.process.returncode}); "
                                   f"see {self.log_path}:\n{self.log_tail()}")
            try:
                answer = http_get(self.url + ready_path, timeout=2)
                if answer.status < 500:
                    return
                last = f"{answer.status} {answer.body[:300]!r}"
            except (OSError, http.client.HTTPException) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: not ready after {timeout:.0f} s ({ready_path}: {last}):\n"
                           f"{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the master and its workers (Linux /proc), else None.

        Unlike requests per second, CPU per request hardly moves when other
        work shares the machine, so it is the steadier figure for comparing apps.
        """
        return None if self.process is None else group_cpu_seconds(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The pids of the master's children (Linux /proc)."""
        if self.process is None:
            return []
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        return sorted(found)

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


class Gunicorn(Server):
    """A gunicorn master and its workers, on a loopback socket handed over as `fd://N`."""

    def __init__(self, name: str, app_spec: str, chdir: Path, args: Sequence[str],
                 env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.socket = listening_socket()
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


# The main config around a server block: what a distribution's nginx.conf holds, for a server of our own.
NGINX_MAIN = """\
daemon off;
master_process on;
worker_processes {workers};
pid {work}/nginx.pid;
error_log {work}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {work}/access.log combined buffer=64k;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 5;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
{server}
}}
"""


class Nginx(Server):
    """nginx from a generated config, as the current user on a free loopback port: `server` is a server
    block whose `listen` and `root` lines are replaced (docs/nginx-static.conf, say).

    nginx binds the port itself, so the port comes from `free_port` (a small race on a busy machine).
    """

    def __init__(self, name: str, server: str, root: Path, work: Path, workers: int = 2) -> None:
        path = shutil.which("nginx") or "/usr/sbin/nginx"
        self.name = name
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = work / "error.log"
        work.mkdir(parents=True, exist_ok=True)
        server, listens = re.subn(r"^(\s*)listen\s+[^;]+;", rf"\1listen {LOOPBACK}:{self.port};", server, flags=re.M)
        server, roots = re.subn(r"^(\s*)root\s+[^;]+;", rf"\1root {root};", server, flags=re.M)
        if (listens, roots) != (1, 1):
            raise ValueError("the server block needs exactly one listen and one root line")
        # Run as root, nginx would hand its workers to `nobody`, who cannot read a private temp dir.
        user = "user root;" if os.geteuid() == 0 else ""
        config = work / "nginx.conf"
        config.write_text(NGINX_MAIN.format(workers=workers, work=work, user=user, server=server))
        self.command = [path, "-p", str(work), "-c", str(config), "-e", str(self.log_path)]


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


def wrk_command(wrk: str, url: str, threads: int, connections: int, duration: float,
                headers: Sequence[str] = ()) -> list[str]:
    """The wrk command line for one run against a loopback URL."""
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"refusing to load anything but loopback: {url}")
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s"]
    for header in headers:
        command += ["-H", header]
    return [*command, url]


def run_wrk(wrk: str, url: str, threads: int, connections: int, duration: float,
            headers: Sequence[str] = ()) -> WrkResult:
    """One wrk run against a loopback URL, parsed; bounded by a timeout past `duration`."""
    command = wrk_command(wrk, url, threads, connections, duration, headers)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def parse_wrk(out: str) -> WrkResult:
    """wrk's report read into a WrkResult."""
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
