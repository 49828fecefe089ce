"""The worker's notification steps: expand events into deliveries, send deliveries in batches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from statuspage.components.catalog import component_tree
from statuspage.components.status_rules import page_indicator
from statuspage.config import Settings
from statuspage.db import Database
from statuspage.errors import NotFound
from statuspage.incidents import lookups
from statuspage.models import Delivery, EventKind, Page, SubscriberMode
from statuspage.notify import emails, subscribers, tokens, webhooks
from statuspage.notify.transports import MailTransport, TransportError, make_transport
from statuspage.outbound import guard, http
from statuspage.outbox import queue
from statuspage.page.record import get_page
from statuspage.shapes import incident_json

log = logging.getLogger("statuspage.notify")


@dataclass
class Outcome:
    delivery_id: int
    error: str | None = None
    permanent: bool = False
    message_id: str | None = None
    # The row's lease was taken over by another worker: it is theirs to send and record.
    lost: bool = False


def _describe(exc: BaseException) -> str:
    """An unexpected error as a delivery's last_error."""
    return f"{type(exc).__name__}: {exc}"[:500]


class LeaseKeeper:
    """Keeps a batch's lease alive while it is sent, so no other worker takes over rows still in flight.

    A batch of 100 over 4 connections with a 30 s SMTP timeout can outlast a 60 s lease.
    Protocol:
    1. The claim set `lease_until = claimed_at + lease` on every row of the batch.
    2. Every third of the lease (in real time), one compare-and-set UPDATE moves the batch's rows
       from the value we hold to `clock() + lease`; a row no longer holding our value was taken
       over after our lease ran out, and is left to its new owner. Rows already handed to the
       server are renewed too: until their outcome is written they look due to everyone else.
    3. Senders ask `owns(id)` before each message and skip the rows taken over.
    4. The keeper stops when the batch is sent; the outcomes are written at once, well within
       the two thirds of the lease left.
    """

    def __init__(self, database: Database, clock: Callable[[], datetime], lease: timedelta,
                 ids: list[int], held_until: datetime) -> None:
        self.database = database
        self.clock = clock
        self.lease = lease
        self.held_until = held_until
        self.ids = list(ids)
        self.lost: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def owns(self, delivery_id: int) -> bool:
        with self._lock:
            return delivery_id not in self.lost

    def _run(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:  # a failed renewal only risks a repeat; the next one may work
                log.exception("renewing the lease of a batch failed")

    def renew(self) -> None:
        """Extend the lease of the batch's rows still ours (compare-and-set on the value we hold)."""
        with self._lock:
            ids = sorted(set(self.ids) - self.lost)
        until = self.clock() + self.lease
        if not ids or until <= self.held_until:
            return
        with self.database.transaction() as session:
            kept = set(session.scalars(
                update(Delivery)
                .where(Delivery.id.in_(ids), Delivery.lease_until == self.held_until, Delivery.sent_at.is_(None))
                .values(lease_until=until)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            ))
        with self._lock:
            self.held_until = until
            self.lost |= set(ids) - kept
        if len(kept) < len(ids):
            log.warning("%d deliveries were taken over by another worker", len(ids) - len(kept))


class Notifier:
    """Expands the outbox and sends what is due; each method is one worker step."""

    def __init__(self, database: Database, settings: Settings, clock: Callable[[], datetime],
                 transport: MailTransport | None = None, batch_size: int | None = None,
                 post: Callable[[str, bytes, dict[str, str]], None] | None = None) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self._fixed_transport = transport is not None
        self.transport = transport or make_transport(settings)
        self.batch_size = batch_size or settings.delivery_batch_size
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.component_update_hold = timedelta(seconds=settings.component_update_hold_seconds)
        self._post = post

    def handle_one_event_expansion(self) -> bool:
        """Turn one outbox event into one delivery per recipient."""
        now = self.clock()
        with self.database.transaction() as session:
            event = queue.claim_event(session, now, self.component_update_hold)
            if event is None:
                return False
            created = queue.expand(session, event, now, subscribers.recipients)
            log.info("event %s (%s) expanded into %d deliveries", event.id, event.kind, created)
            return True

    def handle_one_delivery_batch(self) -> bool:
        """Send one batch of due deliveries over one connection; mark each only after its outcome."""
        now = self.clock()
        with self.database.transaction() as session:
            ids = queue.claim_deliveries(session, now, self.batch_size, self.lease)
        if not ids:
            return False
        with LeaseKeeper(self.database, self.clock, self.lease, ids, now + self.lease) as keeper:
            outcomes = self._send(ids, now, keeper)
        with self.database.transaction() as session:
            deliveries = {d.id: d for d in session.scalars(
                select(Delivery).where(Delivery.id.in_(ids)).options(selectinload(Delivery.subscriber)))}
            for outcome in outcomes:
                delivery = deliveries.get(outcome.delivery_id)
                # Only rows still ours: not taken over, not parked meanwhile (subscriber removed).
                if delivery is None or outcome.lost or delivery.lease_until != keeper.held_until:
                    continue
                if outcome.error is None:
                    queue.record_sent(session, delivery, self.clock(), outcome.message_id)
                else:
                    queue.record_failure(session, delivery, self.clock(), outcome.error, outcome.permanent)
        return True

    # --- sending -----------------------------------------------------------------------------------

    def _context(self, page: Page | None) -> emails.MailContext:
        return emails.MailContext(
            base_url=self.settings.base_url, page_name=page.name if page else self.settings.page_name,
            mail_from=(page.notifications_from_email if page and page.notifications_from_email
                       else self.settings.mail_from),
            secret_key=self.settings.secret_key, time_zone=page.time_zone if page else self.settings.timezone,
            footer=page.notifications_email_footer if page else None,
        )

    def _send(self, ids: list[int], now: datetime, keeper: LeaseKeeper) -> list[Outcome]:
        """Every claimed row gets an outcome: one bad message fails alone, never the batch.

        An exception escaping here would record nothing, and the batch would be sent again
        after each lease, to everyone, for ever.
        """
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
            outcomes = self._send_mail(ctx, mail, now, keeper) if mail else []
            for delivery in hooks:
                if not keeper.owns(delivery.id):
                    outcomes.append(Outcome(delivery.id, lost=True))
                    continue
                try:
                    outcomes.append(self._send_webhook(session, ctx, page, delivery))
                except Exception as exc:
                    log.exception("delivery %s: building or posting the webhook failed", delivery.id)
                    outcomes.append(Outcome(delivery.id, _describe(exc), permanent=True))
            return outcomes
        finally:
            session.close()

    def _build_all(self, ctx: emails.MailContext, deliveries: list[Delivery], now: datetime
                   ) -> tuple[list[tuple[int, emails.OutgoingMail]], list[Outcome]]:
        """The message of each delivery; a row that cannot be built (say, an address that needs
        SMTPUTF8, saved before sign-up refused those) fails alone, permanently, with the reason."""
        rendered: dict[tuple[int, bool], emails.RenderedEvent | Exception] = {}
        mails: list[tuple[int, emails.OutgoingMail]] = []
        failed: list[Outcome] = []
        for delivery in deliveries:
            personal = delivery.subscriber is not None
            if not personal and delivery.event.kind != EventKind.OWNER_NOTICE:
                failed.append(Outcome(delivery.id, "subscriber removed", permanent=True))
                continue
            key = (delivery.event_id, personal)
            if key not in rendered:
                try:
                    rendered[key] = emails.render_event(ctx, delivery.event, personal)
                except Exception as exc:
                    log.exception("event %s: rendering its email failed", delivery.event_id)
                    rendered[key] = exc
            try:
                done = rendered[key]
                if isinstance(done, Exception):
                    raise done
                mails.append((delivery.id, emails.build(ctx, delivery.event, delivery, now, done)))
            except Exception as exc:
                failed.append(Outcome(delivery.id, _describe(exc), permanent=True))
        return mails, failed

    def _send_mail(self, ctx: emails.MailContext, deliveries: list[Delivery], now: datetime,
                   keeper: LeaseKeeper) -> list[Outcome]:
        """Send over `smtp_connections` connections at once, each reused for its share of the batch.

        While one connection waits for the server's reply, another builds and sends, so a fan-out
        is not paced by round trips. Each share keeps its own transport (a connection is not shared).
        """
        mails, outcomes = self._build_all(ctx, deliveries, now)
        if not mails:
            return outcomes
        lanes = 1 if self._fixed_transport else max(1, min(self.settings.smtp_connections, len(mails)))
        if lanes == 1:
            return outcomes + self._send_over(self.transport, mails, keeper)
        shares = [mails[lane::lanes] for lane in range(lanes)]
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="smtp") as pool:
            results = pool.map(lambda share: self._send_over(make_transport(self.settings), share, keeper), shares)
            return outcomes + [outcome for share in results for outcome in share]

    @staticmethod
    def _send_over(transport: MailTransport, mails: list[tuple[int, emails.OutgoingMail]],
                   keeper: LeaseKeeper) -> list[Outcome]:
        """Send mails over one transport (one connection), recording each outcome; never raises."""
        try:
            transport.open()
        except Exception as exc:
            error = exc.message if isinstance(exc, TransportError) else _describe(exc)
            return [Outcome(delivery_id, error, False) for delivery_id, _mail in mails]
        outcomes = []
        try:
            for delivery_id, mail in mails:
                if not keeper.owns(delivery_id):
                    outcomes.append(Outcome(delivery_id, lost=True))
                    continue
                try:
                    transport.send(mail)
                except TransportError as exc:
                    outcomes.append(Outcome(delivery_id, exc.message, exc.permanent))
                except Exception as exc:
                    log.exception("delivery %s: sending failed unexpectedly", delivery_id)
                    outcomes.append(Outcome(delivery_id, _describe(exc), permanent=True))
                    # The connection may be mid-transaction; the next message opens a fresh one.
                    transport.close()
                else:
                    outcomes.append(Outcome(delivery_id, message_id=mail.message_id))
        finally:
            transport.close()
        return outcomes

    def _send_webhook(self, session: Session, ctx: emails.MailContext, page: Page | None,
                      delivery: Delivery) -> Outcome:
        subscriber = delivery.subscriber
        if subscriber is None or not subscriber.webhook_secret:
            return Outcome(delivery.id, "subscriber removed", permanent=True)
        if subscriber.quarantined_at is not None:
            return Outcome(delivery.id, "webhook disabled after repeated failures", permanent=True)
        event = delivery.event
        incident = None
        if event.payload.get("incident"):
            if page is None:  # incidents exist only once the page is set up; _send records this as a failure
                raise ValueError("the page is not set up")
            try:
                incident = incident_json(lookups.get_incident(session, event.payload["incident"]), page,
                                         self.settings.base_url)
            except NotFound:
                incident = None
        component = None
        if event.kind == EventKind.COMPONENT_UPDATE:
            component = webhooks.component_update(event.payload, page.time_zone if page else self.settings.timezone)
        tree = component_tree(session)
        indicator, description = page_indicator([c.status for item in tree for c in item.components],
                                                lookups.page_impacts(session))
        unsubscribe = tokens.make(ctx.secret_key, "unsubscribe", subscriber.code, subscriber.token_nonce)
        body = webhooks.payload(
            event.kind, event.payload,
            {"id": page.code if page else "", "status_indicator": indicator, "status_description": description},
            incident, f"{ctx.base_url}/subscribers/unsubscribe/{unsubscribe}", component)
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
            response = http.http_request("POST", url, policy=guard.Policy.for_subscribers(self.settings),
                                          timeout=10.0, headers=headers, data=body, max_redirects=0)
        except guard.OutboundError as exc:
            raise TransportError(exc.message, permanent=exc.permanent) from exc
        if not 200 <= response.status < 300:
            raise TransportError(f"HTTP {response.status}", permanent=response.status in (404, 410))
