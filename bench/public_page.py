"""Benchmark: the public page of a page with 90 days of history, against a minimal Flask app and nginx.

Usage: .venv/bin/python bench/public_page.py [--components N] [--sizes 20,200,1000] [--rounds N]
                                             [--duration S] [--changes N] [--controls] [--no-nginx]
                                             [--profile] [--check]

Seeds a throw-away SQLite instance with N components (default 200) in groups, 90 days of history,
incidents and maintenance (`bench/history_seed.py`), then measures what issue 12 asks for:

1. Page sizes of `/` and `/api/v2/summary.json`, plain, gzip and brotli, at each count of `--sizes`
   (each seeded the same way; in-process, through the public render cache).
2. Cached `/` and `summary.json` requests per second, with and without `Accept-Encoding: gzip, br`,
   as a ratio to the minimal Flask app answering a fixed 30 KB page (`bench/baseline_app.py`,
   `/page`), both under the production gunicorn settings (`statuspage/edge/gunicorn_conf.py`: 2
   gthread workers of 8 threads, access log on), and to the same site exported with
   `flask statuspage export-static` and served by nginx from apt with the shipped server block
   (`docs/nginx-static.conf`, 2 workers), the limit. wrk on loopback, runs interleaved round by
   round, medians of each.
3. What a change costs (`bench/change_cost.py`): renders counted and CPU time of every gunicorn
   process until both workers serve the new version, quiet and under load.
4. Cache misses and hits timed in-process (and, with `--profile`, a miss of `/` in parts and its cProfile).

`--controls` adds targets that tell where the time goes: a bare WSGI callable answering the same 30 KB
under the same settings (the server's floor), one sending exactly our reply to `/` (headers included)
from a process without our code, the baseline and ours without the access log, and nginx
compressing each response (`gzip_static off`) instead of serving the precompressed files the docs config uses.
STATUSPAGE_WEB_WORKERS and STATUSPAGE_WEB_THREADS, read by the gunicorn settings, apply to every server.

Goals (issue 12): cached ratios >= 1.5x; one render per change; a change under 100 ms of CPU at 200
components; `/` under 250 KB (40 KB gzipped) at 200 components and under 1.2 MB at 1,000.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    ROOT,
    Gunicorn,
    Nginx,
    Server,
    WrkResult,
    ensure_wrk,
    http_get,
    median,
    percentile,
    run_wrk,
    terminate_on_sigterm,
)
from change_cost import Changer, RenderLog, print_changes, quiet, under_load
from history_seed import seed_history

GOAL = 1.5
PATHS = ("/", "/api/v2/summary.json")
ENCODINGS = "gzip, br"
SEED = 20261206  # the same page every run (dates move with today)
CHANGE_CPU_GOAL_MS = 100.0
# (components, path, variant) -> most bytes allowed
SIZE_GOALS = {(200, "/", "plain"): 250_000, (200, "/", "gzip"): 40_000, (1000, "/", "plain"): 1_200_000}
# The shipped nginx server block for the published site.
NGINX_SERVER = ROOT / "docs" / "nginx-static.conf"
# The documented production setup, for ours and the baseline alike; `--bind` is added per server.
PRODUCTION_ARGS = ["-c", "python:statuspage.edge.gunicorn_conf"]
# What that setup reads from the environment (the same for every server here), for the report.
SETTINGS = (f"gunicorn -c python:statuspage.edge.gunicorn_conf: {os.environ.get('STATUSPAGE_WEB_WORKERS', '2')} "
            f"gthread workers x {os.environ.get('STATUSPAGE_WEB_THREADS', '8')} threads, access log")


@dataclass
class Target:
    label: str
    server: Server
    path: str
    goal: bool = True  # False for a control measured beside the baseline, not held to the goal
    headers: list[str] | None = None  # None: what the options say (--gzip)
    runs: list[WrkResult] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url + self.path

    @property
    def rps(self) -> list[float]:
        return [run.requests_per_second for run in self.runs]


def load_options(description: str | None = None, **defaults) -> argparse.ArgumentParser:
    """The load and render options shared by the page benchmarks; `defaults` replace the defaults."""
    parser = argparse.ArgumentParser(description=description or __doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=4, help="seconds per measured run (default %(default)s)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per target (default %(default)s)")
    parser.add_argument("--renders", type=int, default=50,
                        help="cache-miss renders per path (default %(default)s)")
    parser.add_argument("--gzip", action="store_true",
                        help="send Accept-Encoding: gzip with every request, as browsers and CDNs do")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    parser.set_defaults(**defaults)
    return parser


def parse_args(argv: list[str] | None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Parse and bound the options of `parser` (by default this benchmark's)."""
    parser = parser or load_options()
    args = parser.parse_args(argv)
    if not (0 < args.duration <= 60 and 0 < args.warmup <= 60 and 1 <= args.rounds <= 20):
        parser.error("keep it bounded: duration and warmup in 1..60 s, rounds in 1..20")
    if args.connections < args.threads or args.threads < 1:
        parser.error("need at least one thread and no fewer connections than threads")
    if not 1 <= args.renders <= 1000:
        parser.error("keep it bounded: renders in 1..1000")
    return args


