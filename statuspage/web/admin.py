"""The responders' admin: components, groups, statuses and the audit log.

Any signed-in responder manages the component tree, as responders run the page
during an incident; the page profile (API), probes and subscriber imports stay with admins.

Views parse the form, call one domain function, commit, and redirect; a
DomainError re-renders the form with its message and nothing saved.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import Conflict, DomainError
from statuspage.models import AuditEntry
from statuspage.web.auth import safe_next

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _form_text(name: str) -> str:
    return request.form.get(name, "")


def domain_form(template: str) -> Callable:
    """Run a form view; on DomainError roll back and re-render `template` with the message.

    An IntegrityError is two requests racing past the same uniqueness check (a name
    created twice at once): the database kept the first, this one is told to reload.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except (DomainError, IntegrityError) as exc:
                db_session().rollback()
                if isinstance(exc, IntegrityError):
                    exc = Conflict("This conflicts with a change saved a moment ago "
                                   "(the name is taken now); reload and retry.", "name")
                context = _template_context(template, kwargs)
                return render_template(template, error=exc.message, error_field=exc.field,
                                       form=request.form, **context), exc.status_code

        return wrapper

    return decorator


def _template_context(template: str, kwargs: dict) -> dict:
    """What a re-rendered form needs besides the error."""
    session = db_session()
    context: dict = {"page": current_page(), "groups": catalog.all_groups(session)}
    if "code" in kwargs:
        try:
            if template.endswith("component.html"):
                component = catalog.get_component(session, kwargs["code"])
                context["component"] = component
                context["history"] = catalog.history(session, component)
            elif template.endswith("group.html"):
                context["group"] = catalog.get_group(session, kwargs["code"])
        except DomainError:
            abort(404)
    if template.endswith("dashboard.html"):
        context["tree"] = catalog.component_tree(session)
    return context


@bp.get("/")
@login_required
def dashboard():
    session = db_session()
    return render_template("admin/dashboard.html", page=current_page(),
                           tree=catalog.component_tree(session), groups=catalog.all_groups(session),
                           form={})


# --- components -------------------------------------------------------------------------------


@bp.post("/components")
@login_required
@domain_form("admin/dashboard.html")
def create_component():
    session = db_session()
    catalog.create_component(
        session, _actor(),
        name=_form_text("name"),
        description=_form_text("description"),
        group_code=_form_text("group_id") or None,
        status=_form_text("status") or "operational",
    )
    session.commit()
    flash(f"Component {_form_text('name').strip()} created.")
    return redirect(url_for("admin.dashboard"))


@bp.get("/components/<code>")
@login_required
def edit_component(code: str):
    session = db_session()
    component = _component_or_404(code)
    return render_template("admin/component.html", page=current_page(), component=component,
                           groups=catalog.all_groups(session),
                           history=catalog.history(session, component), form={})


def _component_or_404(code: str):
    try:
        return catalog.get_component(db_session(), code)
    except DomainError:
        abort(404)


@bp.post("/components/<code>")
@login_required
@domain_form("admin/component.html")
def update_component(code: str):
    session = db_session()
    component = _component_or_404(code)
    catalog.update_component(
        session, _actor(), component,
        name=_form_text("name"),
        description=_form_text("description"),
        group_code=_form_text("group_id") or None,
        showcase="showcase" in request.form,
        only_show_if_degraded="only_show_if_degraded" in request.form,
        start_date=_form_text("start_date"),
    )
    session.commit()
    flash("Component saved.")
    return redirect(url_for("admin.edit_component", code=code))


@bp.post("/components/<code>/status")
@login_required
@domain_form("admin/dashboard.html")
def set_component_status(code: str):
    session = db_session()
    component = _component_or_404(code)
    catalog.update_component(session, _actor(), component, status=_form_text("status"))
    session.commit()
    flash(f"{component.name} is now {component.status.value.replace('_', ' ')}.")
    return redirect(safe_next(request.form.get("back")))


