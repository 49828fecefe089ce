"""The admin's subscribers (search, counts, CSV, removal) and notification deliveries (status, retry)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.exceptions import RequestEntityTooLarge

from statuspage.audit import Actor
from statuspage.components.catalog import all_components
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.models import Delivery, DeliveryStatus, OutboxEvent
from statuspage.notify import subscribers
from statuspage.notify.channels import CHANNELS
from statuspage.notify.subscriber_csv import export_csv, import_csv
from statuspage.outbound import guard
from statuspage.outbox import queue
from statuspage.web.auth import admin_required
from statuspage.web.forms import confirm_delete, domain_form, flashed, or_404

bp = Blueprint("admin_subscribers", __name__, url_prefix="/admin")
PER_PAGE = 50
# Below the app's MAX_CONTENT_LENGTH (2 MB), so the message below is what people see.
CSV_MAX_BYTES = 1024 * 1024
TOO_LARGE = "The file is too large (1 MB at most)."


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


@bp.get("/subscribers")
@login_required
def subscriber_list():
    session = db_session()
    q = request.args.get("q", "").strip()
    state = request.args.get("state", "all")
    mode = request.args.get("mode", "") or None
    try:
        asked = int(request.args.get("page", "1"))
        total = subscribers.count(session, q, state, mode)
    except (ValueError, DomainError):
        abort(400, "Unknown filter.")
    # A page past the last shows the last (a huge number must not reach the database as an offset).
    number = min(max(asked, 1), max(1, -(-total // PER_PAGE)))
    found = subscribers.search(session, q, state, mode, PER_PAGE, (number - 1) * PER_PAGE)
    components = all_components(session)
    counts = subscribers.component_counts(session)
    everything = subscribers.count(session, "", "active")
    by_mode = {CHANNELS[kind].label: number for kind, number in subscribers.counts_by_mode(session).items()}
    return render_template("admin/subscribers.html", page=current_page(), subscribers=found, total=total,
                           q=q, state=state, mode=mode or "", modes=CHANNELS, number=number,
                           pages=max(1, -(-total // PER_PAGE)), components=components, counts=counts,
                           active=everything, by_mode=by_mode)


@bp.get("/subscribers/reach")
@login_required
def reach():
    """How many confirmed subscribers a notification about `components` (comma-separated ids) reaches."""
    codes = [code for code in request.args.get("components", "").split(",") if code]
    return jsonify({"count": subscribers.reach(db_session(), codes[:500])})


@bp.get("/subscribers.csv")
@login_required
def subscriber_csv():
    return Response(export_csv(db_session()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=subscribers.csv"})


@bp.post("/subscribers/import")
@admin_required
@domain_form(flashed("admin_subscribers.subscriber_list"))
def subscriber_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a CSV file to import.")
        return redirect(url_for("admin_subscribers.subscriber_list"))
    raw = upload.read(CSV_MAX_BYTES + 1)
    if len(raw) > CSV_MAX_BYTES:
        flash(TOO_LARGE)
        return redirect(url_for("admin_subscribers.subscriber_list"))
    try:
        text = raw.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        flash("The file is not UTF-8 text.")
        return redirect(url_for("admin_subscribers.subscriber_list"))
    session = db_session()
    result = import_csv(session, _actor(), text,
                        policy=guard.Policy.for_subscribers(current_app.config["STATUSPAGE"]))
    session.commit()
    left_out = f"; {result['left_out']} webhooks or unconfirmed left out" if result["left_out"] else ""
    flash(f"Imported {result['created']} subscribers ({result['skipped']} already there{left_out}).")
    return redirect(url_for("admin_subscribers.subscriber_list"))


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge):
    """An upload over the app's request limit: say so on the list rather than show an error page."""
    flash(TOO_LARGE)
    return redirect(url_for("admin_subscribers.subscriber_list"))


@bp.post("/subscribers/<code>/delete")
@admin_required
def subscriber_delete(code: str):
    subscriber = or_404(subscribers.get, db_session(), code, message="There is no subscriber with that id.")
    return confirm_delete(
        "subscriber", None, lambda: subscribers.remove(db_session(), subscriber, _actor()),
        done=url_for("admin_subscribers.subscriber_list"),
        message=f"Removed {subscriber.address}.",
        asked_on=url_for("admin_subscribers.subscriber_list"),
    )


@bp.get("/deliveries")
@login_required
def deliveries():
    session = db_session()
    events = list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(30)))
    rows = session.execute(
        select(Delivery.event_id, Delivery.status, func.count())
        .where(Delivery.event_id.in_([e.id for e in events]))
        .group_by(Delivery.event_id, Delivery.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for event_id, status, number in rows:
        counts.setdefault(event_id, {})[DeliveryStatus(status).value] = number
    failed = list(session.scalars(
        select(Delivery).where(Delivery.status.in_([DeliveryStatus.FAILED.value, DeliveryStatus.RETRYING.value]))
        .order_by(Delivery.id.desc()).limit(100)))
    return render_template("admin/deliveries.html", page=current_page(), events=events, counts=counts,
                           failed=failed)


@bp.post("/deliveries/<int:delivery_id>/retry")
@login_required
@domain_form(flashed("admin_subscribers.deliveries"))
def delivery_retry(delivery_id: int):
    session = db_session()
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        abort(404, "There is no such delivery.")
    queue.retry(session, _actor(), delivery)
    session.commit()
    flash("Queued again.")
    return redirect(url_for("admin_subscribers.deliveries"))