def instance_env(instance: Path) -> dict[str, str]:
    """The settings our app runs with, both under gunicorn and in-process."""
    return {
        "STATUSPAGE_INSTANCE_DIR": str(instance),
        "STATUSPAGE_DATABASE_URL": f"sqlite:///{instance / 'statuspage.db'}",
        "STATUSPAGE_SECRET_KEY": "bench-only-secret-key-not-for-production",
        "STATUSPAGE_PAGE_NAME": "Bench",
        "STATUSPAGE_BASE_URL": "http://127.0.0.1",
    }


def _app(env: dict[str, str]):
    from statuspage import create_app
    from statuspage.config import Settings

    return create_app(Settings.from_env(env))


def render_times(env: dict[str, str], renders: int,
                 paths: tuple[str, ...] = PATHS) -> dict[str, dict[str, float]]:
    """Per-request milliseconds in-process: a cache miss and a hit of each path, and the baseline.

    Wall time is what the goal is about; this process's CPU time is reported
    beside it because, unlike wall time, it hardly grows with other load on the machine.
    """
    from baseline_app import app as baseline

    app = _app(env)
    cache = app.extensions["statuspage.public_cache"]
    client = app.test_client()

    def timed(get, path: str, clear: bool) -> tuple[list[float], list[float]]:
        for _ in range(5):  # compile templates, warm the engine's pool
            get(path)
        wall, cpu = [], []
        for _ in range(renders):
            if clear:
                cache.clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            response = get(path)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} in-process")
        return wall, cpu

    results = {}
    for label, get, path, clear in (
        *((f"miss {path}", client.get, path, True) for path in paths),
        *((f"hit {path}", client.get, path, False) for path in paths),
        ("baseline /", baseline.test_client().get, "/", False),
    ):
        wall, cpu = timed(get, path, clear)
        results[label] = {"p50": percentile(wall, 0.5), "p95": percentile(wall, 0.95),
                          "cpu p50": percentile(cpu, 0.5), "cpu p95": percentile(cpu, 0.95)}
    return results


def profile_miss(env: dict[str, str], path: str = "/", repeat: int = 5, lines: int = 25) -> None:
    """cProfile of `repeat` cache misses of `path` in-process: where a render's CPU goes."""
    app = _app(env)
    cache = app.extensions["statuspage.public_cache"]
    client = app.test_client()
    client.get(path)  # compile templates, warm the engine's pool
    profile = cProfile.Profile()
    for _ in range(repeat):
        cache.clear()
        profile.enable()
        client.get(path)
        profile.disable()
    print(f"\ncProfile of {repeat} cache misses of {path} (cumulative, then own time):")
    stats = pstats.Stats(profile, stream=sys.stdout).strip_dirs()
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)


