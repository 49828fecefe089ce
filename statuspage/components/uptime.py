"""Uptime from the status history: a bar per day for 90 days, and uptime over 30 and 90 days.

Time is weighted by how down each status is (documented in docs/probes.md):
a major outage counts fully as down, a partial outage as 30% down (part of
the service still works, as Atlassian Statuspage also counts it), degraded
performance and maintenance not at all (the service answers; maintenance is
announced). Counting starts at the component's `start_date` (00:00 UTC) if
set, else at its creation. Days are UTC days, so the public page's cache is
also keyed by the UTC date.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from statuspage.components.status_rules import SEVERITY
from statuspage.models import Component, ComponentStatus, Incident, IncidentComponent, IncidentKind, StatusChange

DAYS = 90
WEIGHTS = {
    ComponentStatus.OPERATIONAL: 0.0,
    ComponentStatus.UNDER_MAINTENANCE: 0.0,
    ComponentStatus.DEGRADED_PERFORMANCE: 0.0,
    ComponentStatus.PARTIAL_OUTAGE: 0.3,
    ComponentStatus.MAJOR_OUTAGE: 1.0,
}


@dataclass(frozen=True)
class Segment:
    """A stretch of time with one status."""

    start: datetime
    end: datetime
    status: ComponentStatus


@dataclass(frozen=True)
class Day:
    """One bar: the worst status of a UTC day, its uptime and the incidents that touched it."""

    date: date
    status: ComponentStatus | None  # None: before counting started
    uptime: float | None
    incidents: list[str] = field(default_factory=list)
    incident_codes: list[str] = field(default_factory=list)

    # Worked out once: the page compares and prints them for every day of every component.
    uptime_label: str = field(init=False, compare=False)
    # What a reader sees of the day: days that read the same share one bar.
    reading: tuple[ComponentStatus | None, str, tuple[str, ...]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:  # frozen: Days are shared between components (for_components)
        object.__setattr__(self, "uptime_label", label(self.uptime))
        object.__setattr__(self, "reading", (self.status, self.uptime_label, tuple(self.incidents)))


@dataclass(frozen=True)
class Run:
    """Consecutive days that read the same (status, uptime, incidents): drawn as one bar, so a page of
    hundreds of components with 90 days each stays small."""

    first: int  # index of its first day among the 90
    days: list[Day]

    @property
    def summary(self) -> str:
        day = self.days[0]
        first, last = self.days[0].date, self.days[-1].date
        when = (f"{first:%b %d, %Y}" if first == last else
                f"{first:%b %d} – {last:%b %d, %Y}" + (f" ({len(self.days)} days)"))
        text = f"{when}: {day.uptime_label}"
        return text + (f" · {'; '.join(day.incidents)}" if day.incidents else "")


@dataclass
class Uptime:
    """A component's uptime figures."""

    days: list[Day]
    uptime_30: float | None
    uptime_90: float | None
    # The day counting started, when that is inside the window: a young component's figures cover only this long.
    since: date | None = None

    @property
    def young(self) -> bool:
        """Counted for less than 30 days: a "30 days" figure would pretend to cover time it did not."""
        return self.since is not None and self.since > self.days[-1].date - timedelta(days=30)

    @property
    def runs(self) -> list[Run]:
        """The counted days grouped into runs of days that read the same."""
        runs: list[Run] = []
        for index, day in enumerate(self.days):
            if day.status is None:
                continue
            last = runs[-1] if runs else None
            if last is not None and last.first + len(last.days) == index and last.days[0].reading == day.reading:
                last.days.append(day)
            else:
                runs.append(Run(index, [day]))
        return runs

    @property
    def label_30(self) -> str:
        return label(self.uptime_30)

    @property
    def label_90(self) -> str:
        return label(self.uptime_90)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def segments(component: Component, changes: Sequence[StatusChange], origin: datetime,
             now: datetime) -> list[Segment]:
    """The component's statuses from `origin` to `now`, from the changes after `origin` (oldest first).

    The status before the first change is that change's `from_status` (or,
    for the row that created the component, its first status); with no
    changes, the current status held throughout.
    """
    if not changes:
        return [Segment(origin, now, component.status)] if origin < now else []
    first = changes[0]
    status = first.from_status or first.to_status
    result, start = [], origin
    for change in changes:
        at = min(max(change.at, origin), now)
        if at > start:
            result.append(Segment(start, at, status))
        start, status = max(start, at), change.to_status
    if now > start:
        result.append(Segment(start, now, status))
    return result


