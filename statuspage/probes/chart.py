"""A probe's response times over the last day as a small SVG, drawn on the server (no JavaScript).

The admin shows it for every probe; the public page shows it under a
component whose probe has the `public_chart` option on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.models import Check, Component, Probe
from statuspage.probes import SCHEDULED_KINDS
from statuspage.probes.rollup import percentile

WIDTH, HEIGHT, PAD = 600, 120, 4
BUCKETS = 48  # half an hour each


def response_time_svg(session: Session, probe: Probe, now: datetime, hours: int = 24,
                      subject: str | None = None) -> Markup | None:
    """Median and slowest latency per half hour as two lines, failures as red ticks; None without data.

    `subject` names what the chart is about in its description (the probe's name by default; the public
    page uses the component's, as probe names are for responders).
    """
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
    label = (f"Response time of {subject or probe.name} over the last {hours} hours: typically {typical:.0f} ms, "
             f"slowest {ceiling:.0f} ms; {sum(failed)} half hours with failed checks.")
    return Markup(
        f'<svg class="latency-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<polyline class="max" points="{points(tops)}"/><polyline class="p50" points="{points(medians)}"/>'
        f"{ticks}</svg>"
    )


def public_charts(session: Session, components: Iterable[Component], now: datetime) -> dict[int, Markup]:
    """The response-time chart of each component that has a running probe with `public_chart` on (the
    first such probe by name), by component id."""
    by_id = {component.id: component for component in components}
    if not by_id:
        return {}
    probes = session.scalars(
        select(Probe).where(Probe.component_id.in_(list(by_id)), Probe.paused.is_(False),
                            Probe.kind.in_([k.value for k in SCHEDULED_KINDS]))
        .order_by(Probe.component_id, Probe.name, Probe.id)
    )
    charts: dict[int, Markup] = {}
    for probe in probes:
        if probe.component_id in charts or not (probe.options or {}).get("public_chart"):
            continue
        chart = response_time_svg(session, probe, now, subject=by_id[probe.component_id].name)
        if chart is not None:
            charts[probe.component_id] = chart
    return charts
