"""What incidents and maintenance accept: message text, times, statuses, impacts, windows, and the allowed moves.

Every writer (admin, API, importer, templates) checks its input here, so one input gets one answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from statuspage.components.catalog import get_component
from statuspage.components.status_rules import parse_status
from statuspage.errors import InvalidInput
from statuspage.inputs import is_unicode_text, member_of
from statuspage.models import (
    Component,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
)

BODY_MAX = 25_000
# C0 controls and DEL, except the tab and line breaks a Markdown message is made of; NUL above all,
# which PostgreSQL cannot store.
BODY_CONTROL_CHARACTERS = frozenset(chr(code) for code in (*range(0x20), 0x7F)) - {"\t", "\n", "\r"}
# Clocks disagree a little; a "started at" this far ahead is still accepted as now.
CLOCK_SKEW = timedelta(minutes=2)
MAINTENANCE_MAX_WINDOW = timedelta(days=30)
MAINTENANCE_MAX_AHEAD = timedelta(days=366)
# Times outside these years are typing errors; before 1970 some zones' offsets have seconds (local mean
# time), which ISO 8601 output cannot show, and near year 1 or 9999 shifting to a zone overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)

UNRESOLVED = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)
ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
IMPACT_RANK = {Impact.NONE: 0, Impact.MAINTENANCE: 1, Impact.MINOR: 2, Impact.MAJOR: 3,
               Impact.CRITICAL: 4}
IMPACT_FOR_STATUS = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}
# Which status may follow which. Postmortem is set only by publishing a postmortem.
INCIDENT_NEXT = {
    **{s: set(UNRESOLVED) | {IncidentStatus.RESOLVED} for s in UNRESOLVED},
    IncidentStatus.RESOLVED: set(UNRESOLVED) | {IncidentStatus.RESOLVED},
    IncidentStatus.POSTMORTEM: {IncidentStatus.POSTMORTEM},
}
MAINTENANCE_NEXT = {
    MaintenanceStatus.SCHEDULED: {MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS,
                                  MaintenanceStatus.COMPLETED},
    MaintenanceStatus.IN_PROGRESS: {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING,
                                    MaintenanceStatus.COMPLETED},
    MaintenanceStatus.VERIFYING: {MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING,
                                  MaintenanceStatus.COMPLETED},
    MaintenanceStatus.COMPLETED: {MaintenanceStatus.COMPLETED},
}



def clean_body(value: object, field: str = "body", required: bool = False) -> str:
    """A Markdown message of at most 25,000 characters, storable on every database."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput("The message must be text.", field)
    value = value.strip()
    if required and not value:
        raise InvalidInput("A message is required.", field)
    if len(value) > BODY_MAX:
        raise InvalidInput(f"The message must be at most {BODY_MAX:,} characters.", field)
    if not BODY_CONTROL_CHARACTERS.isdisjoint(value):
        raise InvalidInput("The message must not contain control characters (NUL, escape, ...); "
                           "line breaks and tabs are fine.", field)
    if not is_unicode_text(value):
        raise InvalidInput("The message must not contain unpaired surrogates (broken Unicode).", field)
    return value


# Component statuses as `{component id: status}`; what an update declares.
ComponentStatuses = Mapping[str, ComponentStatus | str]


def parse_time(value: object, field: str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string with a UTC offset."""
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{field} must be an ISO 8601 time like 2024-08-14T14:30:00Z.",
                               field) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be an ISO 8601 time like 2024-08-14T14:30:00Z.", field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} needs a time zone (e.g. Z or +02:00).", field)
    if not EARLIEST <= value < LATEST:
        raise InvalidInput(f"{field} must be between 1970 and 2999.", field)
    return value


def parse_past_time(value: object, field: str, now: datetime) -> datetime:
    """A time that is not in the future."""
    when = parse_time(value, field)
    if when > now + CLOCK_SKEW:
        raise InvalidInput(f"{field} cannot be in the future.", field)
    return min(when, now)


def parse_incident_status(value: object, field: str = "status") -> IncidentStatus:
    status = member_of(IncidentStatus, value)
    if status is None:
        allowed = ", ".join(s.value for s in (*UNRESOLVED, IncidentStatus.RESOLVED))
        raise InvalidInput(f"Unknown incident status {value!r}; use one of: {allowed}.", field)
    return status


def parse_maintenance_status(value: object, field: str = "status") -> MaintenanceStatus:
    status = member_of(MaintenanceStatus, value)
    if status is None:
        allowed = ", ".join(s.value for s in MaintenanceStatus)
        raise InvalidInput(f"Unknown maintenance status {value!r}; use one of: {allowed}.", field)
    return status


def parse_impact(value: object, field: str = "impact_override") -> Impact | None:
    if value in (None, ""):
        return None
    impact = member_of(Impact, value)
    if impact is None:
        allowed = ", ".join(i.value for i in Impact)
        raise InvalidInput(f"Unknown impact {value!r}; use one of: {allowed}.", field)
    return impact


def parse_component_statuses(
    session: Session, mapping: object, field: str = "components"
) -> list[tuple[Component, ComponentStatus]]:
    """Components and their new statuses from `{component_id: status}`."""
    if mapping in (None, ""):
        return []
    if not isinstance(mapping, Mapping):
        raise InvalidInput("components must map component ids to statuses.", field)
    pairs = []
    for code, status in mapping.items():
        if not isinstance(code, str):
            raise InvalidInput("components must map component ids to statuses.", field)
        pairs.append((get_component(session, code), parse_status(status, f"{field}.{code}")))
    return pairs


def parse_component_codes(session: Session, codes: object, field: str = "component_ids") -> list[Component]:
    """Components from a list of ids."""
    if codes in (None, ""):
        return []
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        raise InvalidInput("component_ids must be a list of component ids.", field)
    return [get_component(session, code) for code in dict.fromkeys(codes)]


def derive_impact(statuses: Sequence[ComponentStatus]) -> Impact:
    """The impact component statuses call for: the worst of them."""
    return max((IMPACT_FOR_STATUS[s] for s in statuses), key=IMPACT_RANK.__getitem__,
               default=Impact.NONE)


def parse_window(scheduled_for: object, scheduled_until: object, now: datetime) -> tuple[datetime, datetime]:
    """A maintenance window's edges, checked the same way when scheduling and rescheduling."""
    start = parse_time(scheduled_for, "scheduled_for")
    end = parse_time(scheduled_until, "scheduled_until")
    if end <= start:
        raise InvalidInput("The maintenance must end after it starts.", "scheduled_until")
    if end - start > MAINTENANCE_MAX_WINDOW:
        raise InvalidInput("A maintenance window can last at most 30 days.", "scheduled_until")
    if start > now + MAINTENANCE_MAX_AHEAD:
        raise InvalidInput("A maintenance can be scheduled at most a year ahead.", "scheduled_for")
    if end <= now:
        raise InvalidInput("The maintenance window is already over.", "scheduled_until")
    return start, end
