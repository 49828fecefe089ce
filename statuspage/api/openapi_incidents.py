"""OpenAPI 3.1 paths and schemas of incidents, maintenance, their updates, templates and postmortems.

They document statuspage/api/v1_incidents.py and v1_postmortems.py. Like openapi_probes.py this
module holds plain dicts (built with openapi_blocks.py) that statuspage/api/openapi.py includes,
one `Section` per tag: `INCIDENTS`, `TEMPLATES` and `POSTMORTEMS`, each `(tag, description,
paths, schemas)`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from statuspage.api.incident_body import AUTO_SWITCHES, EDGE_NOTIFICATIONS, TWITTER
from statuspage.api.openapi_blocks import (
    DATE,
    ID,
    IGNORED,
    NAME,
    NULL,
    NULLABLE_TIMESTAMP,
    PAGE_ID,
    READ,
    STRING_IDS,
    TIMESTAMP,
    WITH_BODY,
    Schema,
    array_of,
    body,
    const,
    operation,
    paging,
    path_parameter,
    query_parameter,
    ref,
    request_object,
    response_object,
    wrapped,
)
from statuspage.incidents.rules import BODY_MAX, CLOCK_SKEW, MAINTENANCE_MAX_AHEAD, MAINTENANCE_MAX_WINDOW
from statuspage.models import ActionStatus, Impact, IncidentStatus, MaintenanceStatus
from statuspage.postmortems.document import SECTIONS
from statuspage.postmortems.editing import TIMELINE_LINE_MAX
from statuspage.postmortems.recorded import Figures
from statuspage.shapes import NO_COMPONENTS

INCIDENT_STATUSES = [s.value for s in IncidentStatus]
MAINTENANCE_STATUSES = [s.value for s in MaintenanceStatus]
OPEN_STATUSES = [s.value for s in IncidentStatus if s != IncidentStatus.POSTMORTEM]
IMPACTS = [i.value for i in Impact]
POSTMORTEM_SECTIONS = [key for key, _title in SECTIONS if key != "timeline"]
FIGURES = [label for label, _value in Figures(datetime(2024, 1, 1, tzinfo=UTC), None, None, None, None, None).rows]

INCIDENT_ID = path_parameter("incident_id", "The incident's (or maintenance's) id.")
UPDATE_ID = path_parameter("update_id", "The update's id, as the incident's `incident_updates` list it.")
TEMPLATE_ID = path_parameter("template_id", "The template's id.")

MESSAGE: Schema = {"type": ["string", "null"], "maxLength": BODY_MAX,
                   "description": f"Markdown, trimmed; at most {BODY_MAX:,} characters."}
TIME_NOTE = "ISO 8601 with an offset, in the years 1970 to 2999"
PAST_TIME: Schema = {"type": ["string", "null"], "format": "date-time",
                     "description": f"{TIME_NOTE}; not in the future (up to "
                                    f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock skew are taken "
                                    "as now). Null or empty means now."}
BOOLEAN: Schema = {"type": "boolean"}

# --- incidents ---------------------------------------------------------------------------------

AFFECTED = {
    "oneOf": [
        response_object({"code": ID, "name": {"type": "string"}, "old_status": ref("ComponentStatus"),
                         "new_status": ref("ComponentStatus")}),
        response_object({"name": {"type": "string", "const": NO_COMPONENTS[0]["name"]}}),
    ],
    "description": "A component this update changed (its status before and after), or Statuspage's one "
                   "entry saying that no component was affected.",
}

UPDATE = response_object({
    "id": ID,
    "status": {**ref("IncidentStatus"), "description": "The status this update set."},
    "body": {"type": "string"},
    "incident_id": ID,
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "display_at": {**TIMESTAMP, "description": "The time readers see; may be set back."},
    "affected_components": {"type": "array", "items": ref("AffectedComponent"), "minItems": 1},
    "deliver_notifications": BOOLEAN,
    "custom_tweet": NULL,
    "tweet_id": NULL,
    "twitter_updated_at": NULL,
    "wants_twitter_update": const(False, "We do not post to Twitter."),
})

INCIDENT = response_object({
    "id": ID,
    "name": {"type": "string"},
    "status": ref("IncidentStatus"),
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "monitoring_at": NULLABLE_TIMESTAMP,
    "resolved_at": {**NULLABLE_TIMESTAMP, "description": "When it was resolved (maintenance: completed)."},
    "impact": ref("Impact"),
    "shortlink": {"type": "string", "description": "The incident's public page."},
    "started_at": {**TIMESTAMP, "description": "When the trouble began, or when the maintenance started "
                                               "(its scheduled start until then)."},
    "page_id": ID,
    "incident_updates": {"type": "array", "items": ref("IncidentUpdate"), "description": "Newest first."},
    "components": {"type": "array", "items": ref("Component"), "description": "The affected components."},
    "scheduled_for": {**NULLABLE_TIMESTAMP, "description": "Maintenance only: the window's start."},
    "scheduled_until": {**NULLABLE_TIMESTAMP, "description": "Maintenance only: the window's end."},
    "impact_override": {"type": ["string", "null"], "enum": [*IMPACTS, None]},
    "metadata": {"type": "object", "maxProperties": 0, "description": "Always empty: metadata is not kept."},
    "incident_impacts": {"type": "array", "maxItems": 0},
    "postmortem_body": {"type": ["string", "null"], "description": "The published postmortem as Markdown."},
    "postmortem_body_last_updated_at": NULLABLE_TIMESTAMP,
    "postmortem_ignored": const(False),
    "postmortem_notified_subscribers": BOOLEAN,
    "postmortem_notified_twitter": const(False),
    "postmortem_published_at": NULLABLE_TIMESTAMP,
    "scheduled_remind_prior": const(False),
    "scheduled_reminded_at": NULL,
    "scheduled_auto_in_progress": {**BOOLEAN, "description": "Maintenance that moves itself at the window's "
                                                             "edges; always false for incidents."},
    "scheduled_auto_completed": BOOLEAN,
    "auto_transition_to_maintenance_state": BOOLEAN,
    "auto_transition_to_operational_state": BOOLEAN,
    "auto_transition_deliver_notifications_at_start": {
        **BOOLEAN, "description": "Whether the automatic move at the window's start notifies subscribers: it "
                                  "always does, so this is true exactly when the maintenance moves itself."},
    "auto_transition_deliver_notifications_at_end": BOOLEAN,
    "reminder_intervals": NULL,
})

AUTO_TRANSITION = {**BOOLEAN, "description": "Maintenance: whether it moves itself at the window's edges (in "
                                             "progress at the start, components under maintenance; completed at "
                                             "the end, components given back). We have one switch for Statuspage's "
                                             "five (`scheduled_auto_transition`, `scheduled_auto_in_progress`, "
                                             "`scheduled_auto_completed`, `auto_transition_to_maintenance_state`, "
                                             "`auto_transition_to_operational_state`): those sent must all be true "
                                             "or all false (422 otherwise); default true. Fixed once scheduled: an "
                                             "update may send the same value back. Incidents: only checked to be "
                                             "booleans."}
EDGE_NOTIFICATION = {**BOOLEAN, "description": "Maintenance: the automatic moves always notify subscribers, so "
                                               "false is refused (422) unless the maintenance does not move itself."}
ONLY_FALSE = {"type": "boolean", "const": False}
COMPONENT_ENTRY = {"type": "object", "additionalProperties": False, "required": ["status"],
                   "minProperties": 2,
                   "properties": {"id": {"type": "string"}, "component_id": {"type": "string"},
                                  "status": ref("ComponentStatus")},
                   "description": "One component and its status: `id` or `component_id` (the same if both)."}

INCIDENT_FIELDS: dict[str, Schema] = {
    "name": NAME,
    "status": {"type": "string", "enum": OPEN_STATUSES + MAINTENANCE_STATUSES + ["postmortem"],
               "description": "Create: an incident starts investigating (default), identified, monitoring or "
                              "resolved; a maintenance status (or `scheduled_for`) schedules a maintenance, "
                              "which starts `scheduled` (any other maintenance status is refused: move it on "
                              "with an update). Update: the next status; incidents move between the first four "
                              "(postmortem comes from publishing one), maintenance from scheduled to in_progress, "
                              "verifying and completed, never back to scheduled."},
    "impact_override": {"type": ["string", "null"], "enum": [*IMPACTS, "", None],
                        "description": "Set the impact instead of deriving it from component statuses; "
                                       "null or empty to derive it again. A maintenance's is always "
                                       "`maintenance` (any other value: 422)."},
    "body": {**MESSAGE, "description": MESSAGE["description"] + " The text of the first (or next) update."},
    "components": {
        "oneOf": [{"type": "object", "additionalProperties": ref("ComponentStatus")},
                  {"type": "array", "items": COMPONENT_ENTRY}, {"type": "null"}],
        "description": "Statuspage's map `{component_id: status}`, or a list of `{\"id\": ..., \"status\": ...}` "
                       "objects: the status each component gets with this update (a list naming one component "
                       "twice with two statuses: 422). A new maintenance sets no status: each must be "
                       "`under_maintenance` (taken when the window begins) or the component's status now, and "
                       "the component is affected."},
    "component_ids": {**STRING_IDS, "type": ["array", "null"],
                      "description": "Create: more affected components, whose status does not change (their "
                                     "subscribers are notified). Update: only components the incident affects "
                                     "or `components` sets (422 otherwise: add one by giving its status)."},
    "deliver_notifications": {**BOOLEAN, "description": "False posts silently (default true). A reschedule "
                                                        "without an update tells subscribers only when true."},
    "started_at": {**PAST_TIME, "description": "Incidents, on create: when the trouble began, if earlier. On "
                                               "update only the value shown may be sent back (422 otherwise). "
                                               + PAST_TIME["description"]},
    "display_at": {**PAST_TIME, "description": "Update only, with `status`, `body` or `components`: the time "
                                               "readers see for the new update (422 otherwise). "
                                               + PAST_TIME["description"]},
    "scheduled_for": {"type": "string", "format": "date-time",
                      "description": f"Maintenance: the window's start ({TIME_NOTE}), at most "
                                     f"{MAINTENANCE_MAX_AHEAD.days} days ahead. On update it reschedules: "
                                     "both edges may move while scheduled, only the end once begun, none once "
                                     "completed (422). Incidents: 422."},
    "scheduled_until": {"type": "string", "format": "date-time",
                        "description": "Maintenance: the window's end; after its start and now, at most "
                                       f"{MAINTENANCE_MAX_WINDOW.days} days after the start. On update it "
                                       "reschedules (an edge left out stays)."},
    **{name: AUTO_TRANSITION for name in AUTO_SWITCHES},
    **{name: EDGE_NOTIFICATION for name in EDGE_NOTIFICATIONS},
    "restore_components": {**BOOLEAN, "description": "Update only: resolving (or completing) gives the affected "
                                                     "components back unless false."},
    "metadata": {"type": ["object", "null"], "maxProperties": 0,
                 "description": "Not kept: only `{}` or null (anything else: 422)."},
    "reminder_intervals": {"type": ["string", "array", "null"], "items": {"type": "integer"},
                           "description": "We send no reminders to update an incident: only null, `[]` or "
                                          "Statuspage's default `[3, 6, 12, 24]` (as a string or a list) are "
                                          "accepted; other intervals: 422."},
    "scheduled_remind_prior": {**ONLY_FALSE, "description": "We send no reminder before a maintenance (true: 422)."},
    **{name: {**ONLY_FALSE, "description": "We do not post to Twitter (true: 422)."} for name in TWITTER},
    "backfilled": {**ONLY_FALSE, "description": "Backfilling is not offered (true: 422): open the incident with "
                                                "status resolved and `started_at`."},
    "backfill_date": {"type": ["null"], "description": "Backfilling is not offered: a date is refused (422)."},
}

UPDATE_EDIT = request_object({
    "body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX,
             "description": "The corrected Markdown; not blank (422)."},
    "display_at": {"type": "string", "format": "date-time",
                   "description": f"The corrected time readers see ({TIME_NOTE}); not in the future."},
    "deliver_notifications": BOOLEAN,
    "wants_twitter_update": {**ONLY_FALSE, "description": "We do not post to Twitter (true: 422)."},
})

INCIDENT_EXAMPLE = {"incident": {"name": "Elevated API errors", "status": "investigating",
                                 "impact_override": "major", "body": "We are investigating elevated error rates.",
                                 "component_ids": ["k1x2y3z4w5v6"], "components": {"k1x2y3z4w5v6": "partial_outage"},
                                 "deliver_notifications": True}}
TAG = "Incidents"


def _list(operation_id: str, summary: str, text: str, parameters: list[Schema] | None = None,
          errors: tuple[int, ...] = READ) -> Schema:
    return {"parameters": [PAGE_ID],
            "get": operation(operation_id, summary, tag=TAG, errors=errors, parameters=parameters,
                             ok=(200, text, array_of("Incident")))}


ONE = (200, "The incident or maintenance.", ref("Incident"))
CHANGED = (200, "The incident or maintenance after the change.", ref("Incident"))
UPDATE_BODY = wrapped("incident", "IncidentUpdateFields",
                      example={"incident": {"status": "identified", "body": "The cause is a failed database node.",
                                            "components": {"k1x2y3z4w5v6": "major_outage"}}})
UPDATE_NOTE = ("Sending `status`, `body` or `components` posts a new update (its status, its text, the "
               "component statuses it sets, and `name`, `impact_override`, `display_at`, `restore_components`, "
               "`deliver_notifications` with it). Otherwise `name` and `impact_override` change without an "
               "update. A maintenance's `scheduled_for` and `scheduled_until` reschedule it (before any update "
               "the same body posts). Fields that would change nothing here are refused by name (422), "
               "never ignored.")

INCIDENT_PATHS: dict[str, Schema] = {
    "/pages/{page_id}/incidents": {
        **_list("listIncidents", "List incidents and maintenance",
                "Newest first (by start), resolved ones included.",
                [query_parameter("q", {"type": "string"}, "Only those whose name contains this (any case)."),
                 *paging(100)], errors=(400, *READ)),
        "post": operation(
            "createIncident", "Create an incident or schedule a maintenance", tag=TAG, errors=WITH_BODY,
            ok=(201, "The new incident or maintenance.", ref("Incident")),
            request=wrapped("incident", "IncidentCreate", example=INCIDENT_EXAMPLE),
            description="An incident opens with its first update and sets the statuses in `components`; "
                        "notifications go out unless `deliver_notifications` is false. Sending `scheduled_for` "
                        "or `scheduled_until` (or a maintenance status) schedules a maintenance over "
                        "`component_ids` and the components in `components` instead. Every field Statuspage "
                        "defines is accepted when it asks for nothing we leave undone (Twitter off, no "
                        "metadata, default reminders) and refused by name otherwise (422), as is any unknown "
                        "field. Unknown component ids answer 404."),
    },
    "/pages/{page_id}/incidents/unresolved": _list(
        "listUnresolvedIncidents", "List unresolved incidents",
        "Incidents investigating, identified or monitoring, the most recently updated first."),
    "/pages/{page_id}/incidents/upcoming": _list(
        "listUpcomingMaintenance", "List upcoming maintenance", "Maintenance still scheduled, soonest first."),
    "/pages/{page_id}/incidents/scheduled": _list(
        "listScheduledMaintenance", "List maintenance", "The 100 newest maintenance windows, any status."),
    "/pages/{page_id}/incidents/active_maintenance": _list(
        "listActiveMaintenance", "List active maintenance", "Maintenance in progress or verifying, soonest first."),
    "/pages/{page_id}/incidents/{incident_id}": {
        "parameters": [PAGE_ID, INCIDENT_ID],
        "get": operation("getIncident", "Get an incident or maintenance", tag=TAG, errors=READ, ok=ONE),
        "patch": operation("updateIncident", "Update an incident or maintenance", tag=TAG, errors=WITH_BODY,
                           ok=CHANGED, request=UPDATE_BODY, description=UPDATE_NOTE),
        "put": operation("replaceIncident", "Update an incident or maintenance (same as PATCH)", tag=TAG,
                         errors=WITH_BODY, ok=CHANGED, request=UPDATE_BODY, description=UPDATE_NOTE),
        "delete": operation("deleteIncident", "Delete an incident or maintenance", tag=TAG,
                            errors=(401, 403, 404, 429), ok=(200, "The deleted incident, as it was.", ref("Incident")),
                            description="Admins only. Its updates and postmortem go with it; component "
                                        "statuses stay as they are."),
    },
    "/pages/{page_id}/incidents/{incident_id}/incident_updates/{update_id}": {
        "parameters": [PAGE_ID, INCIDENT_ID, UPDATE_ID],
        **{method: operation(
            f"{verb}IncidentUpdate", summary, tag=TAG, errors=WITH_BODY,
            ok=(200, "The update after the change.", ref("IncidentUpdate")),
            request=wrapped("incident_update", "IncidentUpdateEdit",
                            example={"incident_update": {"body": "We are investigating elevated error rates."}}),
            description="Correct a posted update's text, shown time or notification flag; its status and "
                        "component statuses stay. Nothing is sent again.")
           for method, verb, summary in (("patch", "edit", "Edit a posted update"),
                                         ("put", "replace", "Edit a posted update (same as PATCH)"))},
    },
}

INCIDENT_SCHEMAS: dict[str, Schema] = {
    "IncidentStatus": {"type": "string", "enum": INCIDENT_STATUSES + MAINTENANCE_STATUSES,
                       "description": "Incidents: investigating, identified, monitoring, resolved, postmortem "
                                      "(a postmortem is published). Maintenance: scheduled, in_progress, "
                                      "verifying, completed."},
    "Impact": {"type": "string", "enum": IMPACTS,
               "description": "Derived from the worst component status an incident set, unless overridden; "
                              "maintenance is always `maintenance`."},
    "AffectedComponent": AFFECTED,
    "IncidentUpdate": UPDATE,
    "Incident": INCIDENT,
    "IncidentCreate": request_object(INCIDENT_FIELDS, required=("name",)),
    "IncidentUpdateFields": request_object(INCIDENT_FIELDS),
    "IncidentUpdateEdit": UPDATE_EDIT,
}

INCIDENTS = (TAG, "Incidents and scheduled maintenance, with their timelines of updates.",
             INCIDENT_PATHS, INCIDENT_SCHEMAS)

# --- templates -----------------------------------------------------------------------------------

TEMPLATE_TAG = "Incident templates"
TEMPLATE = response_object({
    "id": ID,
    "name": {"type": "string"},
    "title": {"type": "string", "description": "The incident name it suggests; empty for none."},
    "body": {"type": "string"},
    "update_status": {"type": "string", "enum": INCIDENT_STATUSES},
    "group_id": NULL,
    "should_tweet": const(False),
    "should_send_notifications": {**BOOLEAN, "description": "Whether an update made from it notifies by default."},
    "components": {"type": "array", "items": ref("Component"),
                   "description": "The components an incident made from it affects (those that still exist)."},
    "component_ids": {**STRING_IDS, "description": "Ours: the ids of `components`."},
})
TEMPLATE_FIELDS = request_object({
    "name": {**NAME, "description": "Unique (ignoring case) among templates. " + NAME["description"]},
    "title": {"type": ["string", "null"], "maxLength": NAME["maxLength"],
              "description": "The incident name to suggest; not blank if given."},
    "body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX, "description": "Markdown; not blank (422)."},
    "update_status": {"type": "string", "enum": INCIDENT_STATUSES, "description": "Default investigating."},
    "component_ids": {**STRING_IDS, "type": ["array", "null"],
                      "description": "The components an incident made from it affects; unknown ids: 422."},
    "should_send_notifications": {**BOOLEAN, "description": "Whether an update made from it notifies "
                                                            "subscribers by default (default true)."},
    "should_tweet": {**ONLY_FALSE, "description": "We do not post to Twitter (true: 422)."},
    "group_id": {"type": ["null"], "description": "Templates here have no groups: an id is refused (422)."},
}, required=("name", "body"))

TEMPLATE_PATHS: dict[str, Schema] = {
    "/pages/{page_id}/incident_templates": {
        "parameters": [PAGE_ID],
        "get": operation("listIncidentTemplates", "List incident templates", tag=TEMPLATE_TAG, errors=READ,
                         ok=(200, "Every template, by name.", array_of("IncidentTemplate"))),
        "post": operation("createIncidentTemplate", "Create an incident template", tag=TEMPLATE_TAG,
                          errors=(*WITH_BODY, 409), ok=(201, "The new template.", ref("IncidentTemplate")),
                          request=wrapped("template", "IncidentTemplateCreate", example={"template": {
                              "name": "Cause identified", "body": "We have found the cause and are fixing it.",
                              "update_status": "identified"}}),
                          description="409 when a template of that name exists."),
    },
    "/pages/{page_id}/incident_templates/{template_id}": {
        "parameters": [PAGE_ID, TEMPLATE_ID],
        "delete": operation("deleteIncidentTemplate", "Delete an incident template", tag=TEMPLATE_TAG,
                            errors=READ, ok=(200, "The deleted template, as it was.", ref("IncidentTemplate"))),
    },
}

TEMPLATES = (TEMPLATE_TAG, "Saved messages that fill in a common incident update.", TEMPLATE_PATHS,
             {"IncidentTemplate": TEMPLATE, "IncidentTemplateCreate": TEMPLATE_FIELDS})

# --- postmortems ----------------------------------------------------------------------------------

POSTMORTEM_TAG = "Postmortems"
TIMELINE_LINE = {
    "type": "object", "additionalProperties": False, "required": ["key", "at", "text", "source", "removed"],
    "properties": {
        "key": {"type": "string", "description": "Which recorded moment an `auto` line comes from."},
        "at": {"type": "string", "format": "date-time"},
        "text": {"type": "string"},
        "source": {"type": "string", "enum": ["auto", "manual"],
                   "description": "`auto`: drafted from what was recorded; `manual`: written by a person."},
        "removed": {**BOOLEAN, "description": "Kept but left out of the postmortem."},
        "edited": {**BOOLEAN, "description": "An `auto` line a person changed (drafting again keeps it)."},
    },
}
TIMELINE_INPUT = {
    "type": "object", "required": ["at", "text"],
    "description": "A line as edited: `key` keeps an existing line's identity, a new key makes a manual line.",
    "properties": {
        "key": {"type": "string"},
        "at": {"type": "string", "format": "date-time",
               "description": "ISO 8601 (no offset means the page's time zone); from a week before the incident "
                              "started until now."},
        "text": {"type": "string", "minLength": 1, "maxLength": TIMELINE_LINE_MAX, "pattern": r"\S"},
        "removed": BOOLEAN,
    },
}
SECTION_TEXT = {"type": "string", "maxLength": BODY_MAX}

POSTMORTEM = response_object({
    "incident_id": ID,
    "body": {"type": ["string", "null"], "description": "The published postmortem as Markdown (public items "
                                                        "only); null while unpublished."},
    "body_draft": {"type": "string", "description": "The current draft as Markdown."},
    "body_updated_at": TIMESTAMP,
    "body_draft_updated_at": TIMESTAMP,
    "published_at": NULLABLE_TIMESTAMP,
    "revised_at": {**NULLABLE_TIMESTAMP, "description": "When a published postmortem was last edited."},
    "notify_subscribers": {**BOOLEAN, "description": "Whether subscribers were told when it was published."},
    "notify_twitter": const(False),
    "custom_tweet": NULL,
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "sections": response_object({key: {"type": "string"} for key in POSTMORTEM_SECTIONS}),
    "timeline": {"type": "array", "items": TIMELINE_LINE},
    "figures": {**response_object({label: {"type": "string"} for label in FIGURES}),
                "description": "What the status page measured (durations like `1 h 5 min`, or `n/a`)."},
    "action_items": {"type": "array", "items": response_object({
        "id": ID, "title": {"type": "string"}, "owner": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": [s.value for s in ActionStatus]},
        "due_date": {**DATE, "type": ["string", "null"]}, "link": {"type": ["string", "null"]},
        "public": BOOLEAN})},
    "markdown": {"type": "string", "description": "The same as `body_draft`."},
})

DRAFT = request_object({
    "body_draft": {"type": "string", "maxLength": BODY_MAX * 4,
                   "description": "Markdown split into sections by `## <section title>` headings (`## Root cause`); "
                                  "text before the first one is the summary. The timeline is kept as lines."},
    "sections": request_object({key: SECTION_TEXT for key in POSTMORTEM_SECTIONS},
                               description="Sections to set, each Markdown; they win over `body_draft`."),
    "timeline": {"type": "array", "items": TIMELINE_INPUT, "description": "The whole timeline, replacing it."},
})
PUBLISH = request_object({
    "notify_subscribers": {**BOOLEAN, "description": "Tell subscribers (default true)."},
    "notify_twitter": IGNORED,
    "custom_tweet": IGNORED,
})

POSTMORTEM_OK = (200, "The postmortem.", ref("Postmortem"))
POSTMORTEM_PATHS: dict[str, Schema] = {
    "/pages/{page_id}/incidents/{incident_id}/postmortem": {
        "parameters": [PAGE_ID, INCIDENT_ID],
        "get": operation("getPostmortem", "Get the postmortem", tag=POSTMORTEM_TAG, errors=READ, ok=POSTMORTEM_OK,
                         description="Our extension: Statuspage's fields with the sections, timeline, figures, "
                                     "action items and Markdown. 404 until one is started."),
        "put": operation("writePostmortem", "Write the postmortem draft", tag=POSTMORTEM_TAG, errors=WITH_BODY,
                         ok=(200, "The postmortem after the change.", ref("Postmortem")),
                         request=wrapped("postmortem", "PostmortemDraft",
                                         example={"postmortem": {"body_draft": "## Root cause\n\nA full disk."}}),
                         description="Starts the postmortem of a resolved incident (from the template, with a "
                                     "timeline drafted from what was recorded) if there is none, then applies "
                                     "the changes. 422 for maintenance and unresolved incidents. Editing a "
                                     "published postmortem keeps the old text as a revision."),
        "delete": operation("deletePostmortem", "Delete the postmortem draft", tag=POSTMORTEM_TAG,
                            errors=(*READ, 422), ok=(200, "The deleted postmortem, as it was.", ref("Postmortem")),
                            description="422 while it is published: revert it first."),
    },
    "/pages/{page_id}/incidents/{incident_id}/postmortem/publish": {
        "parameters": [PAGE_ID, INCIDENT_ID],
        "put": operation("publishPostmortem", "Publish the postmortem", tag=POSTMORTEM_TAG, errors=WITH_BODY,
                         ok=(200, "The published postmortem.", ref("Postmortem")),
                         request=body(request_object({"postmortem": ref("PostmortemPublish")}), required=False,
                                      form_keys=("postmortem",),
                                      example={"postmortem": {"notify_subscribers": True}}),
                         description="The incident becomes `postmortem` and the public page shows it. 422 "
                                     "when summary, root cause, impact, resolution or conclusion is empty, "
                                     "or when it is already published; 404 when there is none."),
    },
    "/pages/{page_id}/incidents/{incident_id}/postmortem/revert": {
        "parameters": [PAGE_ID, INCIDENT_ID],
        "put": operation("revertPostmortem", "Unpublish the postmortem", tag=POSTMORTEM_TAG, errors=(*READ, 422),
                         ok=(200, "The postmortem, unpublished.", ref("Postmortem")),
                         description="The incident is `resolved` again. 422 when nothing is published."),
    },
}

POSTMORTEMS = (POSTMORTEM_TAG, "An incident's postmortem: Statuspage's draft, publish and revert, over our "
                               "structured sections, drafted timeline and measured figures.",
               POSTMORTEM_PATHS,
               {"Postmortem": POSTMORTEM, "PostmortemDraft": DRAFT, "PostmortemPublish": PUBLISH})
