"""Statuspage's `{"incident": {...}}` body, read into what our incident functions take.

The fields are declared (and Statuspage's fields for what we do not offer refused) in
statuspage/api/schemas/incidents.py; what is checked here depends on the incident: whether the body
schedules a maintenance, what it affects, and Statuspage's switch for each edge of a maintenance where
we have one switch for all. A field is accepted when it asks for nothing we would leave undone and
refused with a 422 naming it otherwise, so a client never believes that something happened which did not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from statuspage.api.common import ApiError
from statuspage.components.catalog import get_component
from statuspage.components.status_rules import parse_status
from statuspage.incidents.rules import parse_time
from statuspage.inputs import parse_bool
from statuspage.models import ComponentStatus, Impact, Incident, MaintenanceStatus

# A maintenance that moves itself goes in progress at its start (its components under
# maintenance) and completes at its end (its components given back). Statuspage has a switch
# for each of these; we have one for all, so these must agree.
AUTO_SWITCHES = ("scheduled_auto_transition", "scheduled_auto_in_progress", "scheduled_auto_completed",
                 "auto_transition_to_maintenance_state", "auto_transition_to_operational_state")
# Whether those automatic moves notify subscribers: ours always do.
EDGE_NOTIFICATIONS = ("auto_transition_deliver_notifications_at_start",
                      "auto_transition_deliver_notifications_at_end")
WINDOW = ("scheduled_for", "scheduled_until")
# Fields that post an update when a PATCH carries them, and fields only such an update uses.
UPDATE_TRIGGERS = ("status", "body", "components")
UPDATE_ONLY = ("display_at", "restore_components")
LIST_SHAPE = ('components must map component ids to statuses ({"id": "major_outage"}) or list '
              '{"id": ..., "status": ...} objects.')


def invalid(message: str, field: str) -> ApiError:
    return ApiError(422, "invalid", message, field)


def given(data: dict[str, Any], field: str) -> bool:
    """Whether the body sets this field: null and empty count as left out."""
    return data.get(field) not in (None, "")


def refuse(data: dict[str, Any], fields: tuple[str, ...], reason: str) -> None:
    """422 naming the first of `fields` the body sets, with why it does not apply here."""
    for field in fields:
        if given(data, field):
            raise invalid(f"{field} {reason}", field)


# --- what applies where ------------------------------------------------------------------------------


def check_new_incident(data: dict[str, Any]) -> None:
    """Refuse what opening an incident would not use."""
    refuse(data, UPDATE_ONLY, "belongs to an update (PATCH); a new incident starts at started_at (or now).")
    check_window_switches(data)


def check_new_maintenance(data: dict[str, Any]) -> None:
    """Refuse what scheduling a maintenance would not use."""
    if data.get("status") not in (None, "", MaintenanceStatus.SCHEDULED.value):
        raise invalid("A maintenance is created scheduled; move it on with a PATCH (status in_progress) once it "
                      "exists.", "status")
    if data.get("impact_override") not in (None, "", Impact.MAINTENANCE.value):
        raise invalid("A maintenance's impact is always maintenance.", "impact_override")
    refuse(data, ("started_at",), "is when an incident began; a maintenance starts at scheduled_for.")
    refuse(data, UPDATE_ONLY, "belongs to an update (PATCH).")


def posts_update(data: dict[str, Any]) -> bool:
    """Whether a PATCH posts an update (else it renames, overrides the impact or reschedules)."""
    return any(field in data for field in UPDATE_TRIGGERS)


def check_update(data: dict[str, Any], incident: Incident, statuses: dict[str, Any] | None, posting: bool) -> None:
    """Refuse what a PATCH sends but this incident, or the lack of an update, would not use."""
    check_update_component_ids(data.get("component_ids"), incident, statuses)
    check_start_unchanged(data, incident)
    if incident.is_maintenance:
        check_switches_unchanged(data, incident)
    else:
        refuse(data, WINDOW, "belongs to a maintenance; this is an incident.")
    if not posting:
        refuse(data, UPDATE_ONLY, "goes with a new update: send status, body or components too (to correct a "
                                  "posted update, PATCH its incident_updates/{id}).")


# --- components ------------------------------------------------------------------------------------


def component_statuses(value: Any) -> dict[str, Any] | None:
    """`components` as `{component_id: status}`, from Statuspage's map or from a list of
    `{"id" (or "component_id"): ..., "status": ...}` objects."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        return value
    if not isinstance(value, list):
        raise invalid(LIST_SHAPE, "components")
    statuses: dict[str, Any] = {}
    for item in value:
        code, status = _listed_component(item)
        if code in statuses and statuses[code] != status:
            raise invalid(f"components gives {code!r} two different statuses.", "components")
        statuses[code] = status
    return statuses


