"""The admin's probes: state and recent checks per component, check now, forms, pinning, drafts.

Responders see everything, check now, pin components and publish or
dismiss drafts (each draft has its own page, which responders' alerts link to);
admins also create, change and delete probes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError, InvalidInput
from statuspage.models import AutoIncident, Incident, IncidentDraft, Probe, ProbeKind
from statuspage.outbound.guard import Policy
from statuspage.probes import CHECKERS, SCHEDULED_KINDS, drafts, service
from statuspage.probes.chart import response_time_svg
from statuspage.probes.http import masked_headers
from statuspage.web.auth import admin_required
from statuspage.web.forms import aborted, confirm_delete, domain_form, form_again, or_404, refusal

bp = Blueprint("admin_probes", __name__, url_prefix="/admin")

COMMON = ("name", "component_id", "target", "interval_seconds", "retry_interval_seconds", "timeout_seconds",
          "latency_threshold_ms", "failures_to_outage", "successes_to_recover", "slow_to_degrade",
          "failure_rate_window", "failure_rate_threshold", "outage_status", "auto_incident", "publish_after_minutes",
          "auto_resolve_minutes")
CHECKBOXES = ("verify_tls",)
SHARED_CHECKBOXES = ("public_chart",)


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _policy() -> Policy:
    return Policy.from_settings(current_app.config["STATUSPAGE"])


def _lines(field: str, separator: str) -> dict[str, str]:
    """`Name: value` (or `label=value`) lines of a textarea as a dict."""
    result: dict[str, str] = {}
    for number, line in enumerate(request.form.get(field, "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(separator)
        if not sep or not name.strip():
            raise InvalidInput(f"Line {number} of {field} must look like name{separator} value.", field)
        result[name.strip()] = value.strip()
    return result


def _form_values(kind: ProbeKind) -> dict[str, Any]:
    """The probe fields of the form: common ones, and the options of this kind only."""
    values: dict[str, Any] = {name: request.form.get(name, "") for name in COMMON if name in request.form}
    values["paused"] = "paused" in request.form
    for name in SHARED_CHECKBOXES:
        values[name] = name in request.form
    for name in CHECKERS[kind].options:
        if name == "headers":
            values[name] = _lines("headers", ":")
        elif name == "matchers":
            values[name] = _lines("matchers", "=")
        elif name in CHECKBOXES:
            values[name] = name in request.form
        elif name in request.form:
            values[name] = request.form[name]
    if values.get("json_value") == "":
        values["json_value"] = None
    return values


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    context.setdefault("form", {})
    return render_template(template, page=current_page(), components=catalog.all_components(session),
                           kinds=list(ProbeKind), outage_statuses=service.OUTAGE_STATUSES,
                           auto_incidents=[a.value for a in AutoIncident], checkers=CHECKERS,
                           detection=service.detection_seconds, scheduled=[k.value for k in SCHEDULED_KINDS],
                           base_url=current_app.config["STATUSPAGE"].base_url, **context), status


def _probe_or_404(code: str) -> Probe:
    return or_404(service.get_probe, db_session(), code, message="There is no probe with that id.")


def _back(default: str) -> Response:
    target = request.form.get("back", "")
    safe = (target.startswith("/admin/") and "//" not in target and "\\" not in target
            and target.isprintable())
    return redirect(target if safe else default)


# --- the list ----------------------------------------------------------------------------------


@bp.get("/probes")
@login_required
def probes():
    session = db_session()
    all_probes = service.list_probes(session)
    by_component: dict[int, list] = {}
    for probe in all_probes:
        by_component.setdefault(probe.component_id, []).append(probe)
    rows = [(component, by_component.get(component.id, []))
            for item in catalog.component_tree(session) for component in item.components]
    return render_template("admin/probes.html", page=current_page(), rows=rows,
                           checks=service.recent_checks_by_probe(session, [p.id for p in all_probes], 10),
                           drafts=drafts.open_drafts(session), recovered=drafts.recovered_drafts(session, utcnow()),
                           base_url=current_app.config["STATUSPAGE"].base_url)


# --- create, change, delete ----------------------------------------------------------------------


@bp.route("/probes/new", methods=["GET", "POST"])
@admin_required
@domain_form(form_again(_render, "admin/probe_form.html", probe=None))
def new_probe():
    if request.method == "GET":
        defaults = {**{name: _shown(value) for name, value in service.DEFAULTS.items() if name != "paused"},
                    "kind": request.args.get("kind", "http"), "component_id": request.args.get("component", ""),
                    "verify_tls": "on", "tls_warn_days": "14", "max_redirects": "5", "grace_seconds": "60",
                    "method": "GET"}
        return _render("admin/probe_form.html", form=defaults, probe=None)
    kind = service.parse_kind(request.form.get("kind"))
    probe = service.create_probe(db_session(), _actor(), {"kind": kind.value, **_form_values(kind)}, utcnow(),
                                 _policy())
    db_session().commit()
    flash(f"Probe {probe.name} created.")
    return redirect(url_for("admin_probes.probe", code=probe.code))


def _shown(value: Any) -> str:
    """A setting as a form field shows it."""
    if value is None:
        return ""
    return value.value if hasattr(value, "value") else f"{value:g}" if isinstance(value, float) else str(value)


def _edit_form(probe: Probe) -> dict[str, Any]:
    """The form's values for an existing probe."""
    options = {**CHECKERS[ProbeKind(probe.kind)].options, **(probe.options or {})}
    form: dict[str, Any] = {
        "kind": probe.kind.value, "name": probe.name, "component_id": probe.component.code,
        "target": probe.target or "", "interval_seconds": probe.interval_seconds,
        "retry_interval_seconds": probe.retry_interval_seconds, "publish_after_minutes": probe.publish_after_minutes,
        "auto_resolve_minutes": _shown(probe.auto_resolve_minutes),
        "timeout_seconds": f"{probe.timeout_seconds:g}", "latency_threshold_ms": probe.latency_threshold_ms or "",
        "failures_to_outage": probe.failures_to_outage, "successes_to_recover": probe.successes_to_recover,
        "slow_to_degrade": probe.slow_to_degrade, "failure_rate_window": probe.failure_rate_window,
        "failure_rate_threshold": f"{probe.failure_rate_threshold:g}", "outage_status": probe.outage_status.value,
        "auto_incident": probe.auto_incident.value, "paused": "on" if probe.paused else "",
        "public_chart": "on" if (probe.options or {}).get("public_chart") else "",
    }
    for name, value in options.items():
        if name == "headers":
            form[name] = "\n".join(f"{k}: {v}" for k, v in masked_headers(value or {}).items())
        elif name == "matchers":
            form[name] = "\n".join(f"{k}={v}" for k, v in (value or {}).items())
        elif name in CHECKBOXES:
            form[name] = "on" if value else ""
        elif isinstance(value, list):
            form[name] = ", ".join(map(str, value))
        elif name not in ("firing", *SHARED_CHECKBOXES):
            form[name] = "" if value is None else value
    return form