def miss_breakdown(env: dict[str, str], repeat: int = 5) -> None:
    """CPU time of the parts of a miss of `/`, measured without a profiler's overhead (medians)."""
    from statuspage.components import catalog, uptime
    from statuspage.db import utcnow
    from statuspage.edge.public_cache import CachedBody

    app = _app(env)
    cache = app.extensions["statuspage.public_cache"]
    client = app.test_client()
    client.get("/")
    parts: dict[str, list[float]] = {}

    def timed(label: str, work, *args):
        start = time.process_time()
        result = work(*args)
        parts.setdefault(label, []).append((time.process_time() - start) * 1000)
        return result

    for _ in range(repeat):
        cache.clear()
        body = timed("whole miss of / (render, compress, store)", client.get, "/").get_data()
        with app.app_context():
            session = app.extensions["statuspage.db"].session()
            try:
                shown = [c for item in catalog.component_tree(session) for c in item.components if c.showcase]
                figures = timed("  uptime.for_components", uptime.for_components, session, shown, utcnow())
                timed("  Uptime.runs of every component", lambda found: [f.runs for f in found], figures.values())
            finally:
                session.close()
        timed("  gzip and brotli of the body", CachedBody.packed, body, "text/html", 200)
    print(f"\nCPU of a miss of / in parts, in-process (median of {repeat}, ms):")
    for label, values in parts.items():
        print(f"  {label:<44} {median(values):8.1f}")


def page_sizes(env: dict[str, str]) -> dict[tuple[str, str], int]:
    """Bytes of each path as sent, plain and in each coding, rendered in-process through the cache."""
    client = _app(env).test_client()
    sizes = {}
    for path in PATHS:
        for variant, accept in (("plain", ""), ("gzip", "gzip"), ("br", "br")):
            response = client.get(path, headers={"Accept-Encoding": accept} if accept else {})
            if response.status_code != 200 or response.headers.get("Content-Encoding", "") != (
                    accept if variant != "plain" else ""):
                raise RuntimeError(f"{path} with Accept-Encoding {accept!r}: {response.status_code} "
                                   f"{response.headers.get('Content-Encoding')!r}")
            sizes[(path, variant)] = len(response.get_data())
    return sizes


def seeded(folder: Path, components: int) -> dict[str, str]:
    """A fresh instance under `folder`, seeded with `components`; returns its settings."""
    instance = folder / f"instance-{components}"
    instance.mkdir()
    env = instance_env(instance)
    started = time.monotonic()
    counts = seed_history(env["STATUSPAGE_DATABASE_URL"], components, random.Random(SEED))
    print(f"Seeded in {time.monotonic() - started:.0f} s: "
          + ", ".join(f"{value} {key}" for key, value in counts.items()), flush=True)
    return env


def export_site(env: dict[str, str], folder: Path) -> None:
    """`flask statuspage export-static` into `folder`, plus a gzip sibling of every text file
    (which the docs config serves with gzip_static) unless the export wrote one."""
    command = [sys.executable, "-m", "flask", "--app", "app", "statuspage", "export-static", str(folder)]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"export-static failed: {done.stderr or done.stdout}")
    for path in list(folder.rglob("*")):
        if path.suffix in (".html", ".json", ".xml", ".rss", ".atom", ".css", ".js", ".svg") and path.is_file():
            packed = path.with_name(path.name + ".gz")
            if not packed.exists():
                packed.write_bytes(gzip.compress(path.read_bytes(), 9))


def verify(ours: Server, baseline: Server, nginx: Server | None, components: int) -> None:
    """Check the responses before measuring them."""
    page = http_get(ours.url + "/")
    if page.status != 200 or not page.headers.get("ETag"):
        raise RuntimeError(f"/ answered {page.status} with ETag {page.headers.get('ETag')!r}")
    again = http_get(ours.url + "/", {"If-None-Match": page.headers["ETag"]})
    if again.status != 304:
        raise RuntimeError(f"/ with If-None-Match answered {again.status}, not 304")
    for path in PATHS:
        packed = http_get(ours.url + path, {"Accept-Encoding": ENCODINGS})
        if packed.status != 200 or packed.headers.get("Content-Encoding") != "br":
            raise RuntimeError(f"{path} with Accept-Encoding {ENCODINGS}: {packed.status}, "
                               f"{packed.headers.get('Content-Encoding')!r}")
    summary = http_get(ours.url + "/api/v2/summary.json")
    count = sum(1 for c in json.loads(summary.body)["components"] if not c["group"])
    if summary.status != 200 or count != components:
        raise RuntimeError(f"summary.json answered {summary.status} listing {count} components, not {components}")
    plain = http_get(baseline.url + "/page")
    if plain.status != 200 or len(plain.body) < 25_000:
        raise RuntimeError(f"baseline /page answered {plain.status} with {len(plain.body)} bytes")
    if nginx is not None:
        static = http_get(nginx.url + "/", {"Accept-Encoding": ENCODINGS})
        if static.status != 200 or static.headers.get("Content-Encoding") != "gzip":
            raise RuntimeError(f"nginx / answered {static.status}, {static.headers.get('Content-Encoding')!r}")


