"""The admin's incidents, maintenance, templates and the Markdown preview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import incidents as inc
from .. import postmortems
from ..api.common import current_page, page_zone
from ..audit import Actor
from ..components import all_components
from ..errors import DomainError, NotFound
from ..markdown import render
from ..models import IncidentStatus, MaintenanceStatus
from ..notify import subscribers
from ..timefmt import parse_local
from .auth import admin_required
from .session import db_session

bp = Blueprint("admin_incidents", __name__, url_prefix="/admin")


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _tz() -> str:
    return page_zone()


def _component_statuses() -> dict[str, str]:
    """`component-<code>` selects: the components this form changes ('' = not affected)."""
    return {key.removeprefix("component-"): value for key, value in request.form.items()
            if key.startswith("component-") and value}


def _checkbox(name: str) -> bool:
    return name in request.form


def _incident_or_404(code: str):
    try:
        return inc.get_incident(db_session(), code)
    except NotFound:
        abort(404, "There is no incident with that id.")


def _render_form(template: str, status: int = 200, **context: Any):
    session = db_session()
    context.setdefault("form", request.form)
    return render_template(template, page=current_page(), components=all_components(session),
                           templates=inc.list_templates(session),
                           subscriber_counts=subscribers.component_counts(session),
                           all_subscribers=subscribers.recipient_count(session, []),
                           reach=subscribers.reach(session, [*_component_statuses(), *request.form.getlist(
                               "component_ids")], getattr(context.get("incident"), "components", ())),
                           **context), status


def _form_failed(template: str, exc: DomainError, **context: Any):
    db_session().rollback()
    return _render_form(template, exc.status_code, error=exc.message, error_field=exc.field, **context)


@bp.get("/incidents")
@login_required
def incidents():
    session = db_session()
    return render_template(
        "admin/incidents.html", page=current_page(),
        unresolved=inc.unresolved_incidents(session),
        maintenance=inc.maintenances(session, (MaintenanceStatus.SCHEDULED, *inc.ACTIVE_MAINTENANCE)),
        recent=inc.history_page(session, 1, 20)[0],
    )


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
def new_incident():
    if request.method == "GET":
        prefill: dict[str, str] = {}
        code = request.args.get("template")
        if code:
            try:
                template = inc.get_template(db_session(), code)
            except NotFound:
                abort(404, "There is no template with that id.")
            prefill = {"name": template.title, "body": template.body, "status": template.update_status}
        return _render_form("admin/incident_new.html", form=prefill, new_form=True)
    try:
        incident = inc.open_incident(
            db_session(), _actor(),
            name=request.form.get("name"),
            body=request.form.get("body"),
            status=request.form.get("status", "investigating"),
            impact_override=request.form.get("impact_override") or None,
            component_statuses=_component_statuses(),
            started_at=parse_local(request.form.get("started_at", ""), _tz(), "started_at"),
            deliver_notifications=_checkbox("deliver_notifications"),
        )
    except DomainError as exc:
        return _form_failed("admin/incident_new.html", exc)
    db_session().commit()
    flash("Incident published.")
    return redirect(url_for("admin_incidents.incident", code=incident.code))


@bp.get("/incidents/<code>")
@login_required
def incident(code: str):
    item = _incident_or_404(code)
    return _render_form("admin/incident.html", incident=item, form={},
                        figures=postmortems.figures(db_session(), item, _tz()))


@bp.post("/incidents/<code>/updates")
@login_required
def post_update(code: str):
    item = _incident_or_404(code)
    try:
        inc.post_update(
            db_session(), _actor(), item,
            status=request.form.get("status"),
            body=request.form.get("body"),
            component_statuses=_component_statuses(),
            restore_components=_checkbox("restore_components"),
            deliver_notifications=_checkbox("deliver_notifications"),
        )
    except DomainError as exc:
        return _form_failed("admin/incident.html", exc, incident=_incident_or_404(code),
                            figures=postmortems.figures(db_session(), item, _tz()))
    db_session().commit()
    flash("Update posted.")
    return redirect(url_for("admin_incidents.incident", code=code))


@bp.post("/incidents/<code>/delete")
@admin_required
def delete_incident(code: str):
    item = _incident_or_404(code)
    if request.form.get("confirm_name", "").strip() != item.name:
        flash("Type the exact title to delete this incident.")
        return redirect(url_for("admin_incidents.incident", code=code))
    inc.delete_incident(db_session(), _actor(), item)
    db_session().commit()
    flash(f"Deleted {item.name}.")
    return redirect(url_for("admin_incidents.incidents"))


@bp.route("/maintenance/new", methods=["GET", "POST"])
@login_required
def new_maintenance():
    if request.method == "GET":
        return _render_form("admin/maintenance_new.html", form={"auto_transition": "on",
                                                                "deliver_notifications": "on"})
    try:
        maintenance = inc.schedule_maintenance(
            db_session(), _actor(),
            name=request.form.get("name"),
            body=request.form.get("body"),
            scheduled_for=parse_local(request.form.get("scheduled_for", ""), _tz(), "scheduled_for"),
            scheduled_until=parse_local(request.form.get("scheduled_until", ""), _tz(), "scheduled_until"),
            component_codes=request.form.getlist("component_ids"),
            auto_transition=_checkbox("auto_transition"),
            deliver_notifications=_checkbox("deliver_notifications"),
        )
    except DomainError as exc:
        return _form_failed("admin/maintenance_new.html", exc)
    db_session().commit()
    flash("Maintenance scheduled.")
    return redirect(url_for("admin_incidents.incident", code=maintenance.code))


@bp.route("/templates", methods=["GET", "POST"])
@login_required
def templates():
    if request.method == "POST":
        try:
            inc.save_template(db_session(), _actor(), name=request.form.get("name"),
                              title=request.form.get("title"), body=request.form.get("body"),
                              update_status=request.form.get("update_status", "investigating"))
        except DomainError as exc:
            return _form_failed("admin/templates.html", exc, statuses=list(IncidentStatus)[:4])
        db_session().commit()
        flash("Template saved.")
        return redirect(url_for("admin_incidents.templates"))
    return _render_form("admin/templates.html", form={}, statuses=list(IncidentStatus)[:4])


@bp.post("/templates/<code>/delete")
@login_required
def delete_template(code: str):
    try:
        template = inc.get_template(db_session(), code)
    except NotFound:
        abort(404, "There is no template with that id.")
    inc.delete_template(db_session(), _actor(), template)
    db_session().commit()
    flash(f"Template {template.name} deleted.")
    return redirect(url_for("admin_incidents.templates"))


@bp.post("/preview")
@login_required
def preview():
    """The sanitized HTML of a Markdown message, for the live preview."""
    body = request.form.get("body", "")
    if len(body) > inc.BODY_MAX:
        return jsonify({"error": {"code": "invalid", "message": "Message too long.", "field": "body"}}), 422
    return jsonify({"html": str(render(body))})
