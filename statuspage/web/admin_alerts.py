"""The admin's alert routes: where responders hear that probes proposed a draft, an incident moved, a component
changed, a delivery failed for good or an action item fell overdue.

Responders see the routes (targets masked: webhook URLs and routing keys are secrets) and send test
alerts; admins add, change and delete them. A webhook route's signing secret is shown once, right
after it is made.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.accounts import users
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.models import AlertChannel, AlertKind, Delivery, EventKind, OutboxEvent, SubscriberMode
from statuspage.notify import alert_routes
from statuspage.notify.channels import CHANNELS
from statuspage.outbound.guard import Policy
from statuspage.shapes import masked_target
from statuspage.web.auth import admin_required
from statuspage.web.forms import confirm_delete, domain_form, flashed, or_404, refusal

bp = Blueprint("admin_alerts", __name__, url_prefix="/admin")

# What each kind's target is, as the form explains it.
TARGET_HELP = {
    AlertKind.EMAIL: "The email address of a responder (or of the team's list).",
    AlertKind.WEBHOOK: "A URL that takes a POST of JSON, signed like subscriber webhooks (X-Statuspage-Signature "
                       "with the route's secret, shown once after saving).",
    AlertKind.SLACK: "A Slack incoming-webhook URL (https://hooks.slack.com/services/…).",
    AlertKind.TEAMS: "A Microsoft Teams workflow URL (\u201cPost to a channel when a webhook request is "
                     "received\u201d).",
    AlertKind.DISCORD: "A Discord channel webhook URL (https://discord.com/api/webhooks/…).",
    AlertKind.PAGERDUTY: "The integration key of a PagerDuty service's Events API v2 integration (32 letters and "
                         "digits).",
}
KINDS = [(kind.value, CHANNELS[SubscriberMode(kind.value)].label, TARGET_HELP[kind]) for kind in AlertKind]
# The last outcome shown per route is looked for among this many latest alerts (deliveries are indexed
# by event, not by route).
RECENT_ALERTS = 200


def _actor() -> Actor:
    return Actor.for_user(current_user, "admin")


def _policy() -> Policy:
    return Policy.from_settings(current_app.config["STATUSPAGE"])


def _last_deliveries(session: Session, routes: list[AlertChannel]) -> dict[int, Delivery]:
    """Each route's newest delivery among the latest alerts, by route id."""
    recent = list(session.scalars(select(OutboxEvent.id).where(OutboxEvent.kind == EventKind.ALERT)
                                  .order_by(OutboxEvent.id.desc()).limit(RECENT_ALERTS)))
    newest: dict[int, Delivery] = {}
    if recent and routes:
        for delivery in session.scalars(
                select(Delivery).where(Delivery.event_id.in_(recent),
                                       Delivery.alert_channel_id.in_([r.id for r in routes]))
                .order_by(Delivery.id.desc())):
            newest.setdefault(delivery.alert_channel_id or 0, delivery)
    return newest


def _route_or_404(code: str) -> AlertChannel:
    return or_404(alert_routes.get_route, db_session(), code, message="There is no alert route with that id.")


def _chosen_events(form: Any) -> list[str]:
    """The events ticked in `form`: a submitted form's, or the list a page was drawn with."""
    return form.getlist("events") if hasattr(form, "getlist") else list(form.get("events", alert_routes.ALL_EVENTS))


def _form_context(form: Any) -> dict[str, Any]:
    """What the route form needs beside the values: kinds with their help, events, the users' addresses."""
    emails = [u.email for u in users.all_users(db_session()) if u.active] if current_user.is_admin else []
    return {"form": form, "chosen_events": _chosen_events(form), "kinds": KINDS,
            "events": alert_routes.event_labels(), "emails": emails}


def _form_values(*, new: bool) -> dict[str, Any]:
    """The route fields of the form; on an existing route an empty target keeps the stored one."""
    values: dict[str, Any] = {"name": request.form.get("name", ""), "kind": request.form.get("kind", ""),
                              "events": request.form.getlist("events")}
    target = request.form.get("target", "").strip()
    if new or target:
        values["target"] = target
    return values


# --- the list and a new route ----------------------------------------------------------------------


def _list_page(status: int = 200, **context: Any) -> ResponseReturnValue:
    session = db_session()
    routes = alert_routes.routes(session)
    last = _last_deliveries(session, routes)
    rows = [(route, masked_target(route), last.get(route.id)) for route in routes]
    form = context.pop("form", {"kind": AlertKind.EMAIL.value})
    return render_template("admin/alerts.html", page=current_page(), rows=rows,
                           **_form_context(form), **context), status


@bp.get("/alerts")
@login_required
def alerts() -> ResponseReturnValue:
    return _list_page()


def _create_refused(exc: DomainError, **_args: Any) -> ResponseReturnValue:
    return _list_page(exc.status_code, **refusal(exc))


@bp.post("/alerts")
@admin_required
@domain_form(_create_refused)
def create_alert() -> ResponseReturnValue:
    session = db_session()
    route = alert_routes.create_route(session, _actor(), **_form_values(new=True), policy=_policy(), now=utcnow())
    session.commit()
    flash(f"Alert route {route.name} added.")
    if route.secret:
        return _list_page(201, new_secret=route.secret, secret_route=route)
    return redirect(url_for("admin_alerts.alerts"))


# --- one route: change, delete, test --------------------------------------------------------------------


def _route_page(route: AlertChannel, status: int = 200, **context: Any) -> ResponseReturnValue:
    form = context.pop("form", {"name": route.name, "kind": route.kind.value, "events": route.events})
    return render_template("admin/alert.html", page=current_page(), route=route, masked=masked_target(route),
                           **_form_context(form), **context), status


@bp.get("/alerts/<code>")
@admin_required
def alert(code: str) -> ResponseReturnValue:
    return _route_page(_route_or_404(code))


def _update_refused(exc: DomainError, code: str) -> ResponseReturnValue:
    return _route_page(_route_or_404(code), exc.status_code, **refusal(exc))


@bp.post("/alerts/<code>")
@admin_required
@domain_form(_update_refused)
def update_alert(code: str) -> ResponseReturnValue:
    session = db_session()
    route = _route_or_404(code)
    secret_before = route.secret
    alert_routes.update_route(session, _actor(), route, **_form_values(new=False), policy=_policy(), now=utcnow())
    session.commit()
    flash(f"Alert route {route.name} saved.")
    if route.secret and route.secret != secret_before:
        return _route_page(route, new_secret=route.secret, secret_route=route)
    return redirect(url_for("admin_alerts.alerts"))


@bp.route("/alerts/<code>/delete", methods=["GET", "POST"])
@admin_required
def delete_alert(code: str) -> ResponseReturnValue:
    route = _route_or_404(code)
    return confirm_delete(
        "alert route", route.name, lambda: alert_routes.delete_route(db_session(), _actor(), route),
        done=url_for("admin_alerts.alerts"), message=f"Alert route {route.name} deleted.",
        note="Alerts still waiting for it are not sent.",
    )


@bp.post("/alerts/<code>/test")
@login_required
@domain_form(flashed("admin_alerts.alerts"))
def test_alert(code: str) -> ResponseReturnValue:
    session = db_session()
    route = _route_or_404(code)
    alert_routes.send_test(session, _actor(), route, utcnow())
    session.commit()
    flash(f"Test alert queued for {route.name}: the worker sends it within seconds, and its outcome shows here.")
    return redirect(url_for("admin_alerts.alerts"))
