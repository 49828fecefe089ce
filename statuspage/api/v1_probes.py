"""The management API's probe endpoints (our extension): CRUD, recent checks and "check now"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from statuspage.api.common import (
    api_actor,
    api_auth,
    object_id,
    probe_policy,
    register_error_handlers,
    request_body,
    require_admin,
    route,
)
from statuspage.api.schemas.probes import ALWAYS_SHOWN, CHECK_PAGING, PROBE_CREATE, PROBE_UPDATE, CheckJson
from statuspage.db import utcnow
from statuspage.edge.extensions import csrf
from statuspage.edge.session import db_session
from statuspage.models import Check, Page, Probe, ProbeKind
from statuspage.probes import CHECKERS, service
from statuspage.probes.http import masked_headers
from statuspage.shapes.base import at
from statuspage.timefmt import iso

bp = Blueprint("api_v1_probes", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
register_error_handlers(bp)

def _base_url() -> str:
    return current_app.config["STATUSPAGE"].base_url


def probe_json(probe: Probe, page: Page, base_url: str) -> dict[str, Any]:
    """A probe as the API shows it: settings, state, and for push kinds the URL to call."""
    tz = page.time_zone
    kind = ProbeKind(probe.kind)
    own = CHECKERS[kind].options
    options = {**own, **(probe.options or {})}
    body: dict[str, Any] = {
        "id": probe.code,
        "name": probe.name,
        "kind": kind.value,
        "component_id": probe.component.code,
        "target": probe.target,
        "interval_seconds": probe.interval_seconds,
        "retry_interval_seconds": probe.retry_interval_seconds,
        "timeout_seconds": probe.timeout_seconds,
        "latency_threshold_ms": probe.latency_threshold_ms,
        "failures_to_outage": probe.failures_to_outage,
        "successes_to_recover": probe.successes_to_recover,
        "slow_to_degrade": probe.slow_to_degrade,
        "failure_rate_window": probe.failure_rate_window,
        "failure_rate_threshold": probe.failure_rate_threshold,
        "outage_status": probe.outage_status.value,
        "auto_incident": probe.auto_incident.value,
        "publish_after_minutes": probe.publish_after_minutes,
        "auto_resolve_minutes": probe.auto_resolve_minutes,
        "paused": probe.paused,
        "public_chart": bool(options.get("public_chart")),
        "state": probe.state.value,
        "verdict": probe.verdict.value,
        "last_check_at": iso(probe.last_check_at, tz),
        "next_run_at": iso(probe.next_run_at, tz) if not CHECKERS[kind].pushed or kind == ProbeKind.HEARTBEAT
        else None,
        "url": service.push_url(probe, base_url),
        "created_at": iso(probe.created_at, tz),
        "updated_at": iso(probe.updated_at, tz),
    }
    for name in ALWAYS_SHOWN:
        body[name] = options.get(name)
    for name in own:
        body[name] = masked_headers(options[name]) if name == "headers" else options.get(name)
    if kind == ProbeKind.HEARTBEAT:
        body["last_ping_at"] = iso(probe.last_ping_at, tz)
    if kind == ProbeKind.ALERTMANAGER:
        firing = (probe.options or {}).get("firing") or {}
        body["firing_alerts"] = [{"name": a["name"], "status": a["status"], "since": a["since"]}
                                 for a in firing.values()]
    return body


def check_json(check: Check, page: Page) -> CheckJson:
    """A check as the API shows it."""
    return {"id": check.id, "at": at(check.at, page.time_zone), "ok": check.ok, "slow": check.slow,
            "latency_ms": None if check.latency_ms is None else round(check.latency_ms, 2),
            "reason": check.reason}


def _probe(probe_id: str) -> Probe:
    return service.get_probe(db_session(), object_id(probe_id))


@route(bp, "/pages/<page_id>/probes", methods=["GET"])
@api_auth()
def list_probes(page):
    return jsonify([probe_json(p, page, _base_url()) for p in service.list_probes(db_session())])


@route(bp, "/pages/<page_id>/probes", methods=["POST"])
@api_auth()
def create_probe(page):
    require_admin()
    settings = PROBE_CREATE.parse(request_body()).sent()
    session = db_session()
    probe = service.create_probe(session, api_actor(), settings, utcnow(), probe_policy())
    session.commit()
    return jsonify(probe_json(probe, page, _base_url())), 201


@route(bp, "/pages/<page_id>/probes/<probe_id>", methods=["GET"])
@api_auth()
def get_probe(page, probe_id):
    return jsonify(probe_json(_probe(probe_id), page, _base_url()))


@route(bp, "/pages/<page_id>/probes/<probe_id>", methods=["PATCH", "PUT"])
@api_auth()
def update_probe(page, probe_id):
    require_admin()
    settings = PROBE_UPDATE.parse(request_body()).sent()
    session = db_session()
    probe = service.update_probe(session, api_actor(), _probe(probe_id), settings, utcnow(), probe_policy())
    session.commit()
    return jsonify(probe_json(probe, page, _base_url()))


@route(bp, "/pages/<page_id>/probes/<probe_id>", methods=["DELETE"])
@api_auth()
def delete_probe(page, probe_id):
    require_admin()
    session = db_session()
    probe = _probe(probe_id)
    body = probe_json(probe, page, _base_url())
    service.delete_probe(session, api_actor(), probe, utcnow())
    session.commit()
    return jsonify(body)


@route(bp, "/pages/<page_id>/probes/<probe_id>/checks", methods=["GET"])
@api_auth()
def list_checks(page, probe_id):
    limit, number = CHECK_PAGING.parse()
    checks = service.recent_checks(db_session(), _probe(probe_id), limit, (number - 1) * limit)
    return jsonify([check_json(c, page) for c in checks])


@route(bp, "/pages/<page_id>/probes/<probe_id>/check", methods=["POST"])
@api_auth()
def check_now(page, probe_id):
    session = db_session()
    check = service.check_now(session, api_actor(), _probe(probe_id), policy=probe_policy(), now=utcnow(),
                              commit=session.commit)
    session.commit()
    return jsonify(check_json(check, page)), 201
