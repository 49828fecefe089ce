"""The worker's notification steps: expand events into deliveries, send deliveries in batches."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import incidents as inc
from .. import outbound
from ..api.shapes import incident_json
from ..components import component_tree, page_indicator
from ..config import Settings
from ..db import Database
from ..errors import NotFound
from ..models import Delivery, SubscriberMode
from ..page import get_page
from . import emails, outbox, subscribers, tokens, webhooks
from .transports import MailTransport, TransportError, make_transport

log = logging.getLogger("statuspage.notify")


@dataclass
class Outcome:
    delivery_id: int
    error: str | None = None
    permanent: bool = False
    message_id: str | None = None


class Notifier:
    """Expands the outbox and sends what is due; each method is one worker step."""

    def __init__(self, database: Database, settings: Settings, clock: Callable[[], datetime],
                 transport: MailTransport | None = None, batch_size: int | None = None,
                 post: Callable | None = None) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self._fixed_transport = transport is not None
        self.transport = transport or make_transport(settings)
        self.batch_size = batch_size or settings.delivery_batch_size
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self._post = post

    def handle_one_event_expansion(self) -> bool:
        """Turn one outbox event into one delivery per recipient."""
        now = self.clock()
        with self.database.transaction() as session:
            event = outbox.claim_event(session, now)
            if event is None:
                return False
            created = outbox.expand(session, event, now, subscribers.recipients)
            log.info("event %s (%s) expanded into %d deliveries", event.id, event.kind, created)
            return True

    def handle_one_delivery_batch(self) -> bool:
        """Send one batch of due deliveries over one connection; mark each only after its outcome."""
        now = self.clock()
        with self.database.transaction() as session:
            ids = outbox.claim_deliveries(session, now, self.batch_size, self.lease)
        if not ids:
            return False
        outcomes = self._send(ids, now)
        with self.database.transaction() as session:
            deliveries = {d.id: d for d in session.scalars(
                select(Delivery).where(Delivery.id.in_(ids)).options(selectinload(Delivery.subscriber)))}
            for outcome in outcomes:
                delivery = deliveries.get(outcome.delivery_id)
                if delivery is None:  # the subscriber was removed meanwhile
                    continue
                if outcome.error is None:
                    outbox.record_sent(session, delivery, self.clock(), outcome.message_id)
                else:
                    outbox.record_failure(session, delivery, self.clock(), outcome.error, outcome.permanent)
        return True

    # --- sending -----------------------------------------------------------------------------------

    def _context(self, page) -> emails.MailContext:
        return emails.MailContext(
            base_url=self.settings.base_url, page_name=page.name if page else self.settings.page_name,
            mail_from=(page.notifications_from_email if page and page.notifications_from_email
                       else self.settings.mail_from),
            secret_key=self.settings.secret_key, time_zone=page.time_zone if page else self.settings.timezone,
            footer=page.notifications_email_footer if page else None,
        )

    def _send(self, ids: list[int], now: datetime) -> list[Outcome]:
        session = self.database.session()
        try:
            page = get_page(session)
            ctx = self._context(page)
            deliveries = list(session.scalars(
                select(Delivery).where(Delivery.id.in_(ids))
                .options(selectinload(Delivery.subscriber), selectinload(Delivery.event))
                .order_by(Delivery.id)))
            mail = [d for d in deliveries if d.channel == SubscriberMode.EMAIL]
            hooks = [d for d in deliveries if d.channel == SubscriberMode.WEBHOOK]
            outcomes = self._send_mail(ctx, mail, now) if mail else []
            outcomes += [self._send_webhook(session, ctx, page, d) for d in hooks]
            return outcomes
        finally:
            session.close()

    def _send_mail(self, ctx: emails.MailContext, deliveries: list[Delivery], now: datetime) -> list[Outcome]:
        """Send over `smtp_connections` connections at once, each reused for its share of the batch.

        While one connection waits for the server's reply, another builds and sends, so a fan-out
        is not paced by round trips. Each share keeps its own transport (a connection is not shared).
        """
        rendered: dict[tuple[int, bool], emails.RenderedEvent] = {}
        for delivery in deliveries:
            key = (delivery.event_id, delivery.subscriber is not None)
            if key not in rendered:
                rendered[key] = emails.render_event(ctx, delivery.event, key[1])
        mails = [(d.id, emails.build(ctx, d.event, d, now, rendered[(d.event_id, d.subscriber is not None)]))
                 for d in deliveries]
        lanes = 1 if self._fixed_transport else max(1, min(self.settings.smtp_connections, len(mails)))
        if lanes == 1:
            return self._send_over(self.transport, mails)
        shares = [mails[lane::lanes] for lane in range(lanes)]
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="smtp") as pool:
            results = pool.map(lambda share: self._send_over(make_transport(self.settings), share), shares)
            return [outcome for share in results for outcome in share]

    @staticmethod
    def _send_over(transport: MailTransport, mails: list[tuple[int, emails.OutgoingMail]]) -> list[Outcome]:
        """Send mails over one transport (one connection), recording each outcome."""
        try:
            transport.open()
        except TransportError as exc:
            return [Outcome(delivery_id, exc.message, False) for delivery_id, _mail in mails]
        outcomes = []
        try:
            for delivery_id, mail in mails:
                try:
                    transport.send(mail)
                except TransportError as exc:
                    outcomes.append(Outcome(delivery_id, exc.message, exc.permanent))
                else:
                    outcomes.append(Outcome(delivery_id, message_id=mail.message_id))
        finally:
            transport.close()
        return outcomes

    def _send_webhook(self, session, ctx: emails.MailContext, page, delivery: Delivery) -> Outcome:
        subscriber = delivery.subscriber
        if subscriber is None or not subscriber.webhook_secret:
            return Outcome(delivery.id, "subscriber removed", permanent=True)
        event = delivery.event
        incident = None
        if event.payload.get("incident"):
            try:
                incident = incident_json(inc.get_incident(session, event.payload["incident"]), page,
                                         self.settings.base_url)
            except NotFound:
                incident = None
        tree = component_tree(session)
        indicator, description = page_indicator([c.status for item in tree for c in item.components],
                                                inc.page_impacts(session))
        unsubscribe = tokens.make(ctx.secret_key, "unsubscribe", subscriber.code, subscriber.token_nonce)
        body = webhooks.payload(
            event.kind, event.payload,
            {"id": page.code if page else "", "status_indicator": indicator, "status_description": description},
            incident, f"{ctx.base_url}/subscribers/unsubscribe/{unsubscribe}")
        timestamp = int(time.time())
        headers = {"Content-Type": "application/json",
                   webhooks.SIGNATURE_HEADER: webhooks.sign(subscriber.webhook_secret, timestamp, body),
                   "User-Agent": "statuspage-webhooks"}
        try:
            self._post_webhook(delivery.address, body, headers)
        except TransportError as exc:
            return Outcome(delivery.id, exc.message, exc.permanent)
        return Outcome(delivery.id)

    def _post_webhook(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """POST through the outbound choke point: 2xx is success, 404/410 permanent, anything else temporary.

        Redirects are not followed (a moved hook must be subscribed again); the
        address guard's refusals are permanent.
        """
        if self._post is not None:
            self._post(url, body, headers)
            return
        try:
            response = outbound.http_request("POST", url, policy=outbound.Policy.from_settings(self.settings),
                                             timeout=10.0, headers=headers, data=body, max_redirects=0)
        except outbound.OutboundError as exc:
            raise TransportError(exc.message, permanent=exc.permanent) from exc
        if not 200 <= response.status < 300:
            raise TransportError(f"HTTP {response.status}", permanent=response.status in (404, 410))
