"""What the system recorded about an incident: its events and the figures (time to detect, acknowledge,
mitigate, resolve; minutes per component; people notified) that postmortems draft from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage.components.status_rules import SEVERITY, STATUS_LABELS
from statuspage.db import utcnow
from statuspage.markdown import plain
from statuspage.models import (
    Check,
    ComponentStatus,
    Delivery,
    DeliveryStatus,
    EventKind,
    Incident,
    IncidentDraft,
    OutboxEvent,
    Probe,
    ProbeKind,
    StatusChange,
)
from statuspage.postmortems.document import sections_from_markdown as sections_from_markdown


def _hhmm(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "n/a"
    if delta < timedelta(minutes=1):
        return f"{max(int(delta.total_seconds()), 0)} s"  # probes confirm an outage in seconds
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"



@dataclass
class Event:
    """One recorded moment for the timeline."""

    key: str
    at: datetime
    text: str


@dataclass
class Figures:
    """The incident's measured figures; None where the system has no record."""

    impact_start: datetime
    detected_at: datetime | None
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    restored_at: datetime | None
    resolved_at: datetime | None
    # When the first alert to responders was sent (None without alert routes).
    alerted_at: datetime | None = None
    minutes_by_component: dict[str, dict[str, int]] = field(default_factory=dict)
    subscribers_notified: int = 0

    def _since(self, start: datetime | None, end: datetime | None) -> timedelta | None:
        return end - start if start and end else None

    @property
    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the admin and the Impact section."""
        return [
            ("Duration (impact start to resolution)", _duration(self._since(self.impact_start, self.resolved_at))),
            ("Time to detect", _duration(self._since(self.impact_start, self.detected_at))),
            ("Time to alert responders", _duration(self._since(self.impact_start, self.alerted_at))),
            ("Time to acknowledge (detection to first public update)",
             _duration(self._since(self.detected_at or self.impact_start, self.acknowledged_at))),
            ("Time to mitigate (to partial restoration)", _duration(self._since(self.impact_start, self.mitigated_at))),
            ("Time to full restoration", _duration(self._since(self.impact_start, self.restored_at))),
            ("Time to resolve", _duration(self._since(self.impact_start, self.resolved_at))),
            ("Subscribers notified", str(self.subscribers_notified)),
        ]


def _window(incident: Incident) -> tuple[datetime, datetime]:
    end = incident.resolved_at or utcnow()
    return incident.started_at - timedelta(hours=1), end + timedelta(minutes=1)


def _status_changes(session: Session, incident: Incident) -> list[StatusChange]:
    start, end = _window(incident)
    ids = [c.id for c in incident.components]
    if not ids:
        return []
    return list(session.scalars(
        select(StatusChange).where(StatusChange.component_id.in_(ids), StatusChange.at >= incident.started_at,
                                   StatusChange.at <= end, StatusChange.from_status.is_not(None),
                                   # A row that changed nothing ("Major Outage → Major Outage") tells nothing.
                                   StatusChange.from_status != StatusChange.to_status)
        .order_by(StatusChange.at, StatusChange.id)))


def _failing_checks(session: Session, incident: Incident) -> tuple[Check | None, list[tuple[Check, Probe]]]:
    """The first failing check near the start, and the alerts received, of the affected components."""
    start, end = _window(incident)
    ids = [c.id for c in incident.components]
    if not ids:
        return None, []
    rows = session.execute(
        select(Check, Probe).join(Probe, Probe.id == Check.probe_id)
        .where(Probe.component_id.in_(ids), Check.at >= start, Check.at <= end, Check.ok.is_(False))
        .order_by(Check.at, Check.id))
    first: Check | None = None
    alerts: list[tuple[Check, Probe]] = []
    for check, probe in rows:
        if probe.kind == ProbeKind.ALERTMANAGER:
            alerts.append((check, probe))
        elif first is None:
            first = check
    return first, alerts


@dataclass
class Restoration:
    """When service got better after the worst point: the first improvement (partial restoration,
    None when everything came back in one step) and when all affected components were operational."""

    partial_at: datetime | None = None
    improved: list[StatusChange] = field(default_factory=list)
    full_at: datetime | None = None


def _before(change: StatusChange) -> ComponentStatus:
    """The status before a change; _status_changes reads only changes that have one (not creations)."""
    if change.from_status is None:
        raise ValueError(f"status change {change.id} has no from_status")
    return change.from_status


def _badness(current: dict[int, ComponentStatus]) -> tuple[int, int]:
    severities = [SEVERITY[status] for status in current.values()]
    return max(severities, default=0), sum(severities)


def _restorations(changes: Sequence[StatusChange]) -> Restoration:
    """Partial and full restoration, read from the status changes moment by moment.

    1. Walk the moments (changes at the same time count as one step) and note how bad things were
       after each: the worst status of any affected component, then the sum of their severities.
    2. The worst point is the last moment at the peak (a relapse moves it later).
    3. Partial restoration: the first later moment where a component improved while another (or
       the same) was still not operational. Full restoration: the last moment things went from
       not all operational to all operational, after the worst point.
    """
    current = {change.component_id: _before(change) for change in reversed(changes)}
    moments: list[tuple[datetime, list[StatusChange], tuple[int, int], bool]] = [
        (datetime.min.replace(tzinfo=UTC), [], _badness(current), False)]
    for at, group in groupby(changes, key=lambda change: change.at):
        steps = list(group)
        for change in steps:
            current[change.component_id] = change.to_status
        operational = all(status == ComponentStatus.OPERATIONAL for status in current.values())
        moments.append((at, steps, _badness(current), operational))
    peak = max(badness for _at, _steps, badness, _ok in moments)
    if peak == (0, 0):
        return Restoration()
    worst = max(index for index, moment in enumerate(moments) if moment[2] == peak)
    result = Restoration()
    was_operational = False
    for at, steps, _badness_now, operational in moments[worst + 1:]:
        improved = [c for c in steps if SEVERITY[c.to_status] < SEVERITY[_before(c)]]
        if improved and not operational and result.partial_at is None and result.full_at is None:
            result.partial_at, result.improved = at, improved
        if operational and not was_operational:
            result.full_at = at
        was_operational = operational
    if not was_operational:
        result.full_at = None
    return result


def recorded_events(session: Session, incident: Incident, zone: str) -> tuple[list[Event], Figures]:
    """Everything the timeline draws from, in order, and the figures they give."""
    names = {c.id: c.name for c in incident.components}
    events: list[Event] = []
    first_check, alerts = _failing_checks(session, incident)
    if first_check is not None:
        events.append(Event(f"check:{first_check.id}", first_check.at,
                            f"Monitoring detected the first failure: {first_check.reason or 'check failed'}."))
    for check, probe in alerts:
        events.append(Event(f"alert:{check.id}", check.at,
                            f"Alert received from {probe.name}: {check.reason or 'firing'}."))
    changes = _status_changes(session, incident)
    for change in changes:
        before = STATUS_LABELS[change.from_status] if change.from_status else "—"
        events.append(Event(f"status:{change.id}", change.at,
                            f"{names.get(change.component_id, 'A component')}: {before} → "
                            f"{STATUS_LABELS[change.to_status]}."))
    updates = sorted(incident.updates, key=lambda u: (u.display_at, u.id or 0))
    for number, update in enumerate(updates):
        first_line = (plain(update.body).splitlines() or [""])[0][:300]
        label = update.status.replace("_", " ").capitalize()
        prefix = "Incident opened, " if number == 0 else ""
        events.append(Event(f"update:{update.code}", update.display_at, f"{prefix}{label}: {first_line}".rstrip(": ")))
    restoration = _restorations(changes)
    if restoration.partial_at is not None:
        improved = ", ".join(f"{names.get(c.component_id, 'a component')} improved to {STATUS_LABELS[c.to_status]}"
                             for c in restoration.improved)
        events.append(Event("partial-restoration", restoration.partial_at,
                            f"Partial restoration: {improved}; not everything is operational yet."))
    if restoration.full_at is not None:
        step = "" if restoration.partial_at is not None else " in one step"
        events.append(Event("full-restoration", restoration.full_at,
                            f"Full restoration: all affected components operational{step}."))
    if incident.resolved_at is not None:
        events.append(Event("resolved", incident.resolved_at, "Incident resolved."))
    events.sort(key=lambda e: e.at)

    draft = session.scalars(select(IncidentDraft).where(IncidentDraft.incident_id == incident.id).limit(1)).first()
    if draft is not None:
        what = "opened the incident" if incident.created_at == draft.created_at else "drafted an incident"
        events.append(Event(f"draft:{draft.code}", draft.created_at, f"Probes confirmed the outage and {what}."))
        events.sort(key=lambda e: e.at)
    detections = [e.at for e in events if e.key.startswith("alert:")]
    # Detected: when monitoring told us (an alert received), else when probes confirmed the outage and drafted
    # or opened the incident; only without either, the first failed check (the incident's start, so 0).
    detected_at = (min(detections) if detections else draft.created_at if draft is not None
                   else first_check.at if first_check else None)
    figures = Figures(
        impact_start=incident.started_at,
        detected_at=detected_at,
        alerted_at=_first_alert_sent(session, incident, draft),
        acknowledged_at=updates[0].display_at if updates else None,
        # Coming back in one step mitigates and restores at once.
        mitigated_at=restoration.partial_at or restoration.full_at,
        restored_at=restoration.full_at,
        resolved_at=incident.resolved_at,
        minutes_by_component=_minutes_by_component(session, incident, names),
        subscribers_notified=_notified(session, incident),
    )
    return events, figures


def _first_alert_sent(session: Session, incident: Incident, draft: IncidentDraft | None) -> datetime | None:
    """When responders were first alerted of this incident (or the draft it came from)."""
    start, end = _window(incident)
    first_sent = (select(Delivery.event_id, func.min(Delivery.sent_at).label("sent_at"))
                  .where(Delivery.sent_at.is_not(None)).group_by(Delivery.event_id).subquery())
    rows = session.execute(
        select(OutboxEvent.payload, first_sent.c.sent_at).join(first_sent, first_sent.c.event_id == OutboxEvent.id)
        .where(OutboxEvent.kind == EventKind.ALERT, OutboxEvent.created_at >= start, OutboxEvent.created_at <= end))
    sent = [at for payload, at in rows
            if payload.get("incident") == incident.code or (draft is not None and payload.get("draft") == draft.code)]
    return min(sent) if sent else None


def _minutes_by_component(session: Session, incident: Incident, names: dict[int, str]) -> dict[str, dict[str, int]]:
    """Minutes each affected component spent in each non-operational status during the incident."""
    end = incident.resolved_at or utcnow()
    result: dict[str, dict[str, int]] = {}
    for component_id, name in names.items():
        before = session.scalars(
            select(StatusChange).where(StatusChange.component_id == component_id,
                                       StatusChange.at <= incident.started_at)
            .order_by(StatusChange.at.desc(), StatusChange.id.desc()).limit(1)).first()
        status = before.to_status if before else ComponentStatus.OPERATIONAL
        cursor = incident.started_at
        spent: dict[str, float] = {}
        changes = session.scalars(
            select(StatusChange).where(StatusChange.component_id == component_id,
                                       StatusChange.at > incident.started_at, StatusChange.at <= end)
            .order_by(StatusChange.at, StatusChange.id))
        for change in [*changes, None]:
            until = change.at if change is not None else end
            if status != ComponentStatus.OPERATIONAL:
                spent[status.value] = spent.get(status.value, 0) + (until - cursor).total_seconds() / 60
            if change is not None:
                status, cursor = change.to_status, change.at
        result[name] = {key: round(value) for key, value in spent.items() if value >= 0.5}
    return result


def _notified(session: Session, incident: Incident) -> int:
    return session.scalar(
        select(func.count(func.distinct(Delivery.address))).join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .where(OutboxEvent.incident_id == incident.id, Delivery.status == DeliveryStatus.SENT,
               OutboxEvent.kind.in_([EventKind.INCIDENT, EventKind.MAINTENANCE, EventKind.POSTMORTEM]))) or 0


def figures(session: Session, incident: Incident, zone: str) -> Figures:
    """The incident's figures (shown in the admin for every incident)."""
    return recorded_events(session, incident, zone)[1]