def downtime(parts: Sequence[Segment], start: datetime, end: datetime) -> tuple[float, float]:
    """(weighted seconds down, seconds measured) of `parts` within [start, end)."""
    down = measured = 0.0
    for part in parts:
        seconds = (min(part.end, end) - max(part.start, start)).total_seconds()
        if seconds > 0:
            measured += seconds
            down += seconds * WEIGHTS[part.status]
    return down, measured


def percent(down: float, measured: float) -> float | None:
    """Uptime in percent, or None when nothing was measured."""
    return None if measured <= 0 else 100.0 * (1 - down / measured)


def origin_of(component: Component) -> datetime:
    """When counting starts: the start date (00:00 UTC) if given, else the creation time."""
    return _midnight(component.start_date) if component.start_date else component.created_at


def for_components(session: Session, components: Sequence[Component], now: datetime,
                   days: int = DAYS) -> dict[int, Uptime]:
    """Uptime of each component over the last `days` UTC days (today included), in two queries."""
    if not components:
        return {}
    first_day = now.astimezone(UTC).date() - timedelta(days=days - 1)
    window = _midnight(first_day)
    ids = [c.id for c in components]
    changes: dict[int, list[StatusChange]] = defaultdict(list)
    for change in session.scalars(  # one query for every component's history in the window
        select(StatusChange).where(StatusChange.component_id.in_(ids), StatusChange.at >= window,
                                   StatusChange.at <= now)
        .order_by(StatusChange.component_id, StatusChange.at, StatusChange.id)
    ):
        changes[change.component_id].append(change)
    touched: dict[int, list[tuple[datetime, datetime, str, str]]] = defaultdict(list)
    for component_id, name, code, started, resolved in session.execute(
        select(IncidentComponent.component_id, Incident.name, Incident.code, Incident.started_at,
               Incident.resolved_at)
        .join(Incident, Incident.id == IncidentComponent.incident_id)
        .where(IncidentComponent.component_id.in_(ids), Incident.kind == IncidentKind.INCIDENT,
               Incident.started_at <= now, or_(Incident.resolved_at.is_(None), Incident.resolved_at >= window))
        .order_by(Incident.started_at)
    ):
        touched[component_id].append((started, resolved or now, name, code))

    days_of = [first_day + timedelta(days=offset) for offset in range(days)]
    # Day edges as seconds since the epoch: the per-day sums below are float arithmetic, not datetimes,
    # which keeps a page of hundreds of components with 90 days each cheap to render after every change.
    edges = [_midnight(day).timestamp() for day in days_of] + [now.timestamp()]
    edges[-1] = min(edges[-1], (_midnight(days_of[-1]) + timedelta(days=1)).timestamp())
    result = {}
    shared: dict[tuple[int, ComponentStatus | None, float | None], Day] = {}
    for component in components:
        origin = max(origin_of(component), window)
        parts = segments(component, changes[component.id], origin, now)
        result[component.id] = Uptime(
            days=_days(parts, touched[component.id], days_of, edges, shared),
            uptime_30=percent(*downtime(parts, max(origin, now - timedelta(days=30)), now)),
            uptime_90=percent(*downtime(parts, origin, now)),
            since=origin.date() if origin > window else None,
        )
    return result


# Past days' figures by what decides them: a past day reads the same until its history or an incident
# touching it is edited, so a render after a change works out only today (and every day of a component
# whose history changed). Keyed by the full inputs, so an entry is never wrong, only unused; forgotten
# when the window moves to a new day, and at a bound that a page of a few thousand components and a
# day's edits stays under (about 1 KB an entry).
_PAST_DAYS: dict[date, dict[tuple[object, ...], list[Day]]] = {}  # by the window's first day
_PAST_DAYS_MAX = 10_000


def _days(parts: Sequence[Segment], touched: Sequence[tuple[datetime, datetime, str, str]], days_of: list[date],
          edges: list[float], shared: dict[tuple[int, ComponentStatus | None, float | None], Day]) -> list[Day]:
    """One Day per UTC day: the past days as remembered for this history, today worked out afresh."""
    today = len(days_of) - 1
    midnight = edges[today]
    key = (today,
           tuple((part.start.timestamp(), min(part.end.timestamp(), midnight), part.status)
                 for part in parts if part.start.timestamp() < midnight),
           tuple((began.timestamp(), min(ended.timestamp(), midnight), name, code)
                 for began, ended, name, code in touched if began.timestamp() < midnight))
    remembered = _PAST_DAYS.get(days_of[0])
    if remembered is None:  # a new day: yesterday's window is gone
        _PAST_DAYS.clear()
        remembered = _PAST_DAYS[days_of[0]] = {}
    past = remembered.get(key)
    if past is None:
        if len(remembered) >= _PAST_DAYS_MAX:
            remembered.clear()
        past = remembered[key] = _count_days(parts, touched, days_of[:today], edges[:today + 1], 0, shared)
    return past + _count_days(parts, touched, days_of[today:], edges[today:], today, shared)


