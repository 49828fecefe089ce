"""Incidents, maintenance, their updates and templates: request bodies and operations.

Statuspage clients send more than we offer: Twitter, reminders, metadata, backfilling. Those fields
are declared first, each with what it accepts (what asks for nothing we would leave undone), so
they are refused by name before anything else is checked. What depends on the incident (whether it
is a maintenance, which components it affects) is checked by statuspage/api/incident_body.py and
the domain; the rest by the rules on the fields.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from statuspage.api.incident_body import component_codes, component_statuses
from statuspage.api.schemas.base import UNSET, Body, Wrapped, checked_in_domain, patch_of, rule
from statuspage.api.schemas.fields import Ids, Name, only_false
from statuspage.api.schemas.operations import READ, WITH_BODY, Operation, Paging, Query, Section, patch_and_put
from statuspage.errors import InvalidInput
from statuspage.incidents.rules import (
    BODY_MAX,
    CLOCK_SKEW,
    MAINTENANCE_MAX_AHEAD,
    MAINTENANCE_MAX_WINDOW,
    clean_body,
)
from statuspage.incidents.templates import STATUSES as TEMPLATE_STATUSES
from statuspage.incidents.templates import parse_template_status
from statuspage.inputs import clean_name, parse_bool
from statuspage.models import ComponentStatus, Impact, IncidentStatus, MaintenanceStatus
from statuspage.shapes import IncidentTemplateJson, ManagedIncidentJson, ManagedUpdateJson

# `reminder_intervals` values that ask for no reminder we leave unsent: none, or Statuspage's
# default that clients copy into every body (we send no reminders; docs/api.md says so).
QUIET_REMINDERS = ("", "[]", "[3,6,12,24]")
BACKFILL = ("Backfilling is not offered: open the incident with status resolved and started_at set to when it "
            "began.")
TIME_NOTE = "ISO 8601 with an offset, in the years 1970 to 2999"
PAST_TIME = (f"{TIME_NOTE}; not in the future (up to {int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock skew "
             "are taken as now). Null or empty means now.")
MESSAGE = f"Markdown, trimmed; at most {BODY_MAX:,} characters."


def _no_metadata(value: Any, field: str) -> None:
    if value not in (None, {}, ""):
        raise InvalidInput("metadata is not kept here; send {} or leave it out.", field)


def _quiet_reminders(value: Any, field: str) -> Any:
    spelt = "[" + ",".join(str(v) for v in value) + "]" if isinstance(value, list) else value
    if spelt is not None and not (isinstance(spelt, str) and "".join(spelt.split()) in QUIET_REMINDERS):
        raise InvalidInput("We send no reminders to update an incident; reminder_intervals may only be null, [] or "
                           "Statuspage's default [3, 6, 12, 24].", field)
    return value


def _not_backfilled(value: Any, field: str) -> bool:
    if value is not None and parse_bool(value, field):
        raise InvalidInput(BACKFILL, field)
    return False


def _refused_if_given(reason: str) -> Any:
    def check(value: Any, field: str) -> None:
        if value not in (None, ""):
            raise InvalidInput(f"{field} {reason}", field)

    return rule(check)


def _switch(value: Any, field: str) -> bool | None:
    return None if value is None else parse_bool(value, field)


def _statuses(value: Any, _field: str) -> Any:
    return component_statuses(value)


def _codes(value: Any, _field: str) -> Any:
    return component_codes(value)


Twitter = Annotated[bool, Field(description="We do not post to Twitter (true: 422)."),
                    only_false("We do not post to Twitter")]
PastTime = Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]
Window = Annotated[Any, checked_in_domain(Annotated[str, Field(json_schema_extra={"format": "date-time"})])]
AutoSwitch = Annotated[bool | None, rule(_switch), Field(description=(
    "Maintenance: whether it moves itself at the window's edges (in progress at the start, components under "
    "maintenance; completed at the end, components given back). We have one switch for Statuspage's five "
    "(`scheduled_auto_transition`, `scheduled_auto_in_progress`, `scheduled_auto_completed`, "
    "`auto_transition_to_maintenance_state`, `auto_transition_to_operational_state`): those sent must all be true "
    "or all false (422 otherwise); default true. Fixed once scheduled: an update may send the same value back. "
    "Incidents: only checked to be booleans."))]
EdgeNotification = Annotated[bool | None, rule(_switch), Field(description=(
    "Maintenance: the automatic moves always notify subscribers, so false is refused (422) unless the maintenance "
    "does not move itself."))]


@with_config(ConfigDict(extra="forbid", json_schema_extra={"minProperties": 2}))
class ComponentEntry(TypedDict):
    """One component and its status: `id` or `component_id` (the same if both)."""

    id: NotRequired[str]
    component_id: NotRequired[str]
    status: ComponentStatus


class IncidentCreate(Body):
    """A new incident, or (with a window or a maintenance status) a new maintenance."""

    # Statuspage's fields for what we do not offer, first: refused before anything else is checked.
    metadata: Annotated[dict[str, Any] | None, Field(max_length=0, description=(
        "Not kept: only `{}` or null (anything else: 422).")), rule(_no_metadata)] = UNSET
    reminder_intervals: Annotated[str | list[int] | None, Field(description=(
        "We send no reminders to update an incident: only null, `[]` or Statuspage's default `[3, 6, 12, 24]` (as "
        "a string or a list) are accepted; other intervals: 422.")), rule(_quiet_reminders)] = UNSET
    wants_twitter_update: Twitter = UNSET
    auto_tweet_at_beginning: Twitter = UNSET
    auto_tweet_on_completion: Twitter = UNSET
    auto_tweet_on_creation: Twitter = UNSET
    auto_tweet_one_hour_before: Twitter = UNSET
    scheduled_remind_prior: Annotated[bool, Field(description="We send no reminder before a maintenance (true: 422)."),
                                      only_false("We send no reminder before a maintenance")] = UNSET
    backfilled: Annotated[bool, Field(description="Backfilling is not offered (true: 422): open the incident with "
                                                  "status resolved and `started_at`."), rule(_not_backfilled)] = UNSET
    backfill_date: Annotated[None, Field(description="Backfilling is not offered: a date is refused (422)."),
                             _refused_if_given("needs backfilling, which is not offered. " + BACKFILL)] = UNSET
    # What we keep.
    name: Name
    status: Annotated[Any, checked_in_domain(Annotated[str, Field(json_schema_extra={"enum": [
        *(s.value for s in IncidentStatus), *(s.value for s in MaintenanceStatus)]})]), Field(description=(
            "Create: an incident starts investigating (default), identified, monitoring or resolved; a maintenance "
            "status (or `scheduled_for`) schedules a maintenance, which starts `scheduled` (any other maintenance "
            "status is refused: move it on with an update). Update: the next status; incidents move between the "
            "first four (postmortem comes from publishing one), maintenance from scheduled to in_progress, "
            "verifying and completed, never back to scheduled."))] = UNSET
    impact_override: Annotated[Any, checked_in_domain(Annotated[str | None, Field(json_schema_extra={"enum": [
        *(i.value for i in Impact), "", None]})]), Field(description=(
            "Set the impact instead of deriving it from component statuses; null or empty to derive it again. A "
            "maintenance's is always `maintenance` (any other value: 422)."))] = UNSET
    body: Annotated[str | None, Field(max_length=BODY_MAX, description=(
        f"{MESSAGE} The text of the first (or next) update.")), rule(clean_body)] = UNSET
    components: Annotated[Any, checked_in_domain(dict[str, ComponentStatus] | list[ComponentEntry] | None, _statuses),
                          Field(
        description="Statuspage's map `{component_id: status}`, or a list of `{\"id\": ..., \"status\": ...}` "
                    "objects: the status each component gets with this update (a list naming one component twice "
                    "with two statuses: 422). A new maintenance sets no status: each must be `under_maintenance` "
                    "(taken when the window begins) or the component's status now, and the component is affected."
    )] = UNSET
    component_ids: Annotated[Ids | None, rule(_codes), Field(description=(
        "Create: more affected components, whose status does not change (their subscribers are notified). Update: "
        "only components the incident affects or `components` sets (422 otherwise: add one by giving its status)."
    ))] = UNSET
    deliver_notifications: Annotated[bool, rule(parse_bool), Field(description=(
        "False posts silently (default true). A reschedule without an update tells subscribers only when true."
    ))] = UNSET
    started_at: Annotated[Any, checked_in_domain(PastTime), Field(description=(
        "Incidents, on create: when the trouble began, if earlier. On update only the value shown may be sent back "
        f"(422 otherwise). {PAST_TIME}"))] = UNSET
    display_at: Annotated[Any, checked_in_domain(PastTime), Field(description=(
        "Update only, with `status`, `body` or `components`: the time readers see for the new update (422 "
        f"otherwise). {PAST_TIME}"))] = UNSET
    scheduled_for: Annotated[Window, Field(description=(
        f"Maintenance: the window's start ({TIME_NOTE}), at most {MAINTENANCE_MAX_AHEAD.days} days ahead. On update "
        "it reschedules: both edges may move while scheduled, only the end once begun, none once completed (422). "
        "Incidents: 422."))] = UNSET
    scheduled_until: Annotated[Window, Field(description=(
        f"Maintenance: the window's end; after its start and now, at most {MAINTENANCE_MAX_WINDOW.days} days after "
        "the start. On update it reschedules (an edge left out stays)."))] = UNSET
    scheduled_auto_transition: AutoSwitch = UNSET
    scheduled_auto_in_progress: AutoSwitch = UNSET
    scheduled_auto_completed: AutoSwitch = UNSET
    auto_transition_to_maintenance_state: AutoSwitch = UNSET
    auto_transition_to_operational_state: AutoSwitch = UNSET
    auto_transition_deliver_notifications_at_start: EdgeNotification = UNSET
    auto_transition_deliver_notifications_at_end: EdgeNotification = UNSET
    restore_components: Annotated[Any, checked_in_domain(bool), Field(description=(
        "Update only: resolving (or completing) gives the affected components back unless false."))] = UNSET


IncidentUpdateFields = patch_of(IncidentCreate, "IncidentUpdateFields",
                                "What a PATCH may send: see the operation for what posts an update.")


class IncidentUpdateEdit(Body):
    """A correction of a posted update; its status and component statuses stay."""

    wants_twitter_update: Twitter = UNSET
    body: Annotated[str, Field(min_length=1, max_length=BODY_MAX, description=(
        "The corrected Markdown; not blank (422).")), rule(lambda value, field: clean_body(value, field, True))
    ] = UNSET
    display_at: Annotated[Any, checked_in_domain(Annotated[str, Field(json_schema_extra={"format": "date-time"})]),
                          Field(description=f"The corrected time readers see ({TIME_NOTE}); not in the future.")
                          ] = UNSET
    deliver_notifications: Annotated[bool, rule(parse_bool)] = UNSET


INCIDENT_CREATE = Wrapped("incident", IncidentCreate)
INCIDENT_UPDATE = Wrapped("incident", IncidentUpdateFields)
UPDATE_EDIT = Wrapped("incident_update", IncidentUpdateEdit)


# --- templates -------------------------------------------------------------------------------------


def _title(value: Any, field: str) -> str:
    return clean_name(value, field) if value not in (None, "") else ""


class IncidentTemplateCreate(Body):
    """A saved message: the name to pick it by, the incident name to suggest, and the update to post."""

    should_tweet: Annotated[bool, Field(description="We do not post to Twitter (true: 422)."),
                            only_false("We do not post to Twitter")] = False
    group_id: Annotated[None, Field(description="Templates here have no groups: an id is refused (422)."),
                        _refused_if_given("is not offered: templates here have no groups.")] = None
    component_ids: Annotated[Ids | None, Field(description=(
        "The components an incident made from it affects; unknown ids: 422.")), rule(_codes)] = []
    name: Annotated[Name, Field(description="Unique (ignoring case) among templates. Trimmed; at most 255 characters "
                                            "and not blank.")]
    title: Annotated[str | None, Field(max_length=255, description=(
        "The incident name to suggest; not blank if given.")), rule(_title)] = ""
    body: Annotated[str, Field(min_length=1, max_length=BODY_MAX, description="Markdown; not blank (422)."),
                    rule(lambda value, field: clean_body(value, field, True))]
    update_status: Annotated[str, Field(json_schema_extra={"enum": [s.value for s in TEMPLATE_STATUSES]}, description=(
        "The status an incident made from it starts at, or `scheduled`: a maintenance template (offered when "
        "scheduling maintenance).")), rule(parse_template_status)] = IncidentStatus.INVESTIGATING.value
    should_send_notifications: Annotated[bool, Field(description=(
        "Whether an update made from it notifies subscribers by default.")), rule(parse_bool)] = True


TEMPLATE_CREATE = Wrapped("template", IncidentTemplateCreate)


# --- operations ----------------------------------------------------------------------------------------

_ALL = "/pages/{page_id}/incidents"
_ONE = _ALL + "/{incident_id}"
INCIDENT_PAGING = Paging()
_UPDATE_NOTE = ("Sending `status`, `body` or `components` posts a new update (its status, its text, the component "
                "statuses it sets, and `name`, `impact_override`, `display_at`, `restore_components`, "
                "`deliver_notifications` with it). Otherwise `name` and `impact_override` change without an update. "
                "A maintenance's `scheduled_for` and `scheduled_until` reschedule it (before any update the same "
                "body posts). Fields that would change nothing here are refused by name (422), never ignored.")
_LISTS = (("unresolved", "listUnresolvedIncidents", "List unresolved incidents",
           "Incidents investigating, identified or monitoring, the most recently updated first."),
          ("upcoming", "listUpcomingMaintenance", "List upcoming maintenance",
           "Maintenance still scheduled, soonest first."),
          ("scheduled", "listScheduledMaintenance", "List maintenance",
           "The 100 newest maintenance windows, any status."),
          ("active_maintenance", "listActiveMaintenance", "List active maintenance",
           "Maintenance in progress or verifying, soonest first."))

INCIDENTS = Section(
    "Incidents", "Incidents and scheduled maintenance, with their timelines of updates.",
    (
        Operation("get", _ALL, "listIncidents", "List incidents and maintenance",
                  (200, "Newest first (by start), resolved ones included."), list[ManagedIncidentJson],
                  (400, *READ), query=(Query("q", str, "Only those whose name contains this (any case)."),),
                  paging=INCIDENT_PAGING),
        Operation("post", _ALL, "createIncident", "Create an incident or schedule a maintenance",
                  (201, "The new incident or maintenance."), ManagedIncidentJson, WITH_BODY, body=INCIDENT_CREATE,
                  example={"incident": {
                      "name": "Elevated API errors", "status": "investigating", "impact_override": "major",
                      "body": "We are investigating elevated error rates.", "component_ids": ["k1x2y3z4w5v6"],
                      "components": {"k1x2y3z4w5v6": "partial_outage"}, "deliver_notifications": True}},
                  description="An incident opens with its first update and sets the statuses in `components`; "
                              "notifications go out unless `deliver_notifications` is false. Sending `scheduled_for` "
                              "or `scheduled_until` (or a maintenance status) schedules a maintenance over "
                              "`component_ids` and the components in `components` instead. Every field Statuspage "
                              "defines is accepted when it asks for nothing we leave undone (Twitter off, no "
                              "metadata, default reminders) and refused by name otherwise (422), as is any unknown "
                              "field. Unknown component ids answer 404."),
        *(Operation("get", f"{_ALL}/{which}", operation_id, summary, (200, text), list[ManagedIncidentJson], READ)
          for which, operation_id, summary, text in _LISTS),
        Operation("get", _ONE, "getIncident", "Get an incident or maintenance", (200, "The incident or maintenance."),
                  ManagedIncidentJson, READ),
        *patch_and_put(Operation("patch", _ONE, "updateIncident", "Update an incident or maintenance",
                                 (200, "The incident or maintenance after the change."), ManagedIncidentJson,
                                 WITH_BODY, body=INCIDENT_UPDATE, description=_UPDATE_NOTE,
                                 example={"incident": {"status": "identified",
                                                       "body": "The cause is a failed database node.",
                                                       "components": {"k1x2y3z4w5v6": "major_outage"}}}),
                       "replaceIncident", put_description=_UPDATE_NOTE),
        Operation("delete", _ONE, "deleteIncident", "Delete an incident or maintenance",
                  (200, "The deleted incident, as it was."), ManagedIncidentJson, (401, 403, 404, 429),
                  description="Admins only. Its updates and postmortem go with it; component statuses stay as "
                              "they are."),
        *patch_and_put(Operation("patch", _ONE + "/incident_updates/{update_id}", "editIncidentUpdate",
                                 "Edit a posted update", (200, "The update after the change."), ManagedUpdateJson,
                                 WITH_BODY, body=UPDATE_EDIT,
                                 example={"incident_update": {"body": "We are investigating elevated error rates."}},
                                 description="Correct a posted update's text, shown time or notification flag; its "
                                             "status and component statuses stay. Nothing is sent again."),
                       "replaceIncidentUpdate", put_description="Correct a posted update's text, shown time or "
                                                                "notification flag; its status and component "
                                                                "statuses stay. Nothing is sent again."),
    ),
)

_TEMPLATES = "/pages/{page_id}/incident_templates"
TEMPLATES = Section(
    "Incident templates", "Saved messages that fill in a common incident update.",
    (
        Operation("get", _TEMPLATES, "listIncidentTemplates", "List incident templates",
                  (200, "Every template, by name."),
                  list[IncidentTemplateJson], READ),
        Operation("post", _TEMPLATES, "createIncidentTemplate", "Create an incident template",
                  (201, "The new template."), IncidentTemplateJson, (*WITH_BODY, 409), body=TEMPLATE_CREATE,
                  example={"template": {"name": "Cause identified", "update_status": "identified",
                                        "body": "We have found the cause and are fixing it."}},
                  description="409 when a template of that name exists."),
        Operation("delete", _TEMPLATES + "/{template_id}", "deleteIncidentTemplate", "Delete an incident template",
                  (200, "The deleted template, as it was."), IncidentTemplateJson, READ),
    ),
)