def measure(wrk: str, targets: list[Target], args: argparse.Namespace) -> None:
    """Warm every target up, then interleave measured runs round by round.

    Each round starts one target later than the one before, so no target
    always runs right after the same neighbour.
    """
    print(f"\nwrk -t{args.threads} -c{args.connections}: warm-up {args.warmup:g} s per target, "
          f"then {args.rounds} rounds of {args.duration:g} s each", flush=True)
    default = ["Accept-Encoding: gzip"] if args.gzip else []

    def headers(target: Target) -> list[str]:
        return default if target.headers is None else target.headers

    for target in targets:
        run_wrk(wrk, target.url, args.threads, args.connections, args.warmup, headers(target))
    for round_number in range(args.rounds):
        shift = round_number % len(targets)
        for target in targets[shift:] + targets[:shift]:
            cpu_before = target.server.cpu_seconds()
            result = run_wrk(wrk, target.url, args.threads, args.connections, args.duration, headers(target))
            cpu_after = target.server.cpu_seconds()
            if result.errors:
                raise RuntimeError(f"{target.label}: {result.non_2xx_3xx} non-2xx/3xx responses, "
                                   f"{result.socket_errors} socket errors")
            target.runs.append(result)
            if cpu_before is not None and cpu_after is not None:
                target.cpu_us.append((cpu_after - cpu_before) * 1e6 / result.requests)
        cells = [f"{target.label} {target.rps[-1]:6.0f}" for target in targets]
        print(f"  round {round_number + 1}: " + " | ".join(cells), flush=True)


def report(targets: list[Target], renders: dict[str, dict[str, float]], args: argparse.Namespace,
           goal: float = GOAL, settings: str = SETTINGS) -> bool:
    """Print the tables; returns whether every target held to the goal reached `goal` times the baseline."""
    baseline = targets[0]
    base_rps = median(baseline.rps)
    print(f"\nRequests per second: median of {args.rounds} interleaved runs (wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration:g}s; {settings})")
    width = max(len(target.label) for target in targets)
    print(f"  {'target':<{width}} {'req/s':>7} {'min':>7} {'max':>7} {'ratio':>6} {'paired':>6} "
          f"{'cpu us/req':>10} {'cpu ratio':>9} {'bytes/resp':>10}")
    met = True
    for target in targets:
        size = sum(run.bytes_read for run in target.runs) / sum(run.requests for run in target.runs)
        cpu = f"{median(target.cpu_us):10.0f}" if target.cpu_us else f"{'n/a':>10}"
        cpu_ratio = ""
        if target is not baseline and target.cpu_us and baseline.cpu_us:
            cpu_ratio = f"{median(baseline.cpu_us) / median(target.cpu_us):.2f}x"
        if target is baseline:
            ratio_cells = f"{'':>6} {'':>6}"
        else:
            ratio = median(target.rps) / base_rps
            # Paired: ours over the baseline of the same round, then the median.
            paired = median([ours / base for ours, base in zip(target.rps, baseline.rps, strict=True)])
            ratio_cells = f"{ratio:5.2f}x {paired:5.2f}x"
            met = met and (ratio >= goal or not target.goal)
        print(f"  {target.label:<{width}} {median(target.rps):7.0f} {min(target.rps):7.0f} "
              f"{max(target.rps):7.0f} {ratio_cells} {cpu} {cpu_ratio:>9} {size:10.0f}")
    print("  ratio = median req/s over the baseline's; paired = median of the per-round ratios;\n"
          "  cpu us/req = CPU time of the server's processes per request, steadier under noise;\n"
          "  cpu ratio = the baseline's cpu us/req over the target's (what req/s would be if the server\n"
          "  alone were the limit); bytes/resp = what wrk read per response, headers included")
    print(f"  goal: each target held to it >= {goal:.2f}x the baseline's req/s -> {'MET' if met else 'NOT MET'}")
    if renders:
        print(f"\nIn-process time per request, Flask test client ({args.renders} requests each; "
              "miss = render cache cleared first)")
        print(f"  {'request':<28} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8}")
        for label, figures in renders.items():
            print(f"  {label:<28} {figures['p50']:8.2f} {figures['p95']:8.2f} {figures['cpu p50']:8.2f} "
                  f"{figures['cpu p95']:8.2f}")
        print("  p50/p95 = wall time; cpu = this process's CPU time for the request, steadier under load")
    return met