def _count_days(parts: Sequence[Segment], touched: Sequence[tuple[datetime, datetime, str, str]],
                days_of: list[date], edges: list[float], offset: int,
                shared: dict[tuple[int, ComponentStatus | None, float | None], Day]) -> list[Day]:
    """The Days of `days_of` (edges: their midnights and the end of the last): each segment adds its
    seconds to the days it spans (once), and each incident names the days it touched (began before the
    day ended, still open or ended after it began). `offset` is the first day's place among the 90."""
    count = len(days_of)
    down, measured = [0.0] * count, [0.0] * count
    worst: list[ComponentStatus | None] = [None] * count
    for part in parts:
        start, end = part.start.timestamp(), part.end.timestamp()
        weight, severity = WEIGHTS[part.status], SEVERITY[part.status]
        index = max(0, bisect_right(edges, start) - 1)
        while index < count and edges[index] < end:
            seconds = min(end, edges[index + 1]) - max(start, edges[index])
            if seconds > 0:
                measured[index] += seconds
                down[index] += seconds * weight
                current = worst[index]
                if current is None or severity > SEVERITY[current]:
                    worst[index] = part.status
            index += 1
    names: list[list[tuple[str, str]]] = [[] for _ in range(count)]
    for began, ended, name, code in touched:
        first = max(0, bisect_right(edges, began.timestamp()) - 1)  # the first day ending after it began
        last = min(count - 1, bisect_right(edges, ended.timestamp()) - 1)  # the last day beginning by its end
        for index in range(first, last + 1):
            names[index].append((name, code))
    result = []
    for i, day in enumerate(days_of):
        status = worst[i]
        value = None if status is None else percent(down[i], measured[i])
        if names[i] and status is not None:
            result.append(Day(day, status, value, [n for n, _ in names[i]], [c for _, c in names[i]]))
            continue
        # Most days of most components read the same (operational, 100%): one Day serves them all.
        key = (offset + i, status, value)
        found = shared.get(key)
        if found is None:
            found = shared[key] = Day(day, status, value)
        result.append(found)
    return result


def label(value: float | None) -> str:
    """An uptime percentage as the page shows it: 100%, 99.95%, or "no data"."""
    if value is None:
        return "no data"
    if value >= 100:
        return "100%"
    return f"{min(value, 99.99):.2f}%"


@dataclass
class RangeUptime:
    """A component's uptime over a date range, in Statuspage's terms."""

    start: date
    end: date
    uptime: float | None
    major_outage_seconds: int
    partial_outage_seconds: int
    warnings: list[str]
    incidents: list[Incident]


def for_range(session: Session, component: Component, start: date, end: date, now: datetime) -> RangeUptime:
    """Uptime of one component from `start` to `end` (UTC days, both included), weighted as above."""
    warnings = []
    begin = _midnight(start)
    finish = min(_midnight(end) + timedelta(days=1), now)
    origin = origin_of(component)
    if begin < origin:
        warnings.append(f"Counting starts at {origin.date().isoformat()}, when the component began.")
        begin = origin
    if finish <= begin:
        return RangeUptime(start, end, None, 0, 0, warnings + ["No time to measure in this range."], [])
    before = session.scalars(
        select(StatusChange).where(StatusChange.component_id == component.id, StatusChange.at < begin)
        .order_by(StatusChange.at.desc(), StatusChange.id.desc()).limit(1)).first()
    inside = list(session.scalars(
        select(StatusChange).where(StatusChange.component_id == component.id, StatusChange.at >= begin,
                                   StatusChange.at <= finish).order_by(StatusChange.at, StatusChange.id)))
    parts = segments(component, ([before] if before else []) + inside, begin, finish)
    seconds: dict[ComponentStatus, float] = defaultdict(float)
    for part in parts:
        seconds[part.status] += (min(part.end, finish) - max(part.start, begin)).total_seconds()
    incidents = list(session.scalars(
        select(Incident).join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(IncidentComponent.component_id == component.id, Incident.started_at < finish,
               or_(Incident.resolved_at.is_(None), Incident.resolved_at >= begin))
        .order_by(Incident.started_at)))
    return RangeUptime(
        start=start, end=end, uptime=percent(*downtime(parts, begin, finish)),
        major_outage_seconds=round(seconds[ComponentStatus.MAJOR_OUTAGE]),
        partial_outage_seconds=round(seconds[ComponentStatus.PARTIAL_OUTAGE]),
        warnings=warnings, incidents=incidents)