@bp.post("/components/<code>/move")
@login_required
def move_component(code: str):
    session = db_session()
    catalog.move(session, _actor(), _component_or_404(code), -1 if _form_text("direction") == "up" else 1)
    session.commit()
    return redirect(url_for("admin.dashboard"))


@bp.route("/components/<code>/delete", methods=["GET", "POST"])
@login_required
def delete_component(code: str):
    session = db_session()
    component = _component_or_404(code)
    if request.method == "GET":
        return render_template("admin/confirm_delete.html", page=current_page(), kind="component",
                               name=component.name, action=request.path)
    if _form_text("confirm_name").strip() != component.name:
        return render_template("admin/confirm_delete.html", page=current_page(), kind="component",
                               name=component.name, action=request.path,
                               error="Type the exact name to confirm."), 422
    catalog.delete_component(session, _actor(), component)
    session.commit()
    flash(f"Component {component.name} deleted.")
    return redirect(url_for("admin.dashboard"))


# --- groups -----------------------------------------------------------------------------------


def _group_or_404(code: str):
    try:
        return catalog.get_group(db_session(), code)
    except DomainError:
        abort(404)


@bp.post("/groups")
@login_required
@domain_form("admin/dashboard.html")
def create_group():
    session = db_session()
    catalog.create_group(session, _actor(), _form_text("name"), _form_text("description"))
    session.commit()
    flash(f"Group {_form_text('name').strip()} created.")
    return redirect(url_for("admin.dashboard"))


@bp.get("/groups/<code>")
@login_required
def edit_group(code: str):
    return render_template("admin/group.html", page=current_page(), group=_group_or_404(code),
                           groups=catalog.all_groups(db_session()), form={})


@bp.post("/groups/<code>")
@login_required
@domain_form("admin/group.html")
def update_group(code: str):
    session = db_session()
    group = _group_or_404(code)
    catalog.update_group(session, _actor(), group, name=_form_text("name"),
                         description=_form_text("description"))
    session.commit()
    flash("Group saved.")
    return redirect(url_for("admin.edit_group", code=code))


@bp.post("/groups/<code>/move")
@login_required
def move_group(code: str):
    session = db_session()
    catalog.move(session, _actor(), _group_or_404(code), -1 if _form_text("direction") == "up" else 1)
    session.commit()
    return redirect(url_for("admin.dashboard"))


@bp.route("/groups/<code>/delete", methods=["GET", "POST"])
@login_required
def delete_group(code: str):
    session = db_session()
    group = _group_or_404(code)
    if request.method == "GET":
        return render_template("admin/confirm_delete.html", page=current_page(), kind="group",
                               name=group.name, action=request.path,
                               note="Its components stay, moved to the top level.")
    if _form_text("confirm_name").strip() != group.name:
        return render_template("admin/confirm_delete.html", page=current_page(), kind="group",
                               name=group.name, action=request.path,
                               error="Type the exact name to confirm."), 422
    try:
        catalog.delete_group(session, _actor(), group)
        session.commit()
    except (DomainError, IntegrityError) as exc:
        # E.g. a member's name is taken at the top level, where deletion would move it.
        session.rollback()
        error = exc if isinstance(exc, DomainError) else Conflict(
            "A component of this group has a name taken at the top level a moment ago.", "name")
        return render_template("admin/confirm_delete.html", page=current_page(), kind="group",
                               name=group.name, action=request.path,
                               note="Its components stay, moved to the top level.",
                               error=error.message), error.status_code
    flash(f"Group {group.name} deleted.")
    return redirect(url_for("admin.dashboard"))


# --- audit log --------------------------------------------------------------------------------


@bp.get("/audit")
@login_required
def audit_log():
    entries = db_session().scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(200)
    )
    return render_template("admin/audit.html", page=current_page(), entries=list(entries))
