"""The signed Statuspage webhook: Statuspage-like JSON, HMAC-SHA256 over timestamp and body (notify.webhooks)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from statuspage.components.catalog import component_tree
from statuspage.components.status_rules import page_indicator
from statuspage.errors import NotFound
from statuspage.incidents import lookups
from statuspage.models import Delivery, EventKind, SubscriberMode
from statuspage.notify import tokens, webhooks
from statuspage.notify.channels.addresses import clean_url
from statuspage.notify.channels.alert_payloads import alert_json
from statuspage.notify.channels.base import Batch
from statuspage.notify.channels.hooks import HookChannel, Request
from statuspage.notify.transports import TransportError
from statuspage.outbound import guard
from statuspage.shapes import incident_json


class WebhookChannel(HookChannel):
    """Statuspage's webhook: every incident, maintenance and component update, signed with the hook's secret."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.WEBHOOK
    label: ClassVar[str] = "Webhook"
    quarantines: ClassVar[bool] = True

    @classmethod
    def clean_address(cls, value: object, field: str, policy: guard.Policy) -> str:
        return clean_url(value, field, policy)

    def render(self, batch: Batch, delivery: Delivery) -> Request:
        if delivery.alert_channel is not None:
            return _alert_request(batch, delivery, delivery.alert_channel.secret or "")
        subscriber = delivery.subscriber
        if subscriber is None or not subscriber.webhook_secret:
            raise TransportError("subscriber removed", permanent=True)
        if subscriber.quarantined_at is not None:
            raise TransportError("webhook disabled after repeated failures", permanent=True)
        event = delivery.event
        unsubscribe = tokens.make(batch.mail.secret_key, "unsubscribe", subscriber.code, subscriber.token_nonce)
        body = webhooks.payload(event.kind, event.payload, batch.once("page-status", lambda: _page(batch)),
                                batch.once(("incident", event.id), lambda: _incident(batch, event.payload)),
                                f"{batch.mail.base_url}/subscribers/unsubscribe/{unsubscribe}",
                                _component(batch, event.kind, event.payload))
        timestamp = int(time.time())
        return Request(delivery.address, body, {
            "Content-Type": "application/json",
            webhooks.SIGNATURE_HEADER: webhooks.sign(subscriber.webhook_secret, timestamp, body),
            "User-Agent": "statuspage-webhooks",
        })


def _alert_request(batch: Batch, delivery: Delivery, secret: str) -> Request:
    """An alert to a responders' webhook: alert_payloads.alert_json, signed with the route's secret."""
    page = batch.once("page-status", lambda: _page(batch))
    body = json.dumps(alert_json(batch, delivery.event, page), separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    return Request(delivery.address, body, {
        "Content-Type": "application/json", webhooks.SIGNATURE_HEADER: webhooks.sign(secret, timestamp, body),
        "User-Agent": "statuspage-alerts"})


def _page(batch: Batch) -> dict[str, Any]:
    """The page's `id`, `status_indicator` and `status_description` now, as Statuspage's webhooks carry them."""
    tree = component_tree(batch.session)
    indicator, description = page_indicator([c.status for item in tree for c in item.components],
                                            lookups.page_impacts(batch.session))
    return {"id": batch.page.code if batch.page else "", "status_indicator": indicator,
            "status_description": description}


def _incident(batch: Batch, payload: dict[str, Any]) -> Mapping[str, Any] | None:
    """The incident an event is about, in Statuspage's shape as it is now (None once deleted)."""
    if not payload.get("incident"):
        return None
    if batch.page is None:  # incidents exist only once the page is set up; recorded as a failure
        raise ValueError("the page is not set up")
    try:
        return incident_json(lookups.get_incident(batch.session, payload["incident"]), batch.page,
                             batch.settings.base_url)
    except NotFound:
        return None


def _component(batch: Batch, kind: EventKind, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if kind != EventKind.COMPONENT_UPDATE:
        return None
    return webhooks.component_update(payload, batch.page.time_zone if batch.page else batch.settings.timezone)