def print_sizes(sizes: dict[int, dict[tuple[str, str], int]], static: dict[str, int]) -> bool:
    """The size table; returns whether the size goals were met."""
    print("\nBody bytes as sent (in-process, through the render cache)")
    print(f"  {'components':>10} {'path':<22} {'plain':>10} {'gzip':>8} {'brotli':>8}")
    for count, found in sorted(sizes.items()):
        for path in PATHS:
            print(f"  {count:>10} {path:<22} {found[(path, 'plain')]:>10,} {found[(path, 'gzip')]:>8,} "
                  f"{found[(path, 'br')]:>8,}")
    if static:
        print("  exported index.html: " + ", ".join(f"{name} {size:,}" for name, size in static.items()))
    met = True
    for (count, path, variant), most in SIZE_GOALS.items():
        if count in sizes:
            size = sizes[count][(path, variant)]
            met = met and size <= most
            print(f"  goal: {path} {variant} at {count} components <= {most:,} -> "
                  f"{size:,} {'met' if size <= most else 'NOT MET'}")
    return met


def options() -> argparse.ArgumentParser:
    parser = load_options(__doc__.split("\n\n")[0], duration=3, renders=10)
    parser.add_argument("--components", type=int, default=200,
                        help="components on the measured page, 1 to 2000 (default %(default)s)")
    parser.add_argument("--sizes", default="20,200,1000",
                        help="component counts whose page sizes are recorded (default %(default)s; '' for none)")
    parser.add_argument("--changes", type=int, default=5,
                        help="changes measured quietly (and half as many under load; default %(default)s)")
    parser.add_argument("--no-nginx", action="store_true", help="leave out the exported site behind nginx")
    parser.add_argument("--profile", action="store_true",
                        help="print the CPU of a miss of / in parts, and a cProfile of it")
    parser.add_argument("--controls", action="store_true",
                        help="also load: a bare WSGI app answering the same 30 KB (the server's floor), one "
                             "sending our exact reply to /, and the baseline and ours without the access log")
    parser.add_argument("--changes-only", action="store_true",
                        help="measure only what a change costs (and the sizes): no throughput rounds")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = options()
    args = parse_args(argv, parser)
    counts = sorted({int(n) for n in args.sizes.split(",") if n.strip()})
    if not 1 <= args.components <= 2000 or not all(1 <= n <= 2000 for n in counts):
        parser.error("keep it bounded: components (and sizes) in 1..2000")
    if not 1 <= args.changes <= 20:
        parser.error("keep it bounded: changes in 1..20")
    terminate_on_sigterm()
    sys.path.insert(0, str(ROOT))
    wrk = ensure_wrk()
    use_nginx = not args.no_nginx and shutil.which("nginx") is not None and NGINX_SERVER.exists()
    if not args.no_nginx and not use_nginx:
        print(f"nginx (apt-get install -y nginx) or {NGINX_SERVER} is missing: measuring without the static "
              "limit", file=sys.stderr)
    started = time.monotonic()
    print("Load average at start: " + " ".join(f"{n:.2f}" for n in os.getloadavg()), flush=True)
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="statuspage-bench-") as tmp:
        folder = Path(tmp)
        try:
            env = seeded(folder, args.components)
            sizes = {args.components: page_sizes(env)}
            for count in counts:
                if count not in sizes:
                    sizes[count] = page_sizes(seeded(folder, count))
            targets, static = [], {}
            if not args.changes_only:
                targets, static = load_targets(args, env, folder, servers, use_nginx)
                measure(wrk, targets, args)
            for server in servers:
                server.stop()
            quiet_changes, loaded_changes = change_costs(args, wrk, env, folder, servers)
            renders = render_times(env, args.renders)
            if args.profile:
                miss_breakdown(env)
                profile_miss(env)
        except KeyboardInterrupt:
            print("\nInterrupted; stopping servers.", file=sys.stderr)
            return 130
        finally:  # stop the servers before the temporary directory (their database) goes away
            for server in servers:
                server.stop()
    met = print_sizes(sizes, static)
    if targets:
        met = report(targets, renders, args) and met
    else:  # --changes-only measured no throughput, so it cannot say the throughput goal is met
        met = False
    print_changes("A change, quiet: one request at a time until both workers serve it", quiet_changes, PATHS)
    print_changes(f"A change under load (wrk -c{args.connections} on both paths, {ENCODINGS})",
                  loaded_changes, PATHS)
    one_render = all(n == 1 for change in quiet_changes + loaded_changes for n in change.renders.values())
    cpu = median([c.cpu_ms for c in quiet_changes if c.cpu_ms is not None] or [float("nan")])
    print(f"  goal: one render per path per change -> {'MET' if one_render else 'NOT MET'}")
    if args.components <= 200:
        print(f"  goal: under {CHANGE_CPU_GOAL_MS:.0f} ms CPU per change at 200 components -> "
              f"{cpu:.0f} ms, {'MET' if cpu < CHANGE_CPU_GOAL_MS else 'NOT MET'}")
        met = met and cpu < CHANGE_CPU_GOAL_MS
    print(f"\nTotal time {time.monotonic() - started:.0f} s; load average at the end: "
          + " ".join(f"{n:.2f}" for n in os.getloadavg()))
    return 1 if args.check and not (met and one_render) else 0


