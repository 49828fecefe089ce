"""OpenAPI 3.1 paths and schemas of the probe endpoints (statuspage/api/v1_probes.py), as plain dicts.

`PATHS` are relative to the `/api/v1` server, like the rest of the document;
they refer to the shared `Error` schema and the shared error responses
(`#/components/responses/BadRequest` ...) that statuspage/api/openapi.py
defines. `TAG` names the section. The push endpoints (heartbeat,
Alertmanager) are not part of the management API; docs/probes.md documents
them.
"""

from __future__ import annotations

from typing import Any

from statuspage.api.common import PAGE_MAX
from statuspage.models import AutoIncident, ComponentStatus, ProbeKind
from statuspage.probes.http import METHODS

Schema = dict[str, Any]

TAG = "Probes"
TAG_DESCRIPTION = (
    "Our extension: probes check a component (HTTP, TCP, DNS, database) or are called by it "
    "(heartbeat, Alertmanager webhook). Checks set the component's status by explicit rules: "
    "N failures in a row (or a failure rate over the last K checks) is an outage, N slow checks "
    "degrade it, M good checks recover it; several probes combine to the worst; a pinned "
    "component only records."
)


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


TIMESTAMP: Schema = {"type": "string", "format": "date-time",
                     "description": "ISO 8601 with milliseconds, in the page's time zone."}
NULLABLE_TIMESTAMP: Schema = {**TIMESTAMP, "type": ["string", "null"]}
ID: Schema = {"type": "string", "description": "An opaque public id (12 lowercase letters and digits)."}
OUTAGES = [ComponentStatus.PARTIAL_OUTAGE.value, ComponentStatus.MAJOR_OUTAGE.value]
WARNING_STATUSES = [ComponentStatus.DEGRADED_PERFORMANCE.value, ComponentStatus.PARTIAL_OUTAGE.value]

# Every field a request may send; kind-specific ones are refused (422) for other kinds.
FIELDS: dict[str, Schema] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    "kind": _ref("ProbeKind"),
    "component_id": {"type": "string", "description": "The component the probe sets."},
    "target": {"type": ["string", "null"], "maxLength": 2000,
               "description": "http: an http(s) URL without credentials; tcp: `host:port` (`[v6]:port`); "
                              "dns: a host name; database: a SQLAlchemy URL without a password "
                              "(`postgresql+psycopg://user@host:5432/db`, `sqlite:////path.db`); "
                              "none for heartbeat and alertmanager."},
    "interval_seconds": {"type": "integer", "minimum": 10, "maximum": 2_678_400,
                         "description": "How often it runs: 10 s to 1 day (heartbeat: the expected period, "
                                        "10 s to 31 days). Default 60."},
    "timeout_seconds": {"type": "number", "minimum": 0.5, "maximum": 60,
                        "description": "The whole check's deadline; not longer than the interval. Default 10."},
    "latency_threshold_ms": {"type": ["integer", "null"], "minimum": 1, "maximum": 600_000,
                             "description": "A good check slower than this counts as slow."},
    "failures_to_outage": {"type": "integer", "minimum": 1, "maximum": 100,
                           "description": "N: failed checks in a row that make an outage. Default 3."},
    "successes_to_recover": {"type": "integer", "minimum": 1, "maximum": 100,
                             "description": "M: good checks in a row that end an outage or "
                                            "degradation. Default 2."},
    "slow_to_degrade": {"type": "integer", "minimum": 1, "maximum": 100,
                        "description": "Slow (or failed) checks in a row that make degraded performance. "
                                       "Default 3."},
    "failure_rate_window": {"type": "integer", "minimum": 2, "maximum": 100,
                            "description": "K: the last checks the failure rate counts. Default 10."},
    "failure_rate_threshold": {"type": "number", "minimum": 0.01, "maximum": 1,
                               "description": "A failed check that brings the rate over the last K checks to "
                                              "this share is an outage. Default 0.5."},
    "outage_status": {"type": "string", "enum": OUTAGES, "description": "Default major_outage."},
    "auto_incident": {"type": "string", "enum": [a.value for a in AutoIncident],
                      "description": "What an outage these checks start opens: nothing, a draft for a "
                                     "responder to publish (default), or an incident at once."},
    "paused": {"type": "boolean", "description": "A paused probe neither runs nor counts."},
    "public_chart": {"type": "boolean",
                     "description": "Show this probe's response times (last 24 hours) under its component on "
                                    "the public page. Not for heartbeat and alertmanager probes. Default false."},
    "expected_status": {"type": ["array", "null"], "maxItems": 50,
                        "items": {"type": "integer", "minimum": 100, "maximum": 599},
                        "description": "http: the status codes that are good; null means any 2xx."},
    "keyword": {"type": ["string", "null"], "maxLength": 500,
                "description": "http: text the body must contain."},
    "method": {"type": "string", "enum": list(METHODS), "description": "http: default GET."},
    "headers": {"type": "object", "maxProperties": 30, "additionalProperties": {"type": "string"},
                "description": "http: request headers. Credentials are shown back as `********`; "
                               "sending that mask back keeps the stored value."},
    "json_path": {"type": ["string", "null"], "maxLength": 200,
                  "description": "http: a dotted path into a JSON body (`checks.0.state`) that must exist."},
    "json_value": {"type": ["string", "number", "boolean", "null"],
                   "description": "http: the value expected at `json_path`."},
    "verify_tls": {"type": "boolean", "description": "http: verify certificates (default true)."},
    "tls_warn_days": {"type": "integer", "minimum": 0, "maximum": 365,
                      "description": "http: note a certificate that expires within this many days (default 14)."},
    "max_redirects": {"type": "integer", "minimum": 0, "maximum": 10,
                      "description": "http: redirects followed, each checked by the address guard (default 5)."},
    "expect": {"type": "array", "maxItems": 20, "items": {"type": "string"},
               "description": "dns: IP addresses of which one must be among the answers."},
    "password_env": {"type": ["string", "null"], "pattern": "^PROBE_PASSWORD_[A-Z0-9_]{1,100}$",
                     "description": "database: the worker's environment variable holding the password. "
                                    "The password is never stored or shown."},
    "grace_seconds": {"type": "integer", "minimum": 0, "maximum": 86_400,
                      "description": "heartbeat: extra time after the period before silence fails (default 60)."},
    "warning_status": {"type": "string", "enum": WARNING_STATUSES,
                       "description": "alertmanager: the status of `severity=warning` alerts "
                                      "(default degraded_performance)."},
    "matchers": {"type": "object", "maxProperties": 20, "additionalProperties": {"type": "string"},
                 "description": "alertmanager: alerts without a `component` label that carry all these "
                                "labels apply to this probe's component."},
}

