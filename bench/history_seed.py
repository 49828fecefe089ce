"""A realistic page for benchmarks: components in groups with 90 days of history, incidents and maintenance.

What the uptime bars read is the status history (`StatusChange` rows: one per change, in time order,
each `from_status` the previous `to_status`) and the incidents touching each day. So the seed writes:

1. Components in groups of 10 through `catalog.create_group` / `create_component`, then backdated to
   midnight before the 90 days (as `tools.demo` does), so every bar has data.
2. Past incidents (a few dozen over 90 days, 1 to 3 components of one group, 5 updates each), past
   maintenance windows (scheduled, in progress, completed) and two upcoming ones, through
   `incidents.lifecycle` and `incidents.windows` with explicit times and no notifications, oldest first.
3. Outages no incident announced, as probes record them: about 30% of the components get 1 to 4, from
   a few minutes to half a day (some across midnight), degraded, partial or major (some majors recover
   through partial). These are bulk inserts of the rows `components.set_status` would write (minus the
   webhook events nobody subscribed to), one statement for all, so 1,000 components seed in seconds.
4. The page as on a bad day: two unresolved incidents and one component degraded by a probe.

No two of these overlap on one component, so each history reads as the domain would have written it;
`check_history` verifies that. Everything is drawn from one `random.Random`, so a seed value gives the
same page every run (dates move with today).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

GROUP_SIZE = 10
PAST_INCIDENTS = 36
PAST_MAINTENANCE = 6
UPCOMING_MAINTENANCE = 2
UNRESOLVED = 2
OUTAGE_SHARE = 0.3  # of components with outages no incident announced
# (minutes from, minutes to, weight): mostly short blips, a few long outages.
OUTAGE_LENGTHS = [(2, 15, 45), (15, 90, 35), (90, 360, 15), (360, 840, 5)]
RESERVE = timedelta(hours=4)  # an incident's five updates end within this of its start

TITLES = [
    "Elevated error rates on {c}", "Increased latency for {c}", "{c} unavailable for some customers",
    "Degraded performance of {c}", "Partial outage of {c}", "Delayed processing in {c}",
    "Intermittent timeouts reaching {c}", "{c} returning errors after a deploy",
]
# What an incident declares, and what probes record, as often as each happens.
OUTAGES = ["degraded_performance"] * 5 + ["partial_outage"] * 3 + ["major_outage"] * 2
MESSAGES = [
    ("investigating",
     "We are investigating **elevated error rates** and latency on {c}. Some requests fail with a 5xx "
     "response; retrying usually succeeds. We will post an update within 30 minutes."),
    ("identified",
     "The issue has been identified: a configuration change rolled out at {t} UTC exhausted the connection "
     "pool of {c}. We are rolling it back.\n\n- Requests in flight may fail\n- No data has been lost"),
    ("identified",
     "The rollback is about half-way through. Error rates are falling; see the "
     "[runbook](https://example.com/runbooks/rollback) for what we are doing."),
    ("monitoring",
     "A fix has been deployed and error rates on {c} are back to normal. We are **monitoring** the "
     "results closely."),
    ("resolved",
     "This incident has been resolved. {c} has been working normally since {t} UTC. We apologise for the "
     "disruption; a short write-up will follow for customers who ask."),
]
UPDATES = len(MESSAGES)


@contextmanager
def migrated(database_url: str) -> Iterator[Any]:
    """A fresh database migrated to head (as `db upgrade` leaves it); yields a `Database`, disposed after."""
    from alembic import command

    from statuspage.cli import alembic_config
    from statuspage.db import Database

    command.upgrade(alembic_config(database_url), "head")
    database = Database()
    database.configure(database_url)
    try:
        yield database
    finally:
        assert database.engine is not None
        database.engine.dispose()


def _names(session, codes: list[str]) -> str:
    from statuspage.components.catalog import get_component

    return " and ".join(get_component(session, code).name for code in codes)


def past_incident(session, actor, rng: random.Random, codes: list[str], begins: datetime) -> None:
    """One resolved incident with five updates, 10 to 50 minutes apart, through the domain functions."""
    from statuspage.incidents import lifecycle

    names = _names(session, codes)
    when = begins + timedelta(minutes=rng.randrange(2, 15))  # noticed a little after it began
    status, text = MESSAGES[0]
    incident = lifecycle.open_incident(
        session, actor, name=rng.choice(TITLES).format(c=names), body=text.format(c=names, t=""),
        status=status, component_statuses={code: rng.choice(OUTAGES) for code in codes},
        started_at=begins, deliver_notifications=False, now=when,
    )
    for status, text in MESSAGES[1:UPDATES]:
        when += timedelta(minutes=rng.randrange(10, 50))
        lifecycle.post_update(session, actor, incident, status=status,
                              body=text.format(c=names, t=when.strftime("%H:%M")),
                              deliver_notifications=False, now=when)


def open_incident(session, actor, rng: random.Random, codes: list[str], begins: datetime, now: datetime) -> None:
    """An unresolved incident: opened, then identified."""
    from statuspage.incidents import lifecycle

    names = _names(session, codes)
    when = begins + timedelta(minutes=5)
    incident = lifecycle.open_incident(
        session, actor, name=rng.choice(TITLES).format(c=names), body=MESSAGES[0][1].format(c=names, t=""),
        component_statuses={code: rng.choice(OUTAGES) for code in codes}, started_at=begins,
        deliver_notifications=False, now=when,
    )
    when = min(when + timedelta(minutes=20), now)
    lifecycle.post_update(session, actor, incident, status="identified",
                          body=MESSAGES[1][1].format(c=names, t=when.strftime("%H:%M")),
                          deliver_notifications=False, now=when)


def maintenance(session, actor, codes: list[str], start: datetime, end: datetime, now: datetime) -> None:
    """A maintenance window scheduled two days ahead; if `now` is past it, also run and completed,
    with the messages the worker posts (`windows.AUTO_MESSAGES`)."""
    from statuspage.incidents import lifecycle, windows
    from statuspage.models import MaintenanceStatus

    scheduled_at = min(start - timedelta(days=2), now)
    window = windows.schedule_maintenance(
        session, actor, name="Database upgrade" if len(codes) > 3 else "Network maintenance",
        body="We will upgrade the systems behind these services. Short interruptions are possible; "
             "requests in flight are retried.",
        scheduled_for=start, scheduled_until=end, component_codes=codes, deliver_notifications=False,
        now=scheduled_at)
    for status, when in ((MaintenanceStatus.IN_PROGRESS, start), (MaintenanceStatus.COMPLETED, end)):
        if when > now:
            break
        lifecycle.post_update(session, actor, window, status=status, body=windows.AUTO_MESSAGES[status],
                              deliver_notifications=False, now=when)


@dataclass
class Plan:
    """What happens to which component when; no two entries overlap on one component."""

    rng: random.Random
    groups: list[list[str]]
    now: datetime
    since: datetime
    busy: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=lambda: defaultdict(list))
    events: list[tuple[datetime, str, list[str], datetime]] = field(default_factory=list)  # start, kind, codes, end
    # (code, start, end, status, whether a major outage recovers through a partial one)
    outages: list[tuple[str, datetime, datetime, str, bool]] = field(default_factory=list)

    @property
    def quiet_after(self) -> datetime:
        """The last hours belong to what is going on now."""
        return self.now - RESERVE

    def free(self, codes: list[str], start: datetime, end: datetime) -> bool:
        margin = timedelta(minutes=1)
        return all(end + margin <= s or start >= e + margin for code in codes for s, e in self.busy[code])

    def take(self, codes: list[str], start: datetime, end: datetime) -> None:
        for code in codes:
            self.busy[code].append((start, end))

    def some_time(self, first: datetime, last: datetime) -> datetime:
        return first + timedelta(seconds=self.rng.randrange(int((last - first).total_seconds())))

    def attempt(self, kind: str, draw) -> None:
        """Add an event drawn by `draw() -> (codes, start, end)`, drawing again while it overlaps."""
        for _ in range(50):
            codes, start, end = draw()
            if self.free(codes, start, end):
                self.take(codes, start, end)
                self.events.append((start, kind, codes, end))
                return

    def windows(self) -> None:
        """Past maintenance (a night of work on part of a group), upcoming maintenance, past incidents."""
        rng = self.rng

        def past_window():
            group = rng.choice(self.groups)
            day = self.since + timedelta(days=rng.randrange(3, 88), hours=rng.randrange(1, 5))
            length = timedelta(minutes=rng.choice((60, 90, 120, 240)))
            return rng.sample(group, rng.randint(1, min(5, len(group)))), day, day + length

        def upcoming(weeks: int):
            start = (self.now + timedelta(days=2 + 7 * weeks)).replace(hour=2, minute=0, second=0)
            group = rng.choice(self.groups)
            return rng.sample(group, min(2, len(group))), start, start + timedelta(hours=2)

        def incident():
            group = rng.choice(self.groups)
            start = self.some_time(self.since + timedelta(days=1), self.quiet_after - RESERVE)
            return rng.sample(group, min(len(group), rng.choice((1, 1, 2, 3)))), start, start + RESERVE

        for _ in range(PAST_MAINTENANCE):
            self.attempt("maintenance", past_window)
        for weeks in range(UPCOMING_MAINTENANCE):
            self.attempt("maintenance", lambda weeks=weeks: upcoming(weeks))
        for _ in range(PAST_INCIDENTS):
            self.attempt("incident", incident)

    def today(self) -> None:
        """A bad day: unresolved incidents on components of different groups, one component degraded."""
        for number, group in enumerate(self.rng.sample(self.groups, min(UNRESOLVED, len(self.groups)))):
            start = self.now - timedelta(minutes=90 - 30 * number)
            codes = self.rng.sample(group, min(len(group), 1 + number))
            self.take(codes, start, self.now)
            self.events.append((start, "unresolved", codes, self.now))
        start = self.now - timedelta(minutes=25)
        code = self.rng.choice([code for group in self.groups for code in group
                                if self.free([code], start, self.now)])
        self.take([code], start, self.now)
        self.outages.append((code, start, self.now, "degraded_performance", False))

    def unannounced(self) -> None:
        """Outages probes recorded with no incident, on OUTAGE_SHARE of the components."""
        rng = self.rng
        lengths = [(low, high) for low, high, weight in OUTAGE_LENGTHS for _ in range(weight)]
        for code in (code for group in self.groups for code in group):
            if rng.random() >= OUTAGE_SHARE:
                continue
            for _ in range(rng.randint(1, 4)):
                for _ in range(20):
                    low, high = rng.choice(lengths)
                    start = self.some_time(self.since + timedelta(days=1), self.quiet_after)
                    end = min(start + timedelta(minutes=rng.uniform(low, high)), self.quiet_after)
                    if self.free([code], start, end):
                        self.take([code], start, end)
                        status = rng.choice(OUTAGES)
                        slow = status == "major_outage" and end - start > timedelta(minutes=30)
                        self.outages.append((code, start, end, status, slow and rng.random() < 0.3))
                        break


def plan(rng: random.Random, groups: list[list[str]], now: datetime, since: datetime) -> Plan:
    """Draw the incidents, maintenance and outages of 90 days, keeping each component's history apart."""
    result = Plan(rng, groups, now, since)
    result.windows()
    result.today()
    result.unannounced()
    result.events.sort()
    return result


