"""The admin's postmortem editor, action items, figures and the Markdown export."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import incidents as inc
from .. import postmortems as pm
from ..api.common import current_page, page_zone
from ..audit import Actor
from ..errors import DomainError, NotFound
from ..notify import subscribers
from ..timefmt import parse_local, to_local_input
from .session import db_session

bp = Blueprint("admin_postmortems", __name__, url_prefix="/admin")


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _zone() -> str:
    return page_zone()


def _incident(code: str):
    try:
        return inc.get_incident(db_session(), code)
    except NotFound:
        abort(404, "There is no incident with that id.")


def _editor(incident, postmortem, status: int = 200, error: str | None = None):
    session = db_session()
    lines = [{**line, "local": to_local_input(pm.line_time(line["at"], 0, incident, _zone()), _zone())}
             for line in postmortem.timeline]
    return render_template(
        "admin/postmortem.html", page=current_page(), incident=incident, postmortem=postmortem,
        sections=pm.SECTIONS, lines=lines, figures=pm.figures(session, incident, _zone()),
        items=pm.items_for(session, incident), error=error, today=date.today(),
        reach=subscribers.reach(session, (), incident.components),
    ), status


def _timeline_from_form() -> list[dict]:
    """Rows `line-<n>-at`, `-text`, `-key`, `-removed`; empty new rows are skipped."""
    lines = []
    numbers = sorted({int(k.split("-")[1]) for k in request.form if k.startswith("line-") and k.count("-") >= 2
                      and k.split("-")[1].isdigit()})
    for number in numbers:
        text = request.form.get(f"line-{number}-text", "").strip()
        key = request.form.get(f"line-{number}-key", "")
        if not text and not key:
            continue
        at = parse_local(request.form.get(f"line-{number}-at", ""), _zone(), "timeline")
        lines.append({"key": key, "at": at.isoformat() if at else None, "text": text,
                      "removed": f"line-{number}-removed" in request.form})
    return lines


@bp.get("/incidents/<code>/postmortem")
@login_required
def editor(code: str):
    incident = _incident(code)
    session = db_session()
    try:
        postmortem = pm.start(session, _actor(), incident, _zone())
    except DomainError as exc:
        flash(exc.message)
        return redirect(url_for("admin_incidents.incident", code=code))
    session.commit()
    return _editor(incident, postmortem)


@bp.post("/incidents/<code>/postmortem")
@login_required
def save(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = pm.get(session, incident)
    if postmortem is None:
        abort(404, "Open the postmortem first.")
    sections = {key: request.form.get(f"section-{key}", "") for key, _t in pm.SECTIONS if key != "timeline"}
    try:
        pm.edit(session, _actor(), incident, postmortem, _zone(), sections=sections, timeline=_timeline_from_form())
        if request.form.get("action") == "publish":
            pm.publish(session, _actor(), incident, postmortem, _zone(), notify="notify" in request.form)
    except DomainError as exc:
        session.rollback()
        return _editor(incident, pm.get(session, incident), 422, exc.message)
    session.commit()
    flash("Postmortem published." if request.form.get("action") == "publish" else "Postmortem saved.")
    return redirect(url_for("admin_postmortems.editor", code=code))


@bp.post("/incidents/<code>/postmortem/regenerate")
@login_required
def regenerate(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = pm.get(session, incident)
    if postmortem is None:
        abort(404, "Open the postmortem first.")
    pm.regenerate_timeline(session, _actor(), incident, postmortem, _zone())
    session.commit()
    flash("Timeline drafted again from the record; your own lines were kept.")
    return redirect(url_for("admin_postmortems.editor", code=code))


@bp.post("/incidents/<code>/postmortem/revert")
@login_required
def revert(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = pm.get(session, incident)
    if postmortem is None or postmortem.published_at is None:
        abort(404, "Nothing published to take back.")
    pm.revert(session, _actor(), incident, postmortem)
    session.commit()
    flash("The postmortem is no longer public.")
    return redirect(url_for("admin_postmortems.editor", code=code))


@bp.get("/incidents/<code>/postmortem.md")
@login_required
def export(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = pm.get(session, incident)
    if postmortem is None:
        abort(404, "This incident has no postmortem.")
    text = pm.export_markdown(incident, postmortem, _zone(), items=pm.items_for(session, incident))
    return Response(text, mimetype="text/markdown",
                    headers={"Content-Disposition": f"attachment; filename=postmortem-{incident.code}.md"})


def _back(default: str) -> str:
    """Where the form asked to return, if it is a page of this admin."""
    target = request.form.get("back", "")
    return target if target.startswith("/admin/") and "//" not in target else default


def _item_fields() -> dict:
    return {"title": request.form.get("title"), "owner": request.form.get("owner"),
            "due_date": request.form.get("due_date"), "status": request.form.get("status", "open"),
            "link": request.form.get("link"), "public": "public" in request.form}


@bp.post("/incidents/<code>/action-items")
@login_required
def add_item(code: str):
    incident = _incident(code)
    session = db_session()
    try:
        pm.add_item(session, _actor(), incident, **_item_fields())
    except DomainError as exc:
        session.rollback()
        postmortem = pm.get(session, incident)
        if postmortem is None:
            flash(exc.message)
            return redirect(url_for("admin_incidents.incident", code=code))
        return _editor(incident, postmortem, 422, exc.message)
    session.commit()
    flash("Action item added.")
    return redirect(_back(url_for("admin_postmortems.editor", code=code)))


@bp.post("/action-items/<code>")
@login_required
def update_item(code: str):
    session = db_session()
    try:
        item = pm.get_item(session, code)
    except NotFound:
        abort(404, "There is no such action item.")
    try:
        pm.update_item(session, _actor(), item, **_item_fields())
    except DomainError as exc:
        session.rollback()
        flash(exc.message)
        return redirect(_back(url_for("admin_postmortems.action_items"))), 303
    session.commit()
    flash("Action item saved.")
    return redirect(_back(url_for("admin_postmortems.action_items")))


@bp.get("/action-items")
@login_required
def action_items():
    return render_template("admin/action_items.html", page=current_page(), rows=pm.open_items(db_session()),
                           today=date.today())