def _probe_context(probe: Probe) -> dict[str, Any]:
    session = db_session()
    checks = service.recent_checks(session, probe, 50)
    return {"probe": probe, "checks": checks, "chart": response_time_svg(session, probe, utcnow()),
            "push_url": service.push_url(probe, current_app.config["STATUSPAGE"].base_url)}


@bp.get("/probes/<code>")
@login_required
def probe(code: str):
    item = _probe_or_404(code)
    return _render("admin/probe_form.html", form=_edit_form(item), **_probe_context(item))


def _probe_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    return _render("admin/probe_form.html", exc.status_code, **refusal(exc, **_probe_context(_probe_or_404(code))))


@bp.post("/probes/<code>")
@admin_required
@domain_form(_probe_refused)
def update_probe(code: str):
    item = _probe_or_404(code)
    service.update_probe(db_session(), _actor(), item, _form_values(ProbeKind(item.kind)), utcnow(), _policy())
    db_session().commit()
    flash("Probe saved.")
    return redirect(url_for("admin_probes.probe", code=code))


@bp.post("/probes/<code>/delete")
@admin_required
def delete_probe(code: str):
    item = _probe_or_404(code)
    return confirm_delete(
        "probe", item.name, lambda: service.delete_probe(db_session(), _actor(), item, utcnow()),
        done=url_for("admin_probes.probes"), message=f"Probe {item.name} deleted.",
        asked_on=url_for("admin_probes.probe", code=code), wrong_name="Type the probe's exact name to delete it.",
    )


@bp.post("/probes/<code>/token")
@admin_required
@domain_form(aborted())
def new_token(code: str):
    item = _probe_or_404(code)
    service.new_token(db_session(), _actor(), item)
    db_session().commit()
    flash("New URL made; the old one no longer works.")
    return redirect(url_for("admin_probes.probe", code=code))


# --- responders' actions ---------------------------------------------------------------------------


def _check_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    flash(exc.message)
    return _back(url_for("admin_probes.probe", code=code))


@bp.post("/probes/<code>/check")
@login_required
@domain_form(_check_refused)
def check_now(code: str):
    session = db_session()
    item = _probe_or_404(code)
    name = item.name
    check = service.check_now(session, _actor(), item, policy=_policy(), now=utcnow(), commit=session.commit)
    session.commit()
    verdict = "good" if check.ok and not check.slow else "slow" if check.ok else "failed"
    flash(f"Checked {name}: {verdict} ({check.reason}).")
    return _back(url_for("admin_probes.probe", code=code))


@bp.post("/components/<code>/pin")
@login_required
@domain_form(aborted(400))
def pin(code: str):
    session = db_session()
    component = or_404(catalog.get_component, session, code, message="There is no component with that id.")
    service.pin_component(session, _actor(), component, request.form.get("pinned", ""), utcnow())
    session.commit()
    flash(f"{component.name} is {'pinned: probes only record' if component.pinned else 'following its probes'}.")
    return _back(url_for("admin_probes.probes"))


def _draft_or_404(code: str) -> IncidentDraft:
    return or_404(drafts.get_draft, db_session(), code, message="There is no draft with that id.")


def _draft_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    flash(exc.message)
    return _back(url_for("admin_probes.probes"))


@bp.get("/drafts/<code>")
@login_required
def draft(code: str):
    """One draft, the page responders' alerts link to: publish or dismiss it while it is open, else what
    became of it."""
    item = _draft_or_404(code)
    incident = db_session().get(Incident, item.incident_id) if item.incident_id is not None else None
    return render_template("admin/draft.html", page=current_page(), draft=item, incident=incident)


@bp.post("/drafts/<code>/publish")
@login_required
@domain_form(_draft_refused)
def publish_draft(code: str):
    session = db_session()
    draft = _draft_or_404(code)
    incident = drafts.publish_draft(session, _actor(), draft, utcnow())
    session.commit()
    flash("Incident published.")
    return redirect(url_for("admin_incidents.incident", code=incident.code))


@bp.post("/drafts/<code>/dismiss")
@login_required
@domain_form(_draft_refused)
def dismiss_draft(code: str):
    session = db_session()
    draft = _draft_or_404(code)
    drafts.dismiss_draft(session, _actor(), draft)
    session.commit()
    flash("Draft dismissed.")
    return _back(url_for("admin_probes.probes"))