def outage_rows(ids: dict[str, int], outages: list[tuple[str, datetime, datetime, str, bool]],
                now: datetime) -> list[dict[str, Any]]:
    """The StatusChange rows of outages probes recorded: down at the start, back up at the end (a major
    outage sometimes recovers through a partial one), as `set_status` writes them."""
    rows = []
    for code, start, end, status, via_partial in outages:
        steps = [(start, status)]
        if via_partial:
            steps.append((start + (end - start) * 0.6, "partial_outage"))
        if end < now:
            steps.append((end, "operational"))
        before = "operational"
        for at, after in steps:
            rows.append({"component_id": ids[code], "from_status": before, "to_status": after, "at": at,
                         "source": "probe", "cause": "probes"})
            before = after
    return rows


def check_history(session) -> int:
    """Raise if any component's history does not chain (each from_status the previous to_status, the last
    the current status); returns the number of status changes."""
    from sqlalchemy import select

    from statuspage.models import Component, StatusChange

    current = dict(session.execute(select(Component.id, Component.status)).all())
    last: dict[int, Any] = {}
    count = 0
    for change in session.scalars(select(StatusChange).order_by(StatusChange.component_id, StatusChange.at,
                                                                StatusChange.id)):
        count += 1
        previous = last.get(change.component_id)
        if previous is not None and change.from_status != previous:
            raise RuntimeError(f"component {change.component_id}: {change.from_status} follows {previous} "
                               f"at {change.at}")
        last[change.component_id] = change.to_status
    wrong = [cid for cid, status in current.items() if last.get(cid) != status]
    if wrong:
        raise RuntimeError(f"components {wrong[:5]}: the last change is not the current status")
    return count


