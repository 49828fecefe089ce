"""What alert routes receive over HTTP: the signed alert webhook's JSON and PagerDuty's Events API v2 body.

Both are rendered from the alert event when it is sent; the incident, draft and component an
alert names are read then, in the same Statuspage shapes the API answers with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from statuspage.errors import NotFound
from statuspage.incidents import lookups
from statuspage.models import Component, Incident, IncidentDraft, OutboxEvent
from statuspage.notify.channels.base import Batch
from statuspage.notify.channels.notice import clip
from statuspage.outbox.alerts import draft_key
from statuspage.shapes import component_json, incident_json
from statuspage.timefmt import iso

# PagerDuty's limits: a summary of at most 1024 characters.
SUMMARY_MAX = 1024


def _incident(batch: Batch, code: str | None) -> Mapping[str, Any] | None:
    if not code or batch.page is None:
        return None
    try:
        return incident_json(lookups.get_incident(batch.session, code), batch.page, batch.settings.base_url)
    except NotFound:
        return None


def _component(batch: Batch, code: str | None) -> Mapping[str, Any] | None:
    component = batch.session.scalars(select(Component).where(Component.code == code)).first() if code else None
    return component_json(component, batch.page) if component is not None and batch.page is not None else None


def _draft(batch: Batch, code: str | None) -> dict[str, Any] | None:
    draft = batch.session.scalars(select(IncidentDraft).where(IncidentDraft.code == code)).first() if code else None
    if draft is None:
        return None
    return {"id": draft.code, "name": draft.name, "body": draft.body, "state": draft.state.value,
            "status": draft.status.value, "started_at": iso(draft.started_at),
            "publish_at": iso(draft.publish_at) if draft.publish_at else None,
            "component_id": draft.component.code, "url": f"{batch.settings.base_url}/admin/drafts/{draft.code}"}


def dedup_key(batch: Batch, payload: Mapping[str, Any]) -> str:
    """The alert's PagerDuty key: an incident published from a draft keeps the draft's (read when sent, since
    the draft learns its incident after the incident's first alert is queued)."""
    key = str(payload.get("dedup_key") or "")
    if payload.get("incident") and not payload.get("draft"):
        draft = batch.session.scalars(
            select(IncidentDraft.code).join(Incident, Incident.id == IncidentDraft.incident_id)
            .where(Incident.code == payload["incident"]).limit(1)).first()
        if draft:
            return draft_key(draft)
    return key


def alert_json(batch: Batch, event: OutboxEvent, page_status: Mapping[str, Any]) -> dict[str, Any]:
    """The alert webhook's body: `event`, `page`, the alert in words, and the objects it concerns."""
    payload = event.payload
    body: dict[str, Any] = {
        "meta": {"generated_at": iso(batch.now), "event_id": event.id},
        "event": payload.get("message") or payload.get("event"),
        "page": dict(page_status),
        "alert": {"title": payload.get("title"), "text": payload.get("text"),
                  "url": f"{batch.settings.base_url}{payload.get('link') or '/admin/'}",
                  "severity": payload.get("severity"), "action": payload.get("action"),
                  "dedup_key": dedup_key(batch, payload), "details": payload.get("details") or {}},
    }
    for key, value in (("incident", _incident(batch, payload.get("incident"))),
                       ("draft", _draft(batch, payload.get("draft"))),
                       ("component", _component(batch, payload.get("component")))):
        if value is not None:
            body[key] = value
    return body


def pagerduty_json(batch: Batch, event: OutboxEvent, routing_key: str) -> dict[str, Any]:
    """An Events API v2 event: `trigger` (or `resolve`) with the alert's dedup key, so a draft, the
    incident it becomes and its resolution are one PagerDuty alert."""
    payload = event.payload
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": payload.get("action") or "trigger",
                            "dedup_key": dedup_key(batch, payload)}
    if body["event_action"] == "resolve":
        return body
    source = batch.settings.base_url.split("://", 1)[-1].split("/", 1)[0] or "statuspage"
    fields = {
        "summary": clip(str(payload.get("title") or "Status page alert"), SUMMARY_MAX),
        "source": source, "severity": payload.get("severity") or "error",
        "timestamp": payload.get("at"), "component": payload.get("component"),
        "class": payload.get("message") or payload.get("event"),
        "custom_details": {"text": payload.get("text"), **(payload.get("details") or {})},
    }
    body["payload"] = {key: value for key, value in fields.items() if value is not None}
    body["links"] = [{"href": f"{batch.settings.base_url}{payload.get('link') or '/admin/'}",
                      "text": "Open in the status page admin"}]
    body["client"] = batch.mail.status_name
    body["client_url"] = f"{batch.settings.base_url}/admin/"
    return body
