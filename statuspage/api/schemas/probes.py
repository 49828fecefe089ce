"""Probes (our extension): their settings, the probe and check answers, and their operations.

A probe's settings depend on its kind (an option of another kind is refused, an interval's range
is longer for heartbeats), so `service.create_probe` and `update_probe` check them; `SETTINGS`
declares each with its documented type, and the request bodies and the probe answer are built
from it. The push endpoints (heartbeat, Alertmanager) are not part of the management API;
docs/probes.md documents them.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from statuspage.api.schemas.base import UNSET, Body, Wrapped, checked_in_domain, table_model
from statuspage.api.schemas.operations import Operation, Paging, Section, list_of, patch_and_put
from statuspage.models import NAME_MAX, AutoIncident, ComponentStatus, ProbeKind, ProbeState
from statuspage.probes.http import METHODS
from statuspage.probes.service import HEARTBEAT_INTERVAL_LIMITS, OUTAGE_STATUSES, TIMEOUT_LIMITS
from statuspage.shapes import Id, Timestamp

WARNING_STATUSES = (ComponentStatus.DEGRADED_PERFORMANCE.value, ComponentStatus.PARTIAL_OUTAGE.value)


def _one_of(values: tuple[str, ...], description: str | None = None) -> Any:
    return Annotated[str, Field(json_schema_extra={"enum": list(values)}, description=description)]


def _int(low: int, high: int, description: str | None = None) -> Any:
    return Annotated[int, Field(ge=low, le=high, description=description)]


# Every setting a request may send, with its documented type; kind-specific ones (the options after
# `public_chart`) are refused (422) for other kinds and shown only for their own.
SETTINGS: dict[str, Any] = {
    "name": Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"\S")],
    "kind": ProbeKind,
    "component_id": Annotated[str, Field(description="The component the probe sets.")],
    "target": Annotated[str | None, Field(max_length=2000, description=(
        "http: an http(s) URL without credentials; tcp: `host:port` (`[v6]:port`); dns: a host name; database: a "
        "SQLAlchemy URL without a password (`postgresql+psycopg://user@host:5432/db`, `sqlite:////path.db`); none "
        "for heartbeat and alertmanager."))],
    "interval_seconds": _int(10, HEARTBEAT_INTERVAL_LIMITS[1], "How often it runs: 10 s to 1 day (heartbeat: the "
                                                               "expected period, 10 s to 31 days). Default 20."),
    "retry_interval_seconds": _int(5, 3600, "After a failed check, and until its component has recovered, the "
                                            "probe checks this often instead (not longer than the interval). "
                                            "Default 10: with the defaults a target that stops answering is "
                                            "confirmed down within 30 s."),
    "timeout_seconds": Annotated[float, Field(ge=TIMEOUT_LIMITS[0], le=TIMEOUT_LIMITS[1], description=(
        "The whole check's deadline; not longer than the interval. Default 10."))],
    "latency_threshold_ms": Annotated[int | None, Field(ge=1, le=600_000, description=(
        "A good check slower than this counts as slow."))],
    "failures_to_outage": _int(1, 100, "N: failed checks in a row that make an outage. Default 2."),
    "successes_to_recover": _int(1, 100, "M: good checks in a row that end an outage or degradation. Default 2."),
    "slow_to_degrade": _int(1, 100, "Slow (or failed) checks in a row that make degraded performance. Default 3."),
    "failure_rate_window": _int(2, 100, "K: the last checks the failure rate counts. Default 10."),
    "failure_rate_threshold": Annotated[float, Field(ge=0.01, le=1, description=(
        "A failed check that brings the rate over the last K checks to this share is an outage. Default 0.5."))],
    "outage_status": _one_of(OUTAGE_STATUSES, "Default major_outage."),
    "auto_incident": Annotated[AutoIncident, Field(description=(
        "What an outage these checks start opens: nothing, a draft for a responder to publish (default), or an "
        "incident at once."))],
    "publish_after_minutes": _int(0, 1440, "publish mode: tell customers only once the outage has lasted this "
                                           "long; a blip that ends sooner is never published (responders are "
                                           "alerted at once either way). Default 0."),
    "auto_resolve_minutes": Annotated[int | None, Field(ge=1, le=1440, description=(
        "Resolve a probe-opened incident after this many minutes of good checks, with a plain update; null (the "
        "default): a responder resolves."))],
    "paused": Annotated[bool, Field(description="A paused probe neither runs nor counts.")],
    "public_chart": Annotated[bool, Field(description=(
        "Show this probe's response times (last 24 hours) under its component on the public page. Not for "
        "heartbeat and alertmanager probes. Default false."))],
    "expected_status": Annotated[list[Annotated[int, Field(ge=100, le=599)]] | None, Field(max_length=50, description=(
        "http: the status codes that are good; null means any 2xx."))],
    "keyword": Annotated[str | None, Field(max_length=500, description="http: text the body must contain.")],
    "method": _one_of(tuple(METHODS), "http: default GET."),
    "headers": Annotated[dict[str, str], Field(max_length=30, description=(
        "http: request headers. Credentials are shown back as `********`; sending that mask back keeps the "
        "stored value."))],
    "json_path": Annotated[str | None, Field(max_length=200, description=(
        "http: a dotted path into a JSON body (`checks.0.state`) that must exist."))],
    "json_value": Annotated[str | float | bool | None, Field(description="http: the value expected at `json_path`.")],
    "verify_tls": Annotated[bool, Field(description="http: verify certificates (default true).")],
    "tls_warn_days": _int(0, 365, "http: note a certificate that expires within this many days (default 14)."),
    "max_redirects": _int(0, 10, "http: redirects followed, each checked by the address guard (default 5)."),
    "expect": Annotated[list[str], Field(max_length=20, description=(
        "dns: IP addresses of which one must be among the answers."))],
    "password_env": Annotated[str | None, Field(pattern="^PROBE_PASSWORD_[A-Z0-9_]{1,100}$", description=(
        "database: the worker's environment variable holding the password. The password is never stored or "
        "shown."))],
    "grace_seconds": _int(0, 86_400, "heartbeat: extra time after the period before silence fails (default 60)."),
    "warning_status": _one_of(WARNING_STATUSES, "alertmanager: the status of `severity=warning` alerts (default "
                                                "degraded_performance)."),
    "matchers": Annotated[dict[str, str], Field(max_length=20, description=(
        "alertmanager: alerts without a `component` label that carry all these labels apply to this probe's "
        "component."))],
}
REQUIRED = ("name", "kind", "component_id")
# Shown for every kind (null where they do not apply); the options after them only for their own kind.
ALWAYS_SHOWN = ("expected_status", "keyword")
KIND_OPTIONS = tuple(name for name in list(SETTINGS)[list(SETTINGS).index("public_chart") + 1:]
                     if name not in ALWAYS_SHOWN)


def _request(name: str, doc: str, required: tuple[str, ...]) -> type[Body]:
    return cast(type[Body], table_model(name, __name__, {
        field: (Annotated[Any, checked_in_domain(declared)], ... if field in required else UNSET)
        for field, declared in SETTINGS.items()}, doc=doc, base=Body))


ProbeCreate = _request("ProbeCreate", "A new probe; the settings left out take their defaults.", REQUIRED)
ProbeUpdate = _request("ProbeUpdate", "Any settings; `kind` cannot change.", ())
PROBE_CREATE = Wrapped("probe", ProbeCreate)
PROBE_UPDATE = Wrapped("probe", ProbeUpdate)


@with_config(ConfigDict(extra="forbid"))
class FiringAlertJson(TypedDict):
    name: str
    status: Annotated[str, Field(json_schema_extra={"enum": [*WARNING_STATUSES, ComponentStatus.MAJOR_OUTAGE.value]})]
    since: Annotated[str, Field(json_schema_extra={"format": "date-time"})]


NullableTimestamp = Timestamp | None

_SHOWN: dict[str, Any] = {
    "id": (Id, ...),
    **{field: (declared, UNSET if field in KIND_OPTIONS else ...) for field, declared in SETTINGS.items()},
    "name": (str, ...),
    "state": (Annotated[ProbeState, Field(description="The last check's.")], ...),
    "verdict": (Annotated[ComponentStatus, Field(description="The status this probe asks of its component now.")], ...),
    "last_check_at": (NullableTimestamp, ...),
    "next_run_at": (Annotated[NullableTimestamp, Field(description="When it runs next (heartbeat: the ping "
                                                                   "deadline).")], ...),
    "url": (Annotated[str | None, Field(json_schema_extra={"format": "uri"}, description=(
        "heartbeat and alertmanager: the URL to POST to; the token inside is the secret."))], ...),
    "last_ping_at": (NullableTimestamp, UNSET),
    "firing_alerts": (list[FiringAlertJson], UNSET),
    "created_at": (Timestamp, ...),
    "updated_at": (Timestamp, ...),
}
# The answer (v1_probes.probe_json builds it): the settings, the probe's state, and the kind's own options.
ProbeJson = table_model("ProbeJson", __name__, _SHOWN,
                        doc="A probe: its settings, its state, and for push kinds the URL to call.")


@with_config(ConfigDict(extra="forbid"))
class CheckJson(TypedDict):
    """One run of a probe."""

    id: int
    at: Timestamp
    ok: bool
    slow: bool
    latency_ms: float | None
    reason: Annotated[str, Field(description="Why it failed, or `ok`.")]


CHECK_PAGING = Paging(default_limit=50, max_limit=500)

_READ = (401, 404)
_WRITE = (400, 401, 403, 404, 409, 413, 415, 422)
_PROBES = "/pages/{page_id}/probes"
_PROBE = _PROBES + "/{probe_id}"

PROBES = Section(
    "Probes",
    "Our extension: probes check a component (HTTP, TCP, DNS, database) or are called by it (heartbeat, "
    "Alertmanager webhook). Checks set the component's status by explicit rules: N failures in a row (or a failure "
    "rate over the last K checks) is an outage, N slow checks degrade it, M good checks recover it; several probes "
    "combine to the worst; a pinned component only records.",
    (
        Operation("get", _PROBES, "listProbes", "List probes", (200, "Every probe."), list_of(ProbeJson), _READ),
        Operation("post", _PROBES, "createProbe", "Create a probe", (201, "The new probe."), ProbeJson, _WRITE,
                  body=PROBE_CREATE,
                  description="Admins only. Its first check comes within one interval (new probes are spread out); "
                              "use `POST .../check` for one at once.",
                  example={"probe": {"name": "Checkout health", "kind": "http", "component_id": "k1x2y3z4w5v6",
                                     "target": "https://shop.example.com/health", "interval_seconds": 30,
                                     "timeout_seconds": 5, "expected_status": [200], "latency_threshold_ms": 800,
                                     "failures_to_outage": 3, "successes_to_recover": 2,
                                     "outage_status": "major_outage", "auto_incident": "draft"}}),
        Operation("get", _PROBE, "getProbe", "Get a probe", (200, "The probe."), ProbeJson, _READ),
        *patch_and_put(Operation("patch", _PROBE, "updateProbe", "Update a probe", (200, "The probe after the change."),
                                 ProbeJson, _WRITE, body=PROBE_UPDATE, example={"probe": {"paused": True}},
                                 description="Admins only. Pausing or moving a probe that holds its component down "
                                             "lets the component follow its other probes."),
                       "replaceProbe", put_description=None, put_example={"probe": {"interval_seconds": 60}}),
        Operation("delete", _PROBE, "deleteProbe", "Delete a probe", (200, "The deleted probe, as it was."), ProbeJson,
                  (401, 403, 404), description="Admins only. Its checks go with it."),
        Operation("get", _PROBE + "/checks", "listProbeChecks", "List a probe's checks, newest first",
                  (200, "Raw checks (kept 7 days by default; older ones are rolled up)."), list[CheckJson],
                  (400, *_READ), paging=CHECK_PAGING),
        Operation("post", _PROBE + "/check", "checkProbeNow", "Check now",
                  (201, "The check, applied through the same rules as the worker's."), CheckJson, (401, 404, 409),
                  description="Runs one check at once (responders may), waiting at most 10 s (or the probe's "
                              "timeout_seconds if shorter): a target that takes longer is a failed check whose "
                              "reason says it timed out. 409 while the worker is running this probe's check."),
    ),
)
