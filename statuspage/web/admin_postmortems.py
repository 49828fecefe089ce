"""The admin's postmortem editor, action items, figures and the Markdown export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from statuspage.audit import Actor
from statuspage.edge.page import current_page, page_zone
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.incidents import lookups
from statuspage.inputs import UNSET
from statuspage.models import ActionItem, Incident, Postmortem
from statuspage.notify import subscribers
from statuspage.postmortems import action_items as postmortem_items
from statuspage.postmortems import document, editing, recorded
from statuspage.timefmt import to_local_input
from statuspage.web.forms import domain_form, flashed, or_404

bp = Blueprint("admin_postmortems", __name__, url_prefix="/admin")
NEW_ROWS = 3


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _zone() -> str:
    return page_zone()


def _incident(code: str) -> Incident:
    return or_404(lookups.get_incident, db_session(), code, message="There is no incident with that id.")


def _postmortem(incident: Incident, message: str = "Open the postmortem first.") -> Postmortem:
    """The incident's postmortem, or a 404 saying `message`."""
    postmortem = editing.get(db_session(), incident)
    if postmortem is None:
        abort(404, message)
    return postmortem


@dataclass
class Submitted:
    """What a refused form sent, drawn again so the responder loses none of it."""

    sections: dict[str, str] | None = None
    rows: list[dict[str, Any]] | None = None
    item_code: str | None = None  # "new" for the form that adds one
    item: dict[str, Any] = field(default_factory=dict)


def _stored_rows(postmortem: Postmortem) -> list[dict[str, Any]]:
    return [{"key": line["key"], "local": to_local_input(datetime.fromisoformat(line["at"]), _zone()),
             "text": line["text"], "removed": bool(line.get("removed"))} for line in postmortem.timeline]


def _labelled(rows: list[dict[str, Any]], postmortem: Postmortem) -> list[dict[str, Any]]:
    """Each row with where it came from: recorded, edited, yours (saved), or new (not saved yet)."""
    stored = {line["key"]: line for line in postmortem.timeline}
    labelled = []
    for row in rows:
        line = stored.get(row.get("key") or "")
        origin = "new" if line is None else "yours" if line["source"] == "manual" else (
            "edited" if line.get("edited") else "recorded")
        labelled.append({**row, "origin": origin})
    return labelled


def _item_values(item: ActionItem | None) -> dict[str, Any]:
    if item is None:
        return {"title": "", "owner": "", "due_date": "", "status": "open", "link": "", "public": False}
    return {"title": item.title, "owner": item.owner or "", "due_date": item.due_date.isoformat() if item.due_date
            else "", "status": item.status.value, "link": item.link or "", "public": item.public}


def _editor(incident: Incident, postmortem: Postmortem, status: int = 200, error: str | None = None,
            submitted: Submitted | None = None) -> ResponseReturnValue:
    session = db_session()
    submitted = submitted or Submitted()
    items = postmortem_items.items_for(session, incident)
    rows = submitted.rows if submitted.rows is not None else _stored_rows(postmortem)

    def values(code: str, item: ActionItem | None) -> dict[str, Any]:
        return submitted.item if submitted.item_code == code else _item_values(item)

    return render_template(
        "admin/postmortem.html", page=current_page(), incident=incident, postmortem=postmortem,
        sections=document.SECTIONS, section_values=submitted.sections or postmortem.sections,
        lines=_labelled(rows, postmortem), new_rows=NEW_ROWS,
        figures=recorded.figures(session, incident, _zone()), error=error, today=date.today(),
        item_forms=[(item, values(item.code, item)) for item in items], new_item=values("new", None),
        revisions=editing.revisions(session, postmortem),
        reach=subscribers.reach(session, (), incident.components),
    ), status


def _submitted_rows() -> list[dict[str, Any]] | None:
    """Rows `line-<n>-at`, `-text`, `-key`, `-removed` in form order; unused blank rows are skipped.

    None when the form has no timeline rows at all: such a post leaves the timeline alone.
    """
    numbers = sorted({int(k.split("-")[1]) for k in request.form if k.startswith("line-") and k.count("-") >= 2
                      and k.split("-")[1].isdigit()})
    if not numbers:
        return None
    rows = []
    for number in numbers:
        row: dict[str, Any] = {"key": request.form.get(f"line-{number}-key", ""),
               "local": request.form.get(f"line-{number}-at", "").strip(),
               "text": request.form.get(f"line-{number}-text", ""),
               "removed": f"line-{number}-removed" in request.form}
        if row["key"] or row["local"] or row["text"].strip():
            rows.append(row)
    return rows


def _timeline(rows: list[dict[str, Any]] | None) -> Any:
    """The rows as the domain reads them (the time as typed, in the page's zone), or UNSET."""
    if rows is None:
        return UNSET
    return [{"key": row["key"], "at": row["local"], "text": row["text"], "removed": row["removed"]} for row in rows]


def _submitted_sections() -> dict[str, str]:
    """The sections the form sent (the timeline is rows of its own)."""
    return {key: request.form[f"section-{key}"] for key, _t in document.SECTIONS
            if key != "timeline" and f"section-{key}" in request.form}


