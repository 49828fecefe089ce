"""The responders' admin: components, groups, statuses and the audit log.

Any signed-in responder manages the component tree, as responders run the page
during an incident; the page profile (API), probes and subscriber imports stay with admins.

Views parse the form, call one domain function, commit, and redirect; a
DomainError re-renders the form with its message and nothing saved.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.models import AuditEntry, Component, ComponentGroup
from statuspage.probes.attention import waiting
from statuspage.web.auth import safe_next
from statuspage.web.forms import confirm_delete, domain_form, or_404, refusal

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Two requests racing past the same uniqueness check (a name created twice at once):
# the database kept the first, this one is told to reload.
RACE = "This conflicts with a change saved a moment ago (the name is taken now); reload and retry."


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _form_text(name: str) -> str:
    return request.form.get(name, "")


def _dashboard(status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    return render_template("admin/dashboard.html", page=current_page(), tree=catalog.component_tree(session),
                           groups=catalog.all_groups(session), waiting=waiting(session), **context), status


def _component_page(code: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    component = _component_or_404(code)
    return render_template("admin/component.html", page=current_page(), component=component,
                           groups=catalog.all_groups(session), history=catalog.history(session, component),
                           **context), status


def _group_page(code: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return render_template("admin/group.html", page=current_page(), group=_group_or_404(code),
                           groups=catalog.all_groups(db_session()), **context), status


def _dashboard_refused(exc: DomainError, **_view_args: Any) -> ResponseReturnValue:
    return _dashboard(exc.status_code, **refusal(exc))


def _component_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    return _component_page(code, exc.status_code, **refusal(exc))


def _group_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    return _group_page(code, exc.status_code, **refusal(exc))


@bp.get("/")
@login_required
def dashboard():
    return _dashboard(form={})


# --- components -------------------------------------------------------------------------------


def _component_or_404(code: str) -> Component:
    return or_404(catalog.get_component, db_session(), code)


@bp.post("/components")
@login_required
@domain_form(_dashboard_refused, race=RACE)
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
    return _component_page(code, form={})


@bp.post("/components/<code>")
@login_required
@domain_form(_component_refused, race=RACE)
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
@domain_form(_dashboard_refused, race=RACE)
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
    component = _component_or_404(code)
    return confirm_delete(
        "component", component.name, lambda: catalog.delete_component(db_session(), _actor(), component),
        done=url_for("admin.dashboard"), message=f"Component {component.name} deleted.",
    )


# --- groups -----------------------------------------------------------------------------------


def _group_or_404(code: str) -> ComponentGroup:
    return or_404(catalog.get_group, db_session(), code)


@bp.post("/groups")
@login_required
@domain_form(_dashboard_refused, race=RACE)
def create_group():
    session = db_session()
    catalog.create_group(session, _actor(), _form_text("name"), _form_text("description"))
    session.commit()
    flash(f"Group {_form_text('name').strip()} created.")
    return redirect(url_for("admin.dashboard"))


@bp.get("/groups/<code>")
@login_required
def edit_group(code: str):
    return _group_page(code, form={})


@bp.post("/groups/<code>")
@login_required
@domain_form(_group_refused, race=RACE)
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
    group = _group_or_404(code)
    # Deleting moves the members to the top level, where one's name may be taken (a DomainError),
    # or taken a moment ago by a racing request.
    return confirm_delete(
        "group", group.name, lambda: catalog.delete_group(db_session(), _actor(), group),
        done=url_for("admin.dashboard"), message=f"Group {group.name} deleted.",
        note="Its components stay, moved to the top level.",
        race="A component of this group has a name taken at the top level a moment ago.",
    )


# --- audit log --------------------------------------------------------------------------------


@bp.get("/audit")
@login_required
def audit_log():
    entries = db_session().scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(200)
    )
    return render_template("admin/audit.html", page=current_page(), entries=list(entries))