# Shown for the probe's own kind only.
KIND_FIELDS = ("method", "headers", "json_path", "json_value", "verify_tls", "tls_warn_days", "max_redirects",
               "expect", "password_env", "grace_seconds", "warning_status", "matchers", "last_ping_at",
               "firing_alerts")

PROBE_PROPERTIES: dict[str, Schema] = {
    "id": ID,
    **{name: schema for name, schema in FIELDS.items() if name not in ("name", "expected_status", "keyword")},
    "name": {"type": "string"},
    "expected_status": FIELDS["expected_status"],
    "keyword": FIELDS["keyword"],
    "state": {"type": "string", "enum": ["unknown", "up", "slow", "down"], "description": "The last check's."},
    "verdict": {"type": "string", "enum": [s.value for s in ComponentStatus],
                "description": "The status this probe asks of its component now."},
    "last_check_at": NULLABLE_TIMESTAMP,
    "next_run_at": {**NULLABLE_TIMESTAMP, "description": "When it runs next (heartbeat: the ping deadline)."},
    "url": {"type": ["string", "null"], "format": "uri",
            "description": "heartbeat and alertmanager: the URL to POST to; the token inside is the secret."},
    "last_ping_at": NULLABLE_TIMESTAMP,
    "firing_alerts": {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "required": ["name", "status", "since"],
        "properties": {"name": {"type": "string"}, "status": {"type": "string", "enum": WARNING_STATUSES
                                                               + [ComponentStatus.MAJOR_OUTAGE.value]},
                       "since": {"type": "string", "format": "date-time"}}}},
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
}

SCHEMAS: dict[str, Schema] = {
    "ProbeKind": {"type": "string", "enum": [k.value for k in ProbeKind]},
    "Probe": {"type": "object", "properties": PROBE_PROPERTIES, "additionalProperties": False,
              "required": [name for name in PROBE_PROPERTIES if name not in KIND_FIELDS]},
    "ProbeCreate": {"type": "object", "properties": FIELDS, "additionalProperties": False,
                    "required": ["name", "kind", "component_id"]},
    "ProbeUpdate": {"type": "object", "properties": FIELDS, "additionalProperties": False,
                    "description": "Any fields; `kind` cannot change."},
    "Check": {"type": "object", "additionalProperties": False,
              "required": ["id", "at", "ok", "slow", "latency_ms", "reason"],
              "properties": {"id": {"type": "integer"}, "at": TIMESTAMP, "ok": {"type": "boolean"},
                             "slow": {"type": "boolean"},
                             "latency_ms": {"type": ["number", "null"]},
                             "reason": {"type": "string", "description": "Why it failed, or `ok`."}}},
}


