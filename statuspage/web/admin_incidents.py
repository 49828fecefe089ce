"""The admin's incidents, maintenance, templates and the Markdown preview."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from statuspage.audit import Actor
from statuspage.components.catalog import all_components, component_tree
from statuspage.edge.page import current_page, page_zone
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.incidents import lifecycle, lookups, rules, windows
from statuspage.incidents import templates as incident_templates
from statuspage.markdown import render
from statuspage.models import Incident, IncidentTemplate, MaintenanceStatus
from statuspage.notify import subscribers
from statuspage.postmortems import recorded
from statuspage.probes.attention import waiting
from statuspage.timefmt import parse_local, to_local_input
from statuspage.web.auth import admin_required
from statuspage.web.forms import confirm_delete, domain_form, form_again, or_404, refusal

bp = Blueprint("admin_incidents", __name__, url_prefix="/admin")
# The statuses a template can set: an incident's, before resolved.
TEMPLATE_STATUSES = list(incident_templates.STATUSES)
# The saved messages each form offers: incidents' when opening one, maintenance's when scheduling one; an
# update's form offers every message (their text serves either).
OFFERED = {"admin/incident_new.html": False, "admin/maintenance_new.html": True}


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _tz() -> str:
    return page_zone()


def _component_statuses(form: Any = None) -> dict[str, str]:
    """`component-<code>` selects: the components this form changes ('' = not affected)."""
    form = request.form if form is None else form
    return {key.removeprefix("component-"): value for key, value in form.items()
            if key.startswith("component-") and value}


def _chosen_codes(form: Any) -> list[str]:
    """The components a form (as posted, or as prefilled) affects, for the reach count."""
    listed = form.getlist("component_ids") if hasattr(form, "getlist") else form.get("component_ids", [])
    return [*_component_statuses(form), *listed]


def _checkbox(name: str) -> bool:
    return name in request.form


def _incident_or_404(code: str) -> Incident:
    return or_404(lookups.get_incident, db_session(), code, message="There is no incident with that id.")


def _offered_templates(page_template: str) -> list[IncidentTemplate]:
    return incident_templates.list_templates(db_session(), OFFERED.get(page_template))


def _render_form(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    context.setdefault("form", request.form)
    tree = component_tree(session)
    # Pickers list components as the public page does (groups in their place, not by when they were made).
    return render_template(template, page=current_page(), components=[c for item in tree for c in item.components],
                           tree=tree,
                           templates=_offered_templates(template),
                           subscriber_counts=subscribers.component_counts(session),
                           all_subscribers=subscribers.recipient_count(session, []),
                           reach=subscribers.reach(session, _chosen_codes(context["form"]),
                                                   getattr(context.get("incident"), "components", ())),
                           **context), status


@bp.get("/incidents")
@login_required
def incidents():
    session = db_session()
    return render_template(
        "admin/incidents.html", page=current_page(), waiting=waiting(session),
        unresolved=lookups.unresolved_incidents(session),
        maintenance=lookups.maintenances(session, (MaintenanceStatus.SCHEDULED, *rules.ACTIVE_MAINTENANCE)),
        recent=lookups.history_page(session, 1, 20)[0],
    )


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
@domain_form(form_again(_render_form, "admin/incident_new.html"))
def new_incident():
    if request.method == "GET":
        template = _chosen_template()
        prefill = {"deliver_notifications": "on"}
        if template is not None:
            prefill = {"name": template.title, "status": template.update_status, **_template_fill(template)}
        return _render_form("admin/incident_new.html", form={**prefill, **_components_fill()})
    incident = lifecycle.open_incident(
        db_session(), _actor(),
        name=request.form.get("name"),
        body=request.form.get("body"),
        status=request.form.get("status", "investigating"),
        impact_override=request.form.get("impact_override") or None,
        component_statuses=_component_statuses(),
        started_at=parse_local(request.form.get("started_at", ""), _tz(), "started_at"),
        deliver_notifications=_checkbox("deliver_notifications"),
    )
    db_session().commit()
    flash("Incident published.")
    return redirect(url_for("admin_incidents.incident", code=incident.code))


def _components_fill() -> dict[str, str]:
    """`?component=<id>` (repeatable, as the admin's unexplained outages link): those components ticked at
    their status now, so the incident says they are down; ids of no component are left out."""
    wanted = set(request.args.getlist("component"))
    if not wanted:
        return {}
    return {f"component-{c.code}": c.status.value for c in all_components(db_session()) if c.code in wanted}


def _template_or_404(code: str) -> IncidentTemplate:
    return or_404(incident_templates.get_template, db_session(), code, message="There is no template with that id.")


def _chosen_template() -> IncidentTemplate | None:
    """The template `?template=<id>` asks to fill a form from, None without one, 404 for an unknown one."""
    code = request.args.get("template")
    return _template_or_404(code) if code else None


def _template_fill(template, incident=None) -> dict[str, str]:
    """What a template puts in an incident or update form: its message, the notify box as it says, and its
    components ticked at their status now (so nothing changes until the responder picks a status). Those
    the incident already affects stay as they are."""
    already = {c.code for c in incident.components} if incident is not None else set()
    components = {c.code: c for c in all_components(db_session())}
    fill = {"body": template.body, "deliver_notifications": "on" if template.should_send_notifications else ""}
    for code in template.component_ids or []:
        if code in components and code not in already:
            fill[f"component-{code}"] = components[code].status.value
    return fill


@bp.get("/templates/<code>/fill.json")
@login_required
def template_fill(code: str):
    """What a saved message puts in a form, for admin.js to fill it in place (without a reload losing
    what was typed); `?incident=<id>` for an update of that incident."""
    template = _template_or_404(code)
    incident_code = request.args.get("incident")
    if incident_code:
        item = _incident_or_404(incident_code)
        fill = _template_fill(template, item)
        if not item.is_maintenance:
            fill["status"] = template.update_status
        return jsonify(fill)
    return jsonify({"name": template.title or "", "status": template.update_status, **_template_fill(template)})


def _update_prefill(item) -> dict[str, str]:
    """The update form as first shown: notify and restore ticked, or filled from `?template=`."""
    prefill = {"deliver_notifications": "on", "restore_components": "on"}
    template = _chosen_template()
    if template is not None:
        prefill.update(_template_fill(template, item))
        if not item.is_maintenance:  # a template's status is an incident status
            prefill["status"] = template.update_status
    return prefill


def _render_incident(item: Incident, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    context.setdefault("window", _window_fields(item))
    return _render_form("admin/incident.html", status, incident=item,
                        figures=recorded.figures(session, item, _tz()), **context)


def _window_fields(item) -> dict[str, str]:
    """The reschedule form's edges as shown: the window in the page's time zone."""
    return {"scheduled_for": to_local_input(item.scheduled_for, _tz()),
            "scheduled_until": to_local_input(item.scheduled_until, _tz())}


@bp.get("/incidents/<code>")
@login_required
def incident(code: str):
    item = _incident_or_404(code)
    return _render_incident(item, form=_update_prefill(item))


def _update_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    return _render_incident(_incident_or_404(code), exc.status_code, **refusal(exc))


@bp.post("/incidents/<code>/updates")
@login_required
@domain_form(_update_refused)
def post_update(code: str):
    item = _incident_or_404(code)
    lifecycle.post_update(
        db_session(), _actor(), item,
        status=request.form.get("status"),
        body=request.form.get("body"),
        component_statuses=_component_statuses(),
        restore_components=_checkbox("restore_components"),
        deliver_notifications=_checkbox("deliver_notifications"),
    )
    db_session().commit()
    flash("Update posted.")
    return redirect(url_for("admin_incidents.incident", code=code))


def _reschedule_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    """The window as typed goes back into the reschedule form; the update form is as first shown."""
    item = _incident_or_404(code)
    return _render_incident(item, exc.status_code, **refusal(exc, form=_update_prefill(item), window=request.form))


@bp.post("/incidents/<code>/reschedule")
@login_required
@domain_form(_reschedule_refused)
def reschedule(code: str):
    item = _incident_or_404(code)
    windows.reschedule_maintenance(
        db_session(), _actor(), item,
        scheduled_for=_edge("scheduled_for", item.scheduled_for),
        scheduled_until=_edge("scheduled_until", item.scheduled_until),
        deliver_notifications=_checkbox("deliver_notifications"),
    )
    db_session().commit()
    flash("Maintenance rescheduled.")
    return redirect(url_for("admin_incidents.incident", code=code))


def _edge(field: str, current):
    """A window edge from the form, in the page's time zone; an edge left as shown keeps its exact time
    (the form shows minutes only)."""
    text = request.form.get(field, "")
    if current is not None and text.strip() == to_local_input(current, _tz()):
        return current
    return parse_local(text, _tz(), field)


@bp.post("/incidents/<code>/delete")
@admin_required
def delete_incident(code: str):
    item = _incident_or_404(code)
    return confirm_delete(
        "incident", item.name, lambda: lifecycle.delete_incident(db_session(), _actor(), item),
        done=url_for("admin_incidents.incidents"), message=f"Deleted {item.name}.",
        asked_on=url_for("admin_incidents.incident", code=code),
        wrong_name="Type the exact title to delete this incident.",
    )


@bp.route("/maintenance/new", methods=["GET", "POST"])
@login_required
@domain_form(form_again(_render_form, "admin/maintenance_new.html"))
def new_maintenance():
    if request.method == "GET":
        prefill = MultiDict({"auto_transition": "on", "deliver_notifications": "on"})
        template = _chosen_template()
        if template is not None and incident_templates.is_maintenance(template):
            prefill["name"], prefill["body"] = template.title, template.body
            prefill.setlist("component_ids", list(template.component_ids or []))
            if not template.should_send_notifications:
                prefill.pop("deliver_notifications")
        return _render_form("admin/maintenance_new.html", form=prefill)
    maintenance = windows.schedule_maintenance(
        db_session(), _actor(),
        name=request.form.get("name"),
        body=request.form.get("body"),
        scheduled_for=parse_local(request.form.get("scheduled_for", ""), _tz(), "scheduled_for"),
        scheduled_until=parse_local(request.form.get("scheduled_until", ""), _tz(), "scheduled_until"),
        component_codes=request.form.getlist("component_ids"),
        auto_transition=_checkbox("auto_transition"),
        deliver_notifications=_checkbox("deliver_notifications"),
    )
    db_session().commit()
    flash("Maintenance scheduled.")
    return redirect(url_for("admin_incidents.incident", code=maintenance.code))


@bp.route("/templates", methods=["GET", "POST"])
@login_required
@domain_form(form_again(_render_form, "admin/templates.html", statuses=TEMPLATE_STATUSES))
def templates():
    if request.method == "GET":
        return _render_form("admin/templates.html", form={"should_send_notifications": "on"},
                            statuses=TEMPLATE_STATUSES)
    incident_templates.save_template(db_session(), _actor(), name=request.form.get("name"),
                                     title=request.form.get("title"), body=request.form.get("body"),
                                     update_status=request.form.get("update_status", "investigating"),
                                     component_ids=request.form.getlist("component_ids"),
                                     should_send_notifications=_checkbox("should_send_notifications"))
    db_session().commit()
    flash("Template saved.")
    return redirect(url_for("admin_incidents.templates"))


@bp.post("/templates/<code>/delete")
@login_required
def delete_template(code: str):
    template = _template_or_404(code)
    return confirm_delete(
        "template", None, lambda: incident_templates.delete_template(db_session(), _actor(), template),
        done=url_for("admin_incidents.templates"), message=f"Template {template.name} deleted.",
        asked_on=url_for("admin_incidents.templates"),
    )


@bp.post("/preview")
@login_required
def preview():
    """The sanitized HTML of a Markdown message, for the live preview."""
    body = request.form.get("body", "")
    if len(body) > rules.BODY_MAX:
        return jsonify({"error": {"code": "invalid", "message": "Message too long.", "field": "body"}}), 422
    return jsonify({"html": str(render(body))})