def seed_history(database_url: str, components: int, rng: random.Random, page_name: str = "Bench",
                 now: datetime | None = None) -> dict[str, int]:
    """Migrate a fresh database and seed it as described above; returns what it holds."""
    from sqlalchemy import func, insert, select, update

    from statuspage.audit import Actor
    from statuspage.components import catalog, status_rules
    from statuspage.db import utcnow
    from statuspage.models import Component, Incident, IncidentKind, IncidentUpdate, StatusChange
    from statuspage.page.record import bump_version
    from statuspage.tools.demo import history_start
    from statuspage.tools.setup import setup_page

    now = (now or utcnow()).replace(microsecond=0)
    since = history_start(now)
    actor = Actor.system("bench", "on-call engineer")
    with migrated(database_url) as database:
        with database.transaction() as session:
            setup_page(session, page_name, "Etc/UTC")
            groups: list[list[str]] = []
            for g in range(-(-components // GROUP_SIZE)):
                group = catalog.create_group(session, actor, f"Region {g + 1:03d}",
                                             f"Services hosted in region {g + 1}.")
                groups.append([catalog.create_component(
                    session, actor, f"Service {g + 1:03d}-{c + 1:02d}",
                    f"Service {c + 1} of region {g + 1}: API, workers and storage.", group_code=group.code,
                ).code for c in range(min(GROUP_SIZE, components - g * GROUP_SIZE))])
            # Running all along: history starts before the first of the 90 days.
            session.execute(update(Component).values(created_at=since, updated_at=since))
            session.execute(update(StatusChange).where(StatusChange.from_status.is_(None)).values(at=since))
        drawn = plan(rng, groups, now, since)
        for first in range(0, len(drawn.events), 20):
            with database.transaction() as session:
                for start, kind, codes, end in drawn.events[first:first + 20]:
                    if kind == "incident":
                        past_incident(session, actor, rng, codes, start)
                    elif kind == "unresolved":
                        open_incident(session, actor, rng, codes, start, now)
                    else:
                        maintenance(session, actor, codes, start, end, now)
        with database.transaction() as session:
            ids = dict(session.execute(select(Component.code, Component.id)).all())
            rows = outage_rows(ids, drawn.outages, now)
            session.execute(insert(StatusChange), rows)
            for code, _start, end, status, _via in drawn.outages:
                if end >= now:  # still going: the component's status now
                    component = catalog.get_component(session, code)
                    component.status = status_rules.parse_status(status)
            bump_version(session)
        with database.transaction() as session:
            return {
                "components": components,
                "groups": len(groups),
                "status changes": check_history(session),
                "incidents": session.scalar(select(func.count(Incident.id))
                                            .where(Incident.kind == IncidentKind.INCIDENT)) or 0,
                "maintenance": session.scalar(select(func.count(Incident.id))
                                              .where(Incident.kind == IncidentKind.MAINTENANCE)) or 0,
                "updates": session.scalar(select(func.count(IncidentUpdate.id))) or 0,
            }
