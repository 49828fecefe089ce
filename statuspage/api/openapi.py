"""The OpenAPI 3.1 document of the management API (v1), served at /api/v1/openapi.json.

Written by hand from small pieces so that it says what the v1 views do, no more:
each feature is a `Section` (its tag, its schemas, its path items) and
`SECTIONS` lists them. To document a new endpoint:

1. write its object and input schemas (use `ref("Name")` to point at them);
2. build its path items with `operation(...)` (or `resource_paths(...)` for the
   usual list/create + get/update/delete pair), paths relative to `/api/v1`;
3. return them in a `Section` from a function and append that function to `SECTIONS`.

Larger features keep their paths and schemas in a module of their own, included
here as sections: openapi_probes.py, openapi_incidents.py (incidents, templates,
postmortems) and openapi_subscribers.py, the last two built with openapi_blocks.py.

`tests/test_openapi.py` fails until every v1 route is documented and every
documented path is served, and checks real responses against these schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from flask import Blueprint, jsonify

from statuspage.api import openapi_incidents, openapi_probes, openapi_subscribers
from statuspage.models import DESCRIPTION_MAX, NAME_MAX, ComponentStatus
from statuspage.page import profile

bp = Blueprint("openapi", __name__)

Schema = dict[str, Any]
SERVER = "/api/v1"

# --- building blocks ---------------------------------------------------------------------------


def ref(name: str) -> Schema:
    """A reference to a schema in components/schemas."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null (OpenAPI 3.1 spells it as a type list)."""
    return {**schema, "type": [schema["type"], "null"]}


def obj(properties: dict[str, Schema], required: list[str] | tuple[str, ...] = ()) -> Schema:
    """A closed object: fields outside `properties` are an error in requests and a bug in responses."""
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def list_of(name: str) -> Schema:
    """A plain JSON array of one named schema, as Statuspage lists things."""
    return {"type": "array", "items": ref(name)}


def response_of(object_schema: Schema) -> Schema:
    """The response object's schema: every listed property is always present."""
    return {**object_schema, "required": list(object_schema["properties"])}


TIMESTAMP: Schema = {"type": "string", "format": "date-time",
                     "description": "ISO 8601 with milliseconds, in the page's time zone."}
ID: Schema = {"type": "string", "description": "An opaque public id (12 lowercase letters and digits)."}
NAME: Schema = {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": r"\S",
                "description": f"Trimmed; at most {NAME_MAX} characters and not blank."}
DESCRIPTION: Schema = {"type": ["string", "null"], "maxLength": DESCRIPTION_MAX,
                       "description": f"At most {DESCRIPTION_MAX} characters; empty or null means none."}
POSITION: Schema = {"type": "integer", "minimum": 1, "maximum": 100_000,
                    "description": "1-based order among siblings; larger values move the item last."}


def wrapped_body(key: str, inner: Schema, beside: dict[str, Schema] | None = None,
                 example: Any = None) -> Schema:
    """A request body that wraps the object under `key`, as JSON or as a bracketed form."""
    schema = obj({key: inner, **(beside or {})}, required=[key])
    form_encoding = {key: {"style": "deepObject", "explode": True}}
    json_media: Schema = {"schema": schema}
    if example is not None:
        json_media["example"] = example
    return {
        "required": True,
        "content": {
            "application/json": json_media,
            "application/x-www-form-urlencoded": {"schema": schema, "encoding": form_encoding},
        },
    }


# Every 4xx answers the same JSON; the name under components/responses for each status we use.
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The body is not valid JSON, not a JSON object, or has conflicting form keys."),
    401: ("Unauthorized", "The API key is missing, unknown or malformed, or header and `api_key` disagree."),
    403: ("Forbidden", "The key belongs to a responder and the change needs an admin."),
    404: ("NotFound", "Nothing has that id: the page, the object in the path, or one named in the body."),
    409: ("Conflict", "The change clashes with existing data, e.g. a duplicate name in the same group."),
    413: ("PayloadTooLarge", "The body is larger than 2 MiB."),
    415: ("UnsupportedMediaType", "The body is neither `application/json` nor a form."),
    422: ("Unprocessable", "The body is well-formed but breaks a rule: unknown field, missing or bad value."),
    429: ("TooManyRequests", "Over the key's request allowance (`STATUSPAGE_API_RATE_LIMIT`); see Retry-After."),
}
READ_ERRORS = (401, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429)
DELETE_ERRORS = (401, 403, 404, 429)


