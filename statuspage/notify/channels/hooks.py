"""Channels that POST one request per message (webhooks, chat services, an SMS API): the shared send loop.

Protocol of `HookChannel.deliver`:
1. Render every delivery in this thread (rendering may read the database; the batch's session
   must not cross threads). A delivery that cannot be rendered fails alone, permanently.
2. Group the requests by `bucket` (the URL, or the SMS account) and send each group in order on
   one of a few threads, so a slow receiver does not pace the others.
3. A 429 pauses its bucket: that message and the rest of its bucket are tried again at the time
   the service asked for, without counting an attempt; a rate limit never loses a message.
4. Every request goes through the outbound choke point with the subscriber policy, no redirects
   followed, the probes' timeout and size cap.
"""

from __future__ import annotations

import email.utils
import json
import logging
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from statuspage.config import Settings
from statuspage.models import Delivery
from statuspage.notify.channels.base import Batch, Channel, Outcome, describe, missing_recipient
from statuspage.notify.transports import TransportError
from statuspage.outbound import guard, http

log = logging.getLogger("statuspage.notify")
TIMEOUT = 10.0
LANES = 8
# When a service answers 429 without saying how long to wait; and the longest wait we honour.
DEFAULT_RETRY_AFTER = timedelta(seconds=30)
MAX_RETRY_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Request:
    """One POST, ready to send."""

    url: str
    body: bytes
    headers: dict[str, str]
    # The address guard's policy; None: the subscriber policy. Alert routes, chosen by responders,
    # follow the probes' (private and loopback allowed, metadata refused).
    policy: guard.Policy | None = None


def json_request(url: str, body: object, user_agent: str = "statuspage-notifications") -> Request:
    """A compact JSON POST."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Request(url, data, {"Content-Type": "application/json", "User-Agent": user_agent})


def retry_after(header: str | None, now: datetime | None = None) -> timedelta | None:
    """An HTTP Retry-After (seconds or an HTTP date) as a wait; None when absent or unreadable."""
    if header is None or not header.strip():
        return None
    value = header.strip()
    try:
        return _bounded(timedelta(seconds=float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _bounded(when - (now or datetime.now(UTC)))


def _bounded(wait: timedelta) -> timedelta:
    return min(max(wait, timedelta(0)), MAX_RETRY_AFTER)


def post(settings: Settings, request: Request) -> http.HttpResponse:
    """POST through the outbound choke point; the guard's refusals become permanent failures."""
    try:
        return http.http_request("POST", request.url,
                                 policy=request.policy or guard.Policy.for_subscribers(settings),
                                 timeout=TIMEOUT, headers=request.headers, data=request.body, max_redirects=0)
    except guard.OutboundError as exc:
        raise TransportError(exc.message, permanent=exc.permanent) from exc


class HookChannel(Channel):
    """A channel that sends each message as one HTTP POST."""

    # Whether an answer of 404 or 410 means the address is gone for good (and the subscriber removed).
    removes_gone: ClassVar[bool] = False

    @abstractmethod
    def render(self, batch: Batch, delivery: Delivery) -> Request:
        """The request that carries this delivery (raises for a delivery that cannot be sent)."""

    def bucket(self, delivery: Delivery) -> str:
        """Deliveries sharing a rate limit: sent in order, paused together by a 429."""
        return delivery.address

    def answer(self, response: http.HttpResponse) -> None:
        """Raise TransportError unless the response means the message was taken: 2xx is success,
        429 waits as the service asked (`wait_asked`), anything else is judged by `failure`."""
        if 200 <= response.status < 300:
            return
        if response.status == 429:
            raise TransportError(f"{self.label} answered 429 (rate limited)", retry_after=self.wait_asked(response))
        raise self.failure(response)

    def wait_asked(self, response: http.HttpResponse) -> timedelta:
        """How long a 429 asks us to wait: its Retry-After, or DEFAULT_RETRY_AFTER."""
        return retry_after(response.headers.get("Retry-After")) or DEFAULT_RETRY_AFTER

    def failure(self, response: http.HttpResponse) -> TransportError:
        """What any other answer means: 404 and 410 are permanent (the address is gone, for chat
        webhooks); a redirect and anything else are temporary and retried with backoff."""
        if response.status in (404, 410):
            return TransportError(f"HTTP {response.status}", permanent=True, gone=self.removes_gone)
        return TransportError(f"HTTP {response.status}")

    def send(self, settings: Settings, request: Request) -> None:
        """Send one request and judge its answer; raises TransportError."""
        self.answer(post(settings, request))

    def deliver(self, batch: Batch, deliveries: list[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        buckets: dict[str, list[tuple[int, Request]]] = {}
        for delivery in deliveries:
            missing = missing_recipient(delivery)
            if missing:
                outcomes.append(Outcome(delivery.id, missing, permanent=True))
                continue
            try:
                request = self.render(batch, delivery)
            except TransportError as exc:
                outcomes.append(Outcome(delivery.id, exc.message, exc.permanent))
                continue
            except Exception as exc:
                log.exception("delivery %s: rendering the %s message failed", delivery.id, self.label)
                outcomes.append(Outcome(delivery.id, describe(exc), permanent=True))
                continue
            if delivery.alert_channel_id is not None:
                request = replace(request, policy=guard.Policy.from_settings(batch.settings))
            buckets.setdefault(self.bucket(delivery), []).append((delivery.id, request))
        groups = list(buckets.values())
        if len(groups) <= 1:
            return outcomes + [o for group in groups for o in self._send_bucket(batch, group)]
        with ThreadPoolExecutor(max_workers=min(LANES, len(groups)), thread_name_prefix="hooks") as pool:
            for sent in pool.map(lambda group: self._send_bucket(batch, group), groups):
                outcomes += sent
        return outcomes

    def _send_bucket(self, batch: Batch, requests: list[tuple[int, Request]]) -> list[Outcome]:
        """Send one bucket's requests in order; a 429 holds back the rest until the time asked for."""
        outcomes: list[Outcome] = []
        paused: Outcome | None = None
        for delivery_id, request in requests:
            if not batch.owns(delivery_id):
                outcomes.append(Outcome(delivery_id, lost=True))
            elif paused is not None:
                outcomes.append(Outcome(delivery_id, paused.error, retry_at=paused.retry_at))
            else:
                outcome = self._send_one(batch, delivery_id, request)
                paused = outcome if outcome.retry_at is not None else None
                outcomes.append(outcome)
        return outcomes

    def _send_one(self, batch: Batch, delivery_id: int, request: Request) -> Outcome:
        try:
            self.send(batch.settings, request)
        except TransportError as exc:
            return Outcome.failed(delivery_id, exc, batch.clock())
        except Exception as exc:
            log.exception("delivery %s: posting the %s message failed", delivery_id, self.label)
            return Outcome(delivery_id, describe(exc), permanent=True)
        return Outcome(delivery_id)