def _listed_component(item: Any) -> tuple[str, Any]:
    if not isinstance(item, dict) or "status" not in item or set(item) - {"id", "component_id", "status"}:
        raise invalid(LIST_SHAPE, "components")
    codes = [item[key] for key in ("id", "component_id") if key in item]
    if not codes or not all(isinstance(code, str) for code in codes) or len(set(codes)) != 1:
        raise invalid(LIST_SHAPE, "components")
    return codes[0], item["status"]


def component_codes(value: Any) -> list[str]:
    """`component_ids` as a list of ids (the domain checks that each exists)."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise invalid("component_ids must be a list of component ids.", "component_ids")
    return value


def maintenance_components(session: Session, statuses: dict[str, Any] | None, codes: Any) -> list[str]:
    """The ids a new maintenance affects: `component_ids` and the keys of `components`.

    Scheduling changes no status: a component goes under maintenance when the window begins. So each
    status in `components` must be `under_maintenance` or the component's status now.
    """
    affected = component_codes(codes)
    for code, value in (statuses or {}).items():
        component = get_component(session, code)
        status = parse_status(value, f"components.{code}")
        if status not in (ComponentStatus.UNDER_MAINTENANCE, component.status):
            raise invalid(f"A maintenance sets no status when it is scheduled; its components go under "
                          f"maintenance when it begins. components.{code} may be under_maintenance or "
                          f"{component.status.value} (its status now).", "components")
        affected.append(code)
    return list(dict.fromkeys(affected))


def check_update_component_ids(value: Any, incident: Incident, statuses: dict[str, Any] | None) -> None:
    """On an update, `component_ids` may name only components the incident affects or `components` sets:
    an update adds a component by giving its status."""
    known = {c.code for c in incident.components} | set(statuses or {})
    for code in component_codes(value):
        if code not in known:
            raise invalid(f"{code!r} is not affected by this {incident.kind.value}; to add it, give its "
                          "status in components.", "component_ids")


# --- the maintenance window -------------------------------------------------------------------------


def is_maintenance(data: dict[str, Any]) -> bool:
    """A body with a window, or with a maintenance status, schedules a maintenance."""
    status = data.get("status")
    maintenance_status = isinstance(status, str) and status in {s.value for s in MaintenanceStatus}
    return maintenance_status or any(given(data, field) for field in WINDOW)


def auto_transition(data: dict[str, Any], default: bool = True) -> bool:
    """Our one switch from Statuspage's five (all that are sent must agree); while it is on, the
    automatic moves notify subscribers, so the edge-notification fields may not be false."""
    switches = {field: parse_bool(data[field], field) for field in AUTO_SWITCHES if data.get(field) is not None}
    if len(set(switches.values())) > 1:
        off = next(field for field in AUTO_SWITCHES if switches.get(field) is False)
        raise invalid("A maintenance here moves itself and its components at both edges of its window, or not at "
                      f"all: send {', '.join(switches)} all true or all false.", off)
    auto = next(iter(switches.values()), default)
    for field in EDGE_NOTIFICATIONS:
        if data.get(field) is not None and not parse_bool(data[field], field) and auto:
            raise invalid(f"The automatic moves at the window's edges always notify subscribers: {field} may "
                          "only be false when the maintenance does not move itself (scheduled_auto_in_progress "
                          "and the other switches false).", field)
    return auto


def check_window_switches(data: dict[str, Any]) -> None:
    """An incident has no window: the maintenance switches clients send with it only need to be booleans."""
    for field in (*AUTO_SWITCHES, *EDGE_NOTIFICATIONS):
        if data.get(field) is not None:
            parse_bool(data[field], field)


def check_switches_unchanged(data: dict[str, Any], maintenance: Incident) -> None:
    """Whether a maintenance moves itself is chosen when it is scheduled."""
    if not any(data.get(field) is not None for field in (*AUTO_SWITCHES, *EDGE_NOTIFICATIONS)):
        return
    wanted = auto_transition(data, default=maintenance.auto_transition)
    if wanted != maintenance.auto_transition:
        field = next(f for f in AUTO_SWITCHES if data.get(f) is not None)
        raise invalid("Whether a maintenance moves itself is chosen when it is scheduled and cannot change; "
                      f"it {'does' if maintenance.auto_transition else 'does not'}.", field)


def window_change(data: dict[str, Any], maintenance: Incident) -> tuple[Any, Any] | None:
    """The window a PATCH asks for (an edge left out stays), or None when it sends neither edge."""
    if not any(given(data, field) for field in WINDOW):
        return None
    return (data["scheduled_for"] if given(data, "scheduled_for") else maintenance.scheduled_for,
            data["scheduled_until"] if given(data, "scheduled_until") else maintenance.scheduled_until)


def check_start_unchanged(data: dict[str, Any], incident: Incident) -> None:
    """`started_at` is set when an incident opens; an update may send it back as we showed it (to the
    millisecond)."""
    if not given(data, "started_at"):
        return
    if _to_millisecond(parse_time(data["started_at"], "started_at")) != _to_millisecond(incident.started_at):
        raise invalid("started_at is set when an incident opens and cannot change with an update.", "started_at")


def _to_millisecond(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)
