"""Push endpoints: heartbeat pings and Alertmanager webhooks, authenticated by the token in the URL.

Public and CSRF-exempt (jobs and Alertmanager cannot send a CSRF token);
errors are JSON. A wrong token is a bare 404 that reveals nothing.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from statuspage.api.common import ApiError, register_error_handlers, request_body
from statuspage.db import utcnow
from statuspage.edge.errors import error_response
from statuspage.edge.extensions import csrf
from statuspage.edge.session import db_session
from statuspage.errors import InvalidInput
from statuspage.models import ProbeKind
from statuspage.probes import service

bp = Blueprint("api_push", __name__, url_prefix="/api")
csrf.exempt(bp)
register_error_handlers(bp)


def _probe_or_404(kind: ProbeKind, token: str):
    probe = service.probe_by_token(db_session(), kind, token)
    if probe is None:
        raise ApiError(404, "not_found", "Not found.")
    return probe


@bp.post("/heartbeat/<token>")
def heartbeat(token: str):
    probe = _probe_or_404(ProbeKind.HEARTBEAT, token)
    service.record_ping(db_session(), probe, utcnow())
    db_session().commit()
    return jsonify({"status": "ok"})


@bp.post("/integrations/alertmanager/<token>")
def alertmanager(token: str):
    probe = _probe_or_404(ProbeKind.ALERTMANAGER, token)
    try:
        payload = request_body()
    except ApiError as exc:
        raise ApiError(400 if exc.status == 422 else exc.status, exc.code, exc.message, exc.field) from None
    try:
        checks = service.receive_alerts(db_session(), probe, payload, utcnow())
    except InvalidInput as exc:  # an invalid payload is the caller's error: 400 and nothing saved
        db_session().rollback()
        return error_response(400, "invalid", exc.message, exc.field)
    db_session().commit()
    return jsonify({"status": "ok", "alerts": len(payload["alerts"]), "checks": len(checks)})