ERROR: Schema = response_of(obj({
    "error": response_of(obj({
        "code": {"type": "string", "description": "Machine-readable, e.g. `invalid`, `not_found`, "
                                                  "`conflict`, `unauthorized`, `forbidden`, `bad_request`."},
        "message": {"type": "string", "description": "For people."},
        "field": {"type": ["string", "null"], "description": "The input the error is about, if one is."},
    })),
    "message": {"type": "string", "description": "The same message, where Statuspage clients look for it."},
}))

SECURITY_SCHEMES: dict[str, Schema] = {
    "OAuthHeader": {"type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "`OAuth <key>` (Statuspage's form) or `Bearer <key>`."},
    "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key",
                    "description": "The key as a query parameter."},
}


def json_response(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_responses() -> dict[str, Schema]:
    """components/responses: one per error status, all with the `Error` body."""
    responses = {name: json_response(description, ref("Error")) for name, description in ERRORS.values()}
    responses["TooManyRequests"]["headers"] = {
        "Retry-After": {"description": "Seconds until the key may call again.", "schema": {"type": "integer"}},
    }
    return responses


class OperationParts(TypedDict):
    """The keyword arguments of `operation` that a PATCH and its PUT twin share."""

    tag: str
    ok: tuple[int, str, Schema]
    errors: tuple[int, ...]
    body: Schema | None


def operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    ok: tuple[int, str, Schema],
    errors: tuple[int, ...],
    body: Schema | None = None,
    description: str | None = None,
) -> Schema:
    """One operation: its success response `(status, description, schema)` and the errors it can answer."""
    status, ok_description, ok_schema = ok
    item: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        item["description"] = description
    if body is not None:
        item["requestBody"] = body
    item["responses"] = {
        str(status): json_response(ok_description, ok_schema),
        **{str(code): {"$ref": f"#/components/responses/{ERRORS[code][0]}"} for code in errors},
    }
    return item


def path_parameter(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}


PAGE_ID = path_parameter("page_id", "The page's id, as `GET /pages` lists it.")


def resource_paths(
    *,
    collection: str,
    item_parameter: str,
    tag: str,
    noun: str,
    schema: str,
    create_body: Schema,
    update_body: Schema,
    names: tuple[str, str],
    notes: dict[str, str] | None = None,
) -> dict[str, Schema]:
    """The two path items of a Statuspage-style resource: list/create, and get/update/replace/delete.

    `names` is the (singular, plural) used in operation ids, e.g. ("Component", "Components").
    """
    one, many = names
    notes = notes or {}
    item_path = f"{collection}/{{{item_parameter}}}"
    update: OperationParts = {
        "tag": tag, "ok": (200, f"The {noun} after the change.", ref(schema)),
        "errors": WRITE_ERRORS, "body": update_body,
    }
    return {
        collection: {
            "parameters": [PAGE_ID],
            "get": operation(f"list{many}", f"List {noun}s", tag=tag, errors=READ_ERRORS,
                             ok=(200, f"Every {noun}, in page order.", list_of(schema)),
                             description=notes.get("list")),
            "post": operation(f"create{one}", f"Create a {noun}", tag=tag, errors=WRITE_ERRORS,
                              ok=(201, f"The new {noun}.", ref(schema)), body=create_body,
                              description=notes.get("create")),
        },
        item_path: {
            "parameters": [PAGE_ID, path_parameter(item_parameter, f"The {noun}'s id.")],
            "get": operation(f"get{one}", f"Get a {noun}", tag=tag, errors=READ_ERRORS,
                             ok=(200, f"The {noun}.", ref(schema))),
            "patch": operation(f"update{one}", f"Update a {noun}", description=notes.get("update"), **update),
            "put": operation(f"replace{one}", f"Update a {noun} (same as PATCH)",
                             description="Statuspage's PUT: fields left out keep their value, as with PATCH.",
                             **update),
            "delete": operation(f"delete{one}", f"Delete a {noun}", tag=tag, errors=DELETE_ERRORS,
                                ok=(200, f"The deleted {noun}, as it was.", ref(schema)),
                                description=notes.get("delete")),
        },
    }


@dataclass(frozen=True)
class Section:
    """One feature's part of the document."""

    tag: str
    description: str
    paths: dict[str, Schema]
    schemas: dict[str, Schema] = field(default_factory=dict)


# --- pages -------------------------------------------------------------------------------------

PAGE_SWITCHES = ("allow_page_subscribers", "allow_incident_subscribers", "allow_email_subscribers",
                 "allow_rss_atom_feeds", "allow_webhook_subscribers")
ALWAYS_NULL: Schema = {"type": "null", "description": "Always null: Statuspage's field for something we do not offer."}
NULLABLE_TEXT: Schema = {"type": ["string", "null"]}

def _fixed_page_field(name: str) -> Schema:
    """A Statuspage page field we do not offer: the value GET always shows."""
    reason = profile.FIXED_BECAUSE[name]
    if name in profile.CSS_COLOURS:
        return {"type": "string", "const": profile.CSS_COLOURS[name], "description": reason.capitalize() + "."}
    if name == "domain":
        return {"type": "string", "description": "The host (and path) of `STATUSPAGE_BASE_URL`."}
    if name == "branding":
        return {"type": "string", "const": "basic"}
    if name in ("hidden_from_search", "viewers_must_be_team_members"):
        return {"type": "boolean", "const": False, "description": reason.capitalize() + "."}
    return ALWAYS_NULL


PAGE = response_of(obj({
    "id": ID,
    "name": {"type": "string"},
    "url": {"type": "string", "description": "The public page's address."},
    "time_zone": {"type": "string", "description": "IANA time zone name, e.g. `Europe/Berlin`; times are shown "
                                                   "in it."},
    "updated_at": TIMESTAMP,
    "created_at": TIMESTAMP,
    **{name: {"type": "boolean"} for name in PAGE_SWITCHES},
    "allow_sms_subscribers": {"type": "boolean", "const": False, "description": "SMS is not offered."},
    "notifications_from_email": {**NULLABLE_TEXT, "description": "The sender of notification mail, if set."},
    "notifications_email_footer": NULLABLE_TEXT,
    "owner_email": NULLABLE_TEXT,
    "activity_score": {"type": "integer", "const": 0},
    **{name: _fixed_page_field(name) for name in profile.FIXED_BECAUSE},
}))

OPTIONAL_EMAIL: Schema = {"type": ["string", "null"], "format": "email", "description": "Null or empty for none."}
SENT_BACK: Schema = {"description": "Read-only: accepted (a tool may send the whole page object back) and "
                                    "ignored; `id` must be the page's own."}
PAGE_FIELDS: dict[str, Schema] = {
    "name": NAME,
    "url": {"type": ["string", "null"], "maxLength": NAME_MAX, "pattern": "^(https?://|$)",
            "description": "The public page's address, http(s); null or empty to use `STATUSPAGE_BASE_URL`."},
    "time_zone": {"type": "string", "minLength": 1, "maxLength": 64,
                  "description": "An IANA time zone name, e.g. `Europe/Berlin`."},
    **{name: {"type": "boolean"} for name in PAGE_SWITCHES},
    "allow_sms_subscribers": {"type": "boolean", "const": False, "description": "SMS is not offered: true is 422."},
    "notifications_from_email": {**OPTIONAL_EMAIL, "description": "The sender of notification mail; null or "
                                                                  "empty for `STATUSPAGE_MAIL_FROM`."},
    "notifications_email_footer": {"type": ["string", "null"], "maxLength": 2000},
    "owner_email": OPTIONAL_EMAIL,
    **dict.fromkeys(sorted(profile.READ_ONLY), SENT_BACK),
    **{name: {"description": f"Not offered ({profile.FIXED_BECAUSE[name]}): accepted when it keeps the value "
                             "GET shows (colours in any hex spelling), 422 naming the reason otherwise."}
       for name in profile.FIXED_BECAUSE},
}


def pages_section() -> Section:
    tag = "Pages"
    update: OperationParts = {
        "tag": tag, "errors": (400, 401, 403, 404, 413, 415, 422, 429), "ok": (200, "The page after the change.",
                                                                             ref("Page")),
        "body": wrapped_body("page", ref("PageUpdate"),
                             example={"page": {"name": "Acme Cloud", "time_zone": "America/New_York"}}),
    }
    return Section(
        tag=tag,
        description="The one status page this installation serves: its profile and subscriber switches.",
        schemas={"Page": PAGE, "PageUpdate": obj(PAGE_FIELDS)},
        paths={
            "/pages": {
                "get": operation("listPages", "List pages", tag=tag, errors=(401, 429),
                                 ok=(200, "A list holding the one page.", list_of("Page")),
                                 description="Any valid key may call it; the `id` is the `page_id` to use."),
            },
            "/pages/{page_id}": {
                "parameters": [PAGE_ID],
                "get": operation("getPage", "Get the page profile", tag=tag, errors=READ_ERRORS,
                                 ok=(200, "The page.", ref("Page"))),
                "patch": operation("updatePage", "Update the page profile", **update,
                                   description="Admins only. Every field is checked before any is written. "
                                               "A new time zone applies to every time shown from then on. "
                                               "The whole object GET returns may be sent back: fields we do "
                                               "not offer (`domain`, `css_*` ...) are accepted unchanged and "
                                               "refused (422, with the reason) when they would change."),
                "put": operation("replacePage", "Update the page profile (same as PATCH)", **update,
                                 description="Statuspage's PUT: fields left out keep their value, as with PATCH."),
            },
        },
    )


# --- components --------------------------------------------------------------------------------

STATUS: Schema = {"type": "string", "enum": [s.value for s in ComponentStatus],
                  "description": "Statuspage's component statuses."}

COMPONENT_FIELDS: dict[str, Schema] = {
    "name": {**NAME, "description": "Unique (ignoring case) within its group, or among ungrouped ones."},
    "description": DESCRIPTION,
    "status": ref("ComponentStatus"),
    "group_id": {"type": ["string", "null"],
                 "description": "The id of the group to put it in; null or empty for the top level."},
    "showcase": {"type": "boolean", "description": "Show uptime bars for it."},
    "only_show_if_degraded": {"type": "boolean", "description": "Hide it while it is operational."},
    "start_date": {"type": ["string", "null"], "format": "date",
                   "description": "When uptime counting starts (YYYY-MM-DD); null or empty for none."},
    "position": POSITION,
}

COMPONENT = response_of(obj({
    "id": ID,
    "page_id": ID,
    "group_id": nullable(ID),
    "name": {"type": "string"},
    "description": {"type": ["string", "null"]},
    "status": ref("ComponentStatus"),
    "position": {"type": "integer", "description": "Order within its group, or among top-level items."},
    "showcase": {"type": "boolean"},
    "only_show_if_degraded": {"type": "boolean"},
    "start_date": {"type": ["string", "null"], "format": "date"},
    "group": {"type": "boolean", "const": False, "description": "Always false: groups have their own paths."},
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
}))


UPTIME = response_of(obj({
    "id": ID,
    "name": {"type": "string"},
    "range_start": {"type": "string", "format": "date"},
    "range_end": {"type": "string", "format": "date"},
    "uptime_percentage": {"type": ["number", "null"], "minimum": 0, "maximum": 100,
                          "description": "Weighted as on the public page (a partial outage counts less than a "
                                         "major one); null when the range holds no time to measure."},
    "major_outage": {"type": "integer", "minimum": 0, "description": "Seconds in major outage."},
    "partial_outage": {"type": "integer", "minimum": 0, "description": "Seconds in partial outage."},
    "warnings": {"type": "array", "items": {"type": "string"},
                 "description": "Why the figure covers less than asked, e.g. the component began later."},
    "related_events": response_of(obj({
        "incidents": {"type": "array", "description": "Incidents and maintenance that touched it in the range.",
                      "items": response_of(obj({"id": ID, "name": {"type": "string"}, "started_at": TIMESTAMP,
                                                "resolved_at": nullable(TIMESTAMP)}))},
    })),
}))


def uptime_path(tag: str) -> dict[str, Schema]:
    day = {"type": "string", "format": "date"}
    return {"/pages/{page_id}/components/{component_id}/uptime": {
        "parameters": [PAGE_ID, path_parameter("component_id", "The component's id.")],
        "get": {
            **operation("getComponentUptime", "Get a component's uptime", tag=tag, errors=(400, *READ_ERRORS),
                        ok=(200, "The component's uptime over the range (UTC days, both included).",
                            ref("ComponentUptime")),
                        description="400 when a date is malformed, `end` is before `start` or in the future, "
                                    "or the range is longer than a year."),
            "parameters": [
                {"name": "start", "in": "query", "schema": day,
                 "description": "The first day (YYYY-MM-DD); default the component's start date, else 89 days ago."},
                {"name": "end", "in": "query", "schema": day, "description": "The last day; default today (UTC)."},
            ],
        },
    }}


def components_section() -> Section:
    tag = "Components"
    return Section(
        tag=tag,
        description="The parts of the service whose status customers follow.",
        schemas={
            "ComponentStatus": STATUS,
            "Component": COMPONENT,
            "ComponentCreate": obj(COMPONENT_FIELDS, required=["name"]),
            "ComponentUpdate": obj(COMPONENT_FIELDS),
            "ComponentUptime": UPTIME,
        },
        paths={**resource_paths(
            collection="/pages/{page_id}/components",
            item_parameter="component_id",
            tag=tag,
            noun="component",
            schema="Component",
            names=("Component", "Components"),
            create_body=wrapped_body("component", ref("ComponentCreate"),
                                     example={"component": {"name": "API", "status": "operational"}}),
            update_body=wrapped_body("component", ref("ComponentUpdate"),
                                     example={"component": {"status": "partial_outage"}}),
            notes={
                "list": "Grouped components follow their group's position; each group's in its own order.",
                "create": "A new component goes last in its group (or on the page) "
                          "unless `position` says otherwise; its first status is kept in its history.",
                "update": "Any key (admin or responder) may change any field. "
                          "A status change is kept in the component's history and the audit log.",
                "delete": "The component's history goes with it; the audit log keeps a record.",
            },
        ), **uptime_path(tag)},
    )


# --- component groups --------------------------------------------------------------------------

GROUP_FIELDS: dict[str, Schema] = {
    "name": {**NAME, "description": "Unique (ignoring case) among groups."},
    "description": DESCRIPTION,
    "components": {"type": "array", "items": {"type": "string"},
                   "description": "The ids of the components in the group, in the order to add them. "
                                  "On update, components left out move to the top level."},
    "position": POSITION,
}

GROUP = response_of(obj({
    "id": ID,
    "page_id": ID,
    "name": {"type": "string"},
    "description": {"type": ["string", "null"]},
    "components": {"type": "array", "items": ID, "description": "Member ids, in their order."},
    "position": {"type": "integer", "description": "Order among top-level items (groups and components)."},
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
}))

# Statuspage puts the group's description beside the wrapped object.
GROUP_BESIDE = {"description": {**DESCRIPTION, "description": "The group's description (Statuspage's place "
                                                              "for it); used unless the object has one."}}


def component_groups_section() -> Section:
    tag = "Component groups"
    return Section(
        tag=tag,
        description="Named sets of components shown together.",
        schemas={
            "ComponentGroup": GROUP,
            "ComponentGroupCreate": obj(GROUP_FIELDS, required=["name"]),
            "ComponentGroupUpdate": obj(GROUP_FIELDS),
        },
        paths=resource_paths(
            collection="/pages/{page_id}/component-groups",
            item_parameter="group_id",
            tag=tag,
            noun="component group",
            schema="ComponentGroup",
            names=("ComponentGroup", "ComponentGroups"),
            create_body=wrapped_body(
                "component_group", ref("ComponentGroupCreate"), GROUP_BESIDE,
                example={"component_group": {"name": "Backend", "components": []}, "description": "Servers"},
            ),
            update_body=wrapped_body("component_group", ref("ComponentGroupUpdate"), GROUP_BESIDE,
                                     example={"component_group": {"name": "Core services"}}),
            notes={
                "create": "The group goes last on the page; listed components move into it.",
                "update": "Any key (admin or responder) may change any field.",
                "delete": "Its components stay, moved to the top level.",
            },
        ),
    )


# --- probes (our extension; its paths and schemas live in openapi_probes.py) ------------------


def probes_section() -> Section:
    return Section(tag=openapi_probes.TAG, description=openapi_probes.TAG_DESCRIPTION,
                   paths=openapi_probes.PATHS, schemas=openapi_probes.SCHEMAS)


# --- incidents, templates, postmortems, subscribers (in openapi_incidents.py, openapi_subscribers.py) ---


def incidents_section() -> Section:
    return Section(*openapi_incidents.INCIDENTS)


def incident_templates_section() -> Section:
    return Section(*openapi_incidents.TEMPLATES)


def postmortems_section() -> Section:
    return Section(*openapi_incidents.POSTMORTEMS)


def subscribers_section() -> Section:
    return Section(tag=openapi_subscribers.TAG, description=openapi_subscribers.TAG_DESCRIPTION,
                   paths=openapi_subscribers.PATHS, schemas=openapi_subscribers.SCHEMAS)


SECTIONS: tuple[Callable[[], Section], ...] = (
    pages_section, components_section, component_groups_section, probes_section,
    incidents_section, incident_templates_section, postmortems_section, subscribers_section,
)

# --- the document ------------------------------------------------------------------------------

DESCRIPTION_TEXT = """\
The management API of this status page: a drop-in subset of Atlassian Statuspage's API v1.

**Authentication.** Send an API key (`flask --app app statuspage create-token EMAIL`) as
`Authorization: OAuth <key>` (`Bearer <key>` works too) or as the `api_key` query parameter.
If both are sent they must agree. Admin keys may do everything; responder keys may read and
make a responder's changes (components and groups included: create, change, reorder, delete),
and get 403 for what stays an admin's (the page profile, probes, deleting incidents).

**Bodies.** Requests wrap the object: `{"component": {...}}`. Send JSON (`application/json`)
or a form (`application/x-www-form-urlencoded`) with bracketed keys: `component[name]=API`,
`component_group[components][]=<id>`. Unknown fields are refused (422). Responses are the object
itself, lists are plain arrays, creation answers 201.

**Errors.** Every 4xx answers `{"error": {"code", "message", "field"}, "message"}`. Each key may
make `STATUSPAGE_API_RATE_LIMIT` requests (600 a minute by default); beyond that, 429 and Retry-After.

**Paths.** Every path also answers with a `.json` suffix (`/pages/{page_id}/components.json`),
as older Statuspage clients send it; those aliases are not listed separately.
"""


def document() -> dict[str, Any]:
    """The whole OpenAPI document, assembled from `SECTIONS`."""
    sections = [make() for make in SECTIONS]
    paths: dict[str, Schema] = {}
    schemas: dict[str, Schema] = {"Error": ERROR}
    for section in sections:
        for table, additions in ((paths, section.paths), (schemas, section.schemas)):
            clash = set(table) & set(additions)
            if clash:
                raise ValueError(f"{section.tag} documents {sorted(clash)} again")
            table.update(additions)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {"title": "statuspage management API", "version": "1", "description": DESCRIPTION_TEXT},
        "servers": [{"url": SERVER}],
        "security": [{"OAuthHeader": []}, {"ApiKeyQuery": []}],
        "tags": [{"name": s.tag, "description": s.description} for s in sections],
        "paths": paths,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "schemas": schemas,
            "responses": error_responses(),
        },
    }


@bp.get("/api/v1/openapi.json")
def openapi_json():
    return jsonify(document())
