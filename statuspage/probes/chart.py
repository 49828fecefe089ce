"""A probe's response times over the last day as a small SVG, drawn on the server (no JavaScript)."""

from __future__ import annotations

from datetime import datetime, timedelta

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Check, Probe
from .rollup import percentile

WIDTH, HEIGHT, PAD = 600, 120, 4
BUCKETS = 48  # half an hour each


def response_time_svg(session: Session, probe: Probe, now: datetime, hours: int = 24) -> Markup | None:
    """Median and slowest latency per half hour as two lines, failures as red ticks; None without data."""
    since = now - timedelta(hours=hours)
    rows = session.execute(select(Check.at, Check.ok, Check.latency_ms)
                           .where(Check.probe_id == probe.id, Check.at >= since, Check.at <= now)).all()
    if not any(r.latency_ms is not None for r in rows):
        return None
    span = timedelta(hours=hours) / BUCKETS
    latencies: list[list[float]] = [[] for _ in range(BUCKETS)]
    failed = [False] * BUCKETS
    for row in rows:
        index = min(int((row.at - since) / span), BUCKETS - 1)
        if row.latency_ms is not None:
            latencies[index].append(row.latency_ms)
        failed[index] = failed[index] or not row.ok
    medians = [percentile(sorted(v), 50) for v in latencies]
    tops = [max(v) if v else None for v in latencies]
    ceiling = max(v for v in tops if v is not None) or 1.0
    step = (WIDTH - 2 * PAD) / (BUCKETS - 1)

    def points(values: list[float | None]) -> str:
        return " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - (v / ceiling) * (HEIGHT - 2 * PAD):.1f}"
                        for i, v in enumerate(values) if v is not None)

    ticks = "".join(f'<line class="fail" x1="{PAD + i * step:.1f}" x2="{PAD + i * step:.1f}" y1="{HEIGHT - PAD}" '
                    f'y2="{HEIGHT - PAD - 12}"/>' for i, bad in enumerate(failed) if bad)
    typical = percentile(sorted(v for v in medians if v is not None), 50) or 0
    label = (f"Response time of {probe.name} over the last {hours} hours: typically {typical:.0f} ms, "
             f"slowest {ceiling:.0f} ms; {sum(failed)} half hours with failed checks.")
    return Markup(
        f'<svg class="latency-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<polyline class="max" points="{points(tops)}"/><polyline class="p50" points="{points(medians)}"/>'
        f"{ticks}</svg>"
    )