@bp.get("/incidents/<code>/postmortem")
@login_required
@domain_form(flashed("admin_incidents.incident", "code"))
def editor(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = editing.start(session, _actor(), incident, _zone())
    session.commit()
    return _editor(incident, postmortem)


def _saved_message(changed: bool, published: bool, publishing: bool) -> str:
    if publishing:
        return "Postmortem published."
    if not changed:
        return "Nothing changed, so nothing was saved."
    return "Published postmortem updated; its page now says when." if published else "Draft saved."


def _save_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    """The editor again with every section and timeline row as sent."""
    incident = _incident(code)
    postmortem = _postmortem(incident)
    return _editor(incident, postmortem, 422, exc.message,
                   Submitted(sections={**postmortem.sections, **_submitted_sections()}, rows=_submitted_rows()))


@bp.post("/incidents/<code>/postmortem")
@login_required
@domain_form(_save_refused)
def save(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = _postmortem(incident)
    publishing = request.form.get("action") == "publish"
    changed = editing.edit(session, _actor(), incident, postmortem, _zone(), sections=_submitted_sections(),
                           timeline=_timeline(_submitted_rows()))
    if publishing:
        editing.publish(session, _actor(), incident, postmortem, _zone(), notify="notify" in request.form)
    session.commit()
    flash(_saved_message(changed, postmortem.published_at is not None, publishing))
    return redirect(url_for("admin_postmortems.editor", code=code))


@bp.post("/incidents/<code>/postmortem/regenerate")
@login_required
def regenerate(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = _postmortem(incident)
    changed = editing.regenerate_timeline(session, _actor(), incident, postmortem, _zone())
    session.commit()
    flash("Timeline drafted again from the record; your own lines were kept." if changed
          else "The record drafts the same timeline; nothing changed.")
    return redirect(url_for("admin_postmortems.editor", code=code))


@bp.post("/incidents/<code>/postmortem/revert")
@login_required
def revert(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = editing.get(session, incident)
    if postmortem is None or postmortem.published_at is None:
        abort(404, "Nothing published to take back.")
    editing.revert(session, _actor(), incident, postmortem)
    session.commit()
    flash("The postmortem is no longer public.")
    return redirect(url_for("admin_postmortems.editor", code=code))


@bp.get("/incidents/<code>/postmortem.md")
@login_required
def export(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem = _postmortem(incident, "This incident has no postmortem.")
    text = document.export_markdown(incident, postmortem, _zone(), items=postmortem_items.items_for(session, incident))
    return Response(text, mimetype="text/markdown",
                    headers={"Content-Disposition": f"attachment; filename=postmortem-{incident.code}.md"})


def _back(default: str) -> str:
    """Where the form asked to return, if it is a page of this admin."""
    target = request.form.get("back", "")
    return target if target.startswith("/admin/") and "//" not in target else default


def _item_fields() -> dict[str, Any]:
    return {"title": request.form.get("title", ""), "owner": request.form.get("owner", ""),
            "due_date": request.form.get("due_date", ""), "status": request.form.get("status", "open"),
            "link": request.form.get("link", ""), "public": "public" in request.form}


def _refused_item(incident: Incident, code: str, message: str) -> ResponseReturnValue:
    """Draw the editor again with the item's form as sent, or say why when there is no editor."""
    postmortem = editing.get(db_session(), incident)
    if postmortem is None:
        flash(message)
        return redirect(url_for("admin_incidents.incident", code=incident.code))
    return _editor(incident, postmortem, 422, message, Submitted(item_code=code, item=_item_fields()))


def _item_or_404(code: str) -> ActionItem:
    return or_404(postmortem_items.get_item, db_session(), code, message="There is no such action item.")


def _item_incident(item: ActionItem) -> Incident:
    return db_session().get_one(Incident, item.incident_id)


def _new_item_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    return _refused_item(_incident(code), "new", exc.message)


def _item_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    return _refused_item(_item_incident(_item_or_404(code)), code, exc.message)


@bp.post("/incidents/<code>/action-items")
@login_required
@domain_form(_new_item_refused)
def add_item(code: str):
    incident = _incident(code)
    session = db_session()
    postmortem_items.add_item(session, _actor(), incident, **_item_fields())
    session.commit()
    flash("Action item added.")
    return redirect(_back(url_for("admin_postmortems.editor", code=code)))


@bp.post("/action-items/<code>")
@login_required
@domain_form(_item_refused)
def update_item(code: str):
    session = db_session()
    item = _item_or_404(code)
    changed = postmortem_items.update_item(session, _actor(), item, **_item_fields())
    session.commit()
    flash("Action item saved." if changed else "Nothing changed in that action item.")
    return redirect(_back(url_for("admin_postmortems.action_items")))


@bp.get("/action-items")
@login_required
def action_items():
    rows = postmortem_items.open_items(db_session())
    return render_template("admin/action_items.html", page=current_page(), rows=rows, today=date.today())
