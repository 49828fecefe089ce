"""Alerts to responders: an outbox event per thing they must hear, written in the change's own transaction.

Protocol:
1. A domain change calls `alert()` in its transaction. Nothing is written when no alert route
   listens to that event (most installs have none), so the cost of the hook is one small query.
2. The event is an OutboxEvent of kind `alert` whose payload carries the words (title, text),
   the admin link responders act on, and the codes of what it concerns (incident, draft,
   component); channels render the shapes from the codes when they send, as subscriber
   webhooks do. `dedup_key` and `action` are PagerDuty's: a trigger and its resolve share a key.
3. The worker expands it to one delivery per listening route (outbox.queue.expand) and sends it
   through the same channels, leases and retries as subscriber messages: a slow or failing
   receiver never blocks probes or the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.db import utcnow
from statuspage.models import (
    ActionItem,
    AlertChannel,
    AlertEvent,
    Component,
    ComponentStatus,
    EventKind,
    Incident,
    IncidentDraft,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
    OutboxEvent,
    StatusChange,
)
from statuspage.outbox import queue
from statuspage.page.record import local_time

# PagerDuty severities, by how urgent the event is.
SEVERITY = {
    AlertEvent.DRAFT_PROPOSED: "critical", AlertEvent.INCIDENT_OPENED: "critical",
    AlertEvent.INCIDENT_UPDATED: "error", AlertEvent.INCIDENT_RESOLVED: "info",
    AlertEvent.COMPONENT_CHANGED: "error", AlertEvent.DELIVERY_FAILED: "warning",
    AlertEvent.ACTION_ITEM_OVERDUE: "warning",
}


# The same urgency as the public page's impact, whose colour chat messages and email headers show.
SEVERITY_IMPACT = {"critical": "critical", "error": "major", "warning": "minor", "info": "none"}


def listening(session: Session, event: AlertEvent, covered_by: AlertEvent | None = None) -> list[AlertChannel]:
    """The routes that listen to `event` (and not to `covered_by`, which tells them the same)."""
    return [route for route in session.scalars(select(AlertChannel).order_by(AlertChannel.id))
            if route.hears(event, covered_by)]


def alert(
    session: Session,
    event: AlertEvent,
    *,
    title: str,
    text: str,
    link: str,
    dedup_key: str,
    action: str = "trigger",
    message: str | None = None,
    incident: str | None = None,
    draft: str | None = None,
    component: str | None = None,
    component_ids: Sequence[int] = (),
    details: dict[str, Any] | None = None,
    covered_by: AlertEvent | None = None,
    now: datetime | None = None,
) -> OutboxEvent | None:
    """Queue an alert for the routes listening to `event` (None when none listens).

    `link` is the admin path responders act on ("/admin/drafts/<code>"); `message` names
    what happened when it differs from the event a route chose (a draft that recovered is
    told to the routes of draft_proposed as `draft_recovered`).
    """
    if not listening(session, event, covered_by):
        return None
    payload = {
        "event": event.value, "message": message or event.value, "title": title, "text": text, "link": link,
        "incident": incident, "draft": draft, "component": component, "dedup_key": dedup_key,
        "action": action, "severity": "info" if action == "resolve" else SEVERITY[event],
        "details": details or {}, "at": (now or utcnow()).isoformat(),
        "covered_by": covered_by.value if covered_by else None,
    }
    return queue.enqueue(session, EventKind.ALERT, payload, component_ids, now=now)


def incident_key(code: str) -> str:
    """PagerDuty's dedup key of an incident; one published from a draft keeps the draft's when sent
    (notify.channels.alert_payloads.dedup_key), so PagerDuty sees one alert from draft to resolution."""
    return f"statuspage-incident-{code}"


def draft_key(code: str) -> str:
    """The dedup key of a draft: kept by the incident it becomes, so PagerDuty sees one alert."""
    return f"statuspage-draft-{code}"


def component_key(code: str) -> str:
    return f"statuspage-component-{code}"


# --- what each change tells responders ---------------------------------------------------------------


def _words(status: object) -> str:
    return str(status).replace("_", " ")


def draft_proposed(session: Session, draft: IncidentDraft, component: Component, now: datetime) -> None:
    """Probes took a component into an outage and drafted an incident that waits for a responder."""
    if not listening(session, AlertEvent.DRAFT_PROPOSED):
        return
    since = local_time(session, draft.started_at)
    waits = (f" It is published for customers at {local_time(session, draft.publish_at):%H:%M %Z} unless the "
             "checks pass again first." if draft.publish_at else " Customers see nothing until it is published.")
    alert(session, AlertEvent.DRAFT_PROPOSED, title=f"{component.name} is down: review the draft incident",
          text=(f"{component.name} is {_words(draft.status)}: checks have failed since {since:%H:%M %Z}. "
                f"Probes drafted \u201c{draft.name}\u201d.{waits}"),
          link=f"/admin/drafts/{draft.code}", dedup_key=draft_key(draft.code), draft=draft.code,
          component=component.code, component_ids=[component.id], now=now)


def draft_closed(session: Session, draft: IncidentDraft, component: Component, how: str, now: datetime) -> None:
    """A draft that was never published is over (`recovered` or `dismissed`): resolve its alert."""
    if not listening(session, AlertEvent.DRAFT_PROPOSED):
        return
    text = (f"Checks on {component.name} pass again; the draft \u201c{draft.name}\u201d was set aside unpublished."
            if how == "recovered" else f"The draft \u201c{draft.name}\u201d was dismissed.")
    alert(session, AlertEvent.DRAFT_PROPOSED, message=f"draft_{how}", action="resolve",
          title=f"{component.name}: draft {how}", text=text, link=f"/admin/drafts/{draft.code}",
          dedup_key=draft_key(draft.code), draft=draft.code, component=component.code,
          component_ids=[component.id], now=now)


def incident_changed(session: Session, incident: Incident, update: IncidentUpdate, first: bool) -> None:
    """An incident was opened, updated or resolved (maintenance is planned, and not alerted)."""
    if incident.kind != IncidentKind.INCIDENT:
        return
    resolved = update.status == IncidentStatus.RESOLVED
    event = (AlertEvent.INCIDENT_OPENED if first else
             AlertEvent.INCIDENT_RESOLVED if resolved else AlertEvent.INCIDENT_UPDATED)
    if not listening(session, event):
        return
    verb = "opened" if first else "resolved" if resolved else f"is {_words(update.status)}"
    affected = ", ".join(c.name for c in incident.components)
    alert(session, event, title=f"Incident {verb}: {incident.name}",
          text=f"{update.body}\n\nImpact: {incident.impact.value}." + (f" Affects: {affected}." if affected else ""),
          link=f"/admin/incidents/{incident.code}", dedup_key=incident_key(incident.code),
          action="resolve" if resolved else "trigger", incident=incident.code,
          component_ids=[c.id for c in incident.components], now=update.created_at)


def component_changed(session: Session, change: StatusChange, covered_by: AlertEvent | None = None) -> None:
    """A component moved outside an incident's updates (probes, a responder, the API): those are told by
    the incident's own alerts. `covered_by`: the event that already told responders of this move (a draft
    proposed for the outage), whose routes are not told twice."""
    if change.incident_id is not None or not listening(session, AlertEvent.COMPONENT_CHANGED, covered_by):
        return
    component = change.component
    before = _words(change.from_status or "unknown")
    back = change.to_status == ComponentStatus.OPERATIONAL
    alert(session, AlertEvent.COMPONENT_CHANGED, title=f"{component.name}: {_words(change.to_status)}",
          text=f"{component.name} went from {before} to {_words(change.to_status)} ({change.cause}).",
          link=f"/admin/components/{component.code}", dedup_key=component_key(component.code),
          action="resolve" if back else "trigger", component=component.code, component_ids=[component.id],
          details={"old_status": str(change.from_status or ""), "new_status": str(change.to_status)},
          covered_by=covered_by, now=change.at)


# At most one delivery_failed alert this often: a mail server down fails thousands of messages at once.
FAILED_ALERT_EVERY = timedelta(minutes=10)


def deliveries_failed(session: Session, count: int, last_error: str, now: datetime) -> None:
    """Subscriber messages failed for good (every attempt made, or refused): tell responders, once per
    FAILED_ALERT_EVERY; the admin's deliveries list holds each one and its retry button."""
    if not listening(session, AlertEvent.DELIVERY_FAILED):
        return
    recent = session.scalars(
        select(OutboxEvent.payload).where(OutboxEvent.kind == EventKind.ALERT,
                                          OutboxEvent.created_at > now - FAILED_ALERT_EVERY)
    ).all()
    if any(payload.get("event") == AlertEvent.DELIVERY_FAILED.value for payload in recent):
        return
    noun = "message" if count == 1 else "messages"
    alert(session, AlertEvent.DELIVERY_FAILED, title=f"{count} subscriber {noun} could not be delivered",
          text=(f"{count} {noun} to subscribers failed for good (last error: {last_error[:300]}). "
                "Retry them from the deliveries list once the cause is fixed; further failures in the next "
                f"{int(FAILED_ALERT_EVERY.total_seconds() // 60)} minutes are not alerted again."),
          link="/admin/deliveries", dedup_key=f"statuspage-deliveries-{now:%Y%m%d%H%M}",
          details={"failed": count, "last_error": last_error[:500]}, now=now)


def action_item_overdue(session: Session, item: ActionItem, incident: Incident, now: datetime) -> None:
    """An action item of a postmortem passed its due date without being done."""
    if not listening(session, AlertEvent.ACTION_ITEM_OVERDUE):
        return
    owner = f" (owner: {item.owner})" if item.owner else ""
    alert(session, AlertEvent.ACTION_ITEM_OVERDUE, title=f"Action item overdue: {item.title}",
          text=f"\u201c{item.title}\u201d{owner}, from the incident \u201c{incident.name}\u201d, was due "
               f"{item.due_date:%b %d, %Y} and is not done.",
          link="/admin/action-items", dedup_key=f"statuspage-action-item-{item.code}", incident=incident.code,
          details={"action_item": item.code, "due_date": item.due_date.isoformat() if item.due_date else None},
          now=now)
