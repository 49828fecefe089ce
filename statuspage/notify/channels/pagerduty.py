"""PagerDuty's Events API v2, for alert routes only: trigger an alert per incident, resolve it with the incident.

The routing key (a service's integration key, 32 letters and digits) is the route's target; the
API URL is STATUSPAGE_PAGERDUTY_EVENTS_URL (tests point it at a local receiver). PagerDuty answers
202 when it took the event, 400 for an event it will never take (permanent), 429 when throttled
(tried again after its Retry-After, or 30 s) and 5xx for its own trouble (retried with backoff).
"""

from __future__ import annotations

import re
from typing import ClassVar

from statuspage.errors import InvalidInput
from statuspage.models import Delivery, SubscriberMode
from statuspage.notify.channels.alert_payloads import pagerduty_json
from statuspage.notify.channels.base import Batch
from statuspage.notify.channels.hooks import HookChannel, Request, json_request
from statuspage.notify.transports import TransportError
from statuspage.outbound import guard
from statuspage.outbound.http import HttpResponse

ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")


def clean_routing_key(value: object, field: str = "target") -> str:
    """A PagerDuty integration key as given (32 letters and digits); InvalidInput otherwise."""
    key = value.strip() if isinstance(value, str) else ""
    if not ROUTING_KEY.fullmatch(key):
        raise InvalidInput("A PagerDuty routing key is the 32 letters and digits of an Events API v2 integration "
                           "(Service > Integrations > Integration Key).", field)
    return key


class PagerDutyChannel(HookChannel):
    """One Events API v2 event per alert."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.PAGERDUTY
    label: ClassVar[str] = "PagerDuty"
    # One account-wide limit: a 429 pauses every PagerDuty alert, not only this key's.
    shared_limit: ClassVar[bool] = True

    @classmethod
    def clean_address(cls, value: object, field: str, policy: guard.Policy) -> str:
        return clean_routing_key(value, field)

    def bucket(self, delivery: Delivery) -> str:
        return "pagerduty"

    def render(self, batch: Batch, delivery: Delivery) -> Request:
        if delivery.alert_channel is None:
            raise TransportError("PagerDuty takes alerts only", permanent=True)
        body = pagerduty_json(batch, delivery.event, delivery.address)
        return json_request(batch.settings.pagerduty_events_url, body, "statuspage-alerts")

    def failure(self, response: HttpResponse) -> TransportError:
        """400: PagerDuty will never take this event (a bad key or body); anything else is retried."""
        if response.status == 400:
            said = response.body[:200].decode("utf-8", "replace")
            return TransportError(f"PagerDuty refused the event (HTTP 400): {said}", permanent=True)
        return TransportError(f"PagerDuty answered HTTP {response.status}")
