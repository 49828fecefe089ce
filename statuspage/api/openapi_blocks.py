"""Small building blocks for the feature modules of the OpenAPI document (openapi_incidents.py,
openapi_subscribers.py).

Those modules are included by statuspage/api/openapi.py, so they cannot import it; like
openapi_probes.py they produce plain dicts that refer to the shared `Error` schema, the
shared error responses (`#/components/responses/NotFound` ...) and the `Component` and
`ComponentStatus` schemas that openapi.py defines.
"""

from __future__ import annotations

from typing import Any

from statuspage.api.common import PAGE_MAX
from statuspage.models import NAME_MAX

Schema = dict[str, Any]

# The names openapi.py gives its shared error responses.
ERROR_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
               413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "Unprocessable", 429: "TooManyRequests"}
# What every call can answer (no key, no such page or object, over the allowance) ...
READ = (401, 404, 429)
# ... and what reading a body adds: bad JSON, too large, neither JSON nor a form, breaks a rule.
WITH_BODY = (400, 401, 404, 413, 415, 422, 429)

TIMESTAMP: Schema = {"type": "string", "format": "date-time",
                     "description": "ISO 8601 with milliseconds, in the page's time zone."}
NULLABLE_TIMESTAMP: Schema = {**TIMESTAMP, "type": ["string", "null"]}
DATE: Schema = {"type": "string", "format": "date"}
ID: Schema = {"type": "string", "description": "An opaque public id (12 lowercase letters and digits)."}
NULL: Schema = {"type": "null", "description": "Always null: Statuspage's field for something we do not offer."}
NAME: Schema = {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": r"\S",
                "description": f"Trimmed; at most {NAME_MAX} characters and not blank."}
IGNORED: Schema = {"description": "Accepted for Statuspage compatibility and ignored."}
STRING_IDS: Schema = {"type": "array", "items": {"type": "string"}}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def const(value: Any, description: str | None = None) -> Schema:
    """A field that always has this value (Statuspage's, for a feature we do not offer)."""
    schema: Schema = {"type": {bool: "boolean", int: "integer"}[type(value)], "const": value}
    if description:
        schema["description"] = description
    return schema


def response_object(properties: dict[str, Schema], **extra: Any) -> Schema:
    """A response object: closed, every listed property always present."""
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "required": list(properties), **extra}


def request_object(properties: dict[str, Schema], required: tuple[str, ...] = (), **extra: Any) -> Schema:
    """A request object: closed (unknown fields are refused), `required` must be sent."""
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def array_of(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


def body(schema: Schema, *, example: Any = None, required: bool = True, form_keys: tuple[str, ...] = ()) -> Schema:
    """A request body sent as JSON or as a form with bracketed keys (`incident[name]=...`).

    `form_keys` are the top-level keys holding objects, which a form spells `key[field]=...`.
    """
    json_media: Schema = {"schema": schema}
    if example is not None:
        json_media["example"] = example
    form: Schema = {"schema": schema}
    if form_keys:
        form["encoding"] = {key: {"style": "deepObject", "explode": True} for key in form_keys}
    return {"required": required,
            "content": {"application/json": json_media, "application/x-www-form-urlencoded": form}}


def wrapped(key: str, schema_name: str, example: Any = None) -> Schema:
    """Statuspage's usual body: the object under `key` (`{"incident": {...}}`)."""
    return body(request_object({key: ref(schema_name)}, required=(key,)), example=example, form_keys=(key,))


def operation(operation_id: str, summary: str, *, tag: str, ok: tuple[int, str, Schema], errors: tuple[int, ...],
              request: Schema | None = None, description: str | None = None,
              parameters: list[Schema] | None = None) -> Schema:
    """One operation: its success `(status, description, schema)` and the error statuses it can answer."""
    status, text, schema = ok
    item: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        item["description"] = description
    if parameters:
        item["parameters"] = parameters
    if request is not None:
        item["requestBody"] = request
    item["responses"] = {
        str(status): {"description": text, "content": {"application/json": {"schema": schema}}},
        **{str(code): {"$ref": f"#/components/responses/{ERROR_NAMES[code]}"} for code in sorted(errors)},
    }
    return item


def path_parameter(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}


def query_parameter(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def paging(max_limit: int, default_limit: int = 100, first: int = 1, limit_name: str = "limit") -> list[Schema]:
    """`limit` and `page` (numbered from `first`); values out of range answer 400."""
    return [
        query_parameter(limit_name,
                        {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
                        f"How many per page, 1 to {max_limit}."),
        query_parameter("page", {"type": "integer", "minimum": first, "maximum": PAGE_MAX - 1 + first,
                                 "default": first},
                        f"Which page, from {first}" + (": page n skips n times the limit." if first == 0 else ".")),
    ]


PAGE_ID = path_parameter("page_id", "The page's id, as `GET /pages` lists it.")