def _body(schema: str, example: Schema) -> Schema:
    wrapped = {"type": "object", "additionalProperties": False, "required": ["probe"],
               "properties": {"probe": _ref(schema)}}
    return {"required": True, "content": {
        "application/json": {"schema": wrapped, "example": example},
        "application/x-www-form-urlencoded": {"schema": wrapped,
                                              "encoding": {"probe": {"style": "deepObject", "explode": True}}},
    }}


def _operation(operation_id: str, summary: str, ok: tuple[int, str, Schema], errors: tuple[str, ...],
               body: Schema | None = None, description: str | None = None,
               parameters: list[Schema] | None = None) -> Schema:
    status, text, schema = ok
    item: Schema = {"operationId": operation_id, "summary": summary, "tags": [TAG]}
    if description:
        item["description"] = description
    if parameters:
        item["parameters"] = parameters
    if body:
        item["requestBody"] = body
    item["responses"] = {str(status): {"description": text, "content": {"application/json": {"schema": schema}}},
                         **{code: _error(name) for code, name in (e.split(":") for e in errors)}}
    return item


def _path_parameter(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}


PAGE_ID = _path_parameter("page_id", "The page's id, as `GET /pages` lists it.")
PROBE_ID = _path_parameter("probe_id", "The probe's id.")
READ = ("401:Unauthorized", "404:NotFound")
WRITE = ("400:BadRequest", "401:Unauthorized", "403:Forbidden", "404:NotFound", "409:Conflict",
         "413:PayloadTooLarge", "415:UnsupportedMediaType", "422:Unprocessable")
PROBE = _ref("Probe")
EXAMPLE = {"probe": {"name": "Checkout health", "kind": "http", "component_id": "k1x2y3z4w5v6",
                     "target": "https://shop.example.com/health", "interval_seconds": 30, "timeout_seconds": 5,
                     "expected_status": [200], "latency_threshold_ms": 800, "failures_to_outage": 3,
                     "successes_to_recover": 2, "outage_status": "major_outage", "auto_incident": "draft"}}

PATHS: dict[str, Schema] = {
    "/pages/{page_id}/probes": {
        "parameters": [PAGE_ID],
        "get": _operation("listProbes", "List probes", (200, "Every probe.", {"type": "array", "items": PROBE}),
                          READ),
        "post": _operation("createProbe", "Create a probe", (201, "The new probe.", PROBE), WRITE,
                           body=_body("ProbeCreate", EXAMPLE),
                           description="Admins only. Its first check comes within one interval (new probes "
                                       "are spread out); use `POST .../check` for one at once."),
    },
    "/pages/{page_id}/probes/{probe_id}": {
        "parameters": [PAGE_ID, PROBE_ID],
        "get": _operation("getProbe", "Get a probe", (200, "The probe.", PROBE), READ),
        "patch": _operation("updateProbe", "Update a probe", (200, "The probe after the change.", PROBE), WRITE,
                            body=_body("ProbeUpdate", {"probe": {"paused": True}}),
                            description="Admins only. Pausing or moving a probe that holds its component "
                                        "down lets the component follow its other probes."),
        "put": _operation("replaceProbe", "Update a probe (same as PATCH)", (200, "The probe after the change.",
                                                                              PROBE), WRITE,
                          body=_body("ProbeUpdate", {"probe": {"interval_seconds": 60}})),
        "delete": _operation("deleteProbe", "Delete a probe", (200, "The deleted probe, as it was.", PROBE),
                             ("401:Unauthorized", "403:Forbidden", "404:NotFound"),
                             description="Admins only. Its checks go with it."),
    },
    "/pages/{page_id}/probes/{probe_id}/checks": {
        "parameters": [PAGE_ID, PROBE_ID],
        "get": _operation(
            "listProbeChecks", "List a probe's checks, newest first",
            (200, "Raw checks (kept 7 days by default; older ones are rolled up).",
             {"type": "array", "items": _ref("Check")}),
            ("400:BadRequest", *READ),
            parameters=[
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500,
                                                            "default": 50}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX,
                                                           "default": 1}},
            ]),
    },
    "/pages/{page_id}/probes/{probe_id}/check": {
        "parameters": [PAGE_ID, PROBE_ID],
        "post": _operation(
            "checkProbeNow", "Check now", (201, "The check, applied through the same rules as the worker's.",
                                           _ref("Check")),
            ("401:Unauthorized", "404:NotFound", "409:Conflict"),
            description="Runs one check at once (responders may), waiting at most 10 s (or the probe's "
                        "timeout_seconds if shorter): a target that takes longer is a failed check whose "
                        "reason says it timed out. 409 while the worker is running this probe's check."),
    },
}