def load_targets(args: argparse.Namespace, env: dict[str, str], folder: Path, servers: list[Server],
                 use_nginx: bool) -> tuple[list[Target], dict[str, int]]:
    """Start ours, the baseline and nginx (appended to `servers`), check them; returns the targets to load."""
    ours = Gunicorn("statuspage", "app:app", ROOT, PRODUCTION_ARGS, env, folder / "ours.log")
    plain = Gunicorn("baseline", "baseline_app:app", ROOT / "bench", PRODUCTION_ARGS,
                     {"PYTHONPATH": str(ROOT)}, folder / "baseline.log")
    servers += [ours, plain]
    ours.start("/healthz")
    plain.start("/page")
    nginx, static = None, {}
    if use_nginx:
        site = folder / "site"
        export_site(env, site)
        static = {"plain": (site / "index.html").stat().st_size, "gzip": (site / "index.html.gz").stat().st_size}
        nginx = Nginx("nginx", NGINX_SERVER.read_text(), site, folder / "nginx")
        servers.append(nginx)
        nginx.start("/")
    verify(ours, plain, nginx, args.components)
    print(f"Verified: 200s, ETag, 304 and brotli from ours at {ours.url}; baseline at {plain.url}"
          + (f"; nginx at {nginx.url}" if nginx else ""), flush=True)
    accept = [f"Accept-Encoding: {ENCODINGS}"]
    targets = [Target("baseline /page (30 KB)", plain, "/page", headers=[])]
    for path in PATHS:
        targets += [Target(f"ours {path}", ours, path, headers=[]),
                    Target(f"ours {path} ({ENCODINGS})", ours, path, headers=accept)]
    if nginx is not None:
        targets += [Target("nginx /", nginx, "/", goal=False, headers=[]),
                    Target(f"nginx / ({ENCODINGS})", nginx, "/", goal=False, headers=accept)]
    if args.controls:
        targets += control_targets(env, folder, servers, ours)
        if nginx is not None:
            targets.append(static_control(folder, servers))
    return targets, static


def static_control(folder: Path, servers: list[Server]) -> Target:
    """nginx with the docs config but `gzip_static off`: what compressing every response costs."""
    server = NGINX_SERVER.read_text()
    if "gzip_static on;" not in server:
        raise RuntimeError(f"{NGINX_SERVER} no longer turns gzip_static on: the control compares against it")
    nginx = Nginx("nginx, gzip per response", server.replace("gzip_static on;", "gzip_static off;", 1),
                  folder / "site", folder / "nginx-static")
    servers.append(nginx)
    nginx.start("/")
    return Target(f"control: nginx / ({ENCODINGS}), gzip_static off", nginx, "/", goal=False,
                  headers=[f"Accept-Encoding: {ENCODINGS}"])


def control_targets(env: dict[str, str], folder: Path, servers: list[Server], running: Server) -> list[Target]:
    """What the server alone costs: a bare WSGI app with the same 30 KB page and settings, one sending
    exactly the reply `running` (ours) gives to `/` with `gzip, br`, and the baseline and ours with the
    production settings minus the access log."""
    paths = {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
    quiet_log = ["-c", "python:gunicorn_no_access_log"]
    floor = Gunicorn("floor", "baseline_app:raw", ROOT / "bench", PRODUCTION_ARGS, paths, folder / "floor.log")
    replayed = Gunicorn("replay", "baseline_app:replay", ROOT / "bench", PRODUCTION_ARGS,
                        {**paths, "BASELINE_REPLAY": str(capture_reply(running, "/", folder))}, folder / "replay.log")
    plain = Gunicorn("baseline, no log", "baseline_app:app", ROOT / "bench", quiet_log, paths,
                     folder / "baseline-quiet.log")
    ours = Gunicorn("ours, no log", "app:app", ROOT, quiet_log, {**env, **paths}, folder / "ours-quiet.log")
    servers += [floor, replayed, plain, ours]
    for server, ready in ((floor, "/page"), (replayed, "/"), (plain, "/page"), (ours, "/healthz")):
        server.start(ready)
    return [Target("control: bare WSGI 30 KB", floor, "/page", goal=False, headers=[]),
            Target(f"control: bare WSGI sending ours / ({ENCODINGS})", replayed, "/", goal=False, headers=[]),
            Target("control: baseline, no access log", plain, "/page", goal=False, headers=[]),
            Target(f"control: ours / ({ENCODINGS}), no log", ours, "/", goal=False,
                   headers=[f"Accept-Encoding: {ENCODINGS}"])]


def capture_reply(server: Server, path: str, folder: Path) -> Path:
    """`server`'s reply to `path` with `gzip, br` (status, headers but those gunicorn adds, body), saved for
    `baseline_app.replay`; returns the JSON file."""
    answer = http_get(server.url + path, {"Accept-Encoding": ENCODINGS})
    if answer.status != 200:
        raise RuntimeError(f"{path} answered {answer.status}: nothing to replay")
    body = folder / "replay.body"
    body.write_bytes(answer.body)
    added_by_gunicorn = {"date", "server", "connection", "transfer-encoding"}
    reply = {"status": "200 OK", "body_file": str(body),
             "headers": [[name, value] for name, value in answer.headers.items()
                         if name.lower() not in added_by_gunicorn]}
    path_out = folder / "replay.json"
    path_out.write_text(json.dumps(reply))
    return path_out


def change_costs(args: argparse.Namespace, wrk: str, env: dict[str, str], folder: Path,
                 servers: list[Server]):
    """Serve the counted app and measure changes, quiet and under load."""
    log = RenderLog(folder / "renders.jsonl")
    counted = Gunicorn("statuspage (counted)", "counted_app:app", ROOT / "bench", PRODUCTION_ARGS,
                       {**env, "PYTHONPATH": str(ROOT), "BENCH_RENDER_LOG": str(log.path)}, folder / "counted.log")
    servers.append(counted)
    counted.start("/healthz")
    changer = Changer(env["STATUSPAGE_DATABASE_URL"])
    try:
        settle = 1.2  # past the version-check interval (STATUSPAGE_VERSION_CHECK_MS, 1 s)
        print(f"\nChanges: {args.changes} quiet, {max(1, args.changes // 2)} under load", flush=True)
        quiet_changes = quiet(counted, changer, log, PATHS, args.changes, settle)
        loaded = under_load(wrk, counted, changer, log, PATHS, max(1, args.changes // 2), args.connections)
    finally:
        changer.close()
        counted.stop()
    return quiet_changes, loaded


if __name__ == "__main__":
    sys.exit(main())
