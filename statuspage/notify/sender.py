"""The worker's notification steps: expand events into deliveries, send deliveries in batches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from statuspage.config import Settings
from statuspage.db import Database
from statuspage.models import Delivery, DeliveryStatus, Page, Subscriber, SubscriberMode
from statuspage.notify import emails, subscribers
from statuspage.notify.channels import CHANNELS, Batch, Outcome
from statuspage.notify.channels.base import describe
from statuspage.notify.transports import MailTransport
from statuspage.outbox import alerts, queue
from statuspage.page import settings
from statuspage.page.record import get_page

log = logging.getLogger("statuspage.notify")


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
                 transport: MailTransport | None = None, batch_size: int | None = None) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        # A mail transport to use instead of the configured one (tests); None: STATUSPAGE_MAIL_BACKEND's.
        self.transport = transport
        self.batch_size = batch_size or settings.delivery_batch_size
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self.component_update_hold = timedelta(seconds=settings.component_update_hold_seconds)

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
            self._record(session, outcomes, keeper.held_until)
        return True

    def _record(self, session: Session, outcomes: list[Outcome], held_until: datetime) -> None:
        """Write each outcome on its row; subscribers whose address is gone are removed last."""
        deliveries = {d.id: d for d in session.scalars(
            select(Delivery).where(Delivery.id.in_([o.delivery_id for o in outcomes]))
            .options(selectinload(Delivery.subscriber)))}
        gone: dict[int, tuple[Subscriber, str]] = {}
        failed: list[Delivery] = []
        for outcome in outcomes:
            delivery = deliveries.get(outcome.delivery_id)
            # Only rows still ours: not taken over, not parked meanwhile (subscriber removed).
            if delivery is None or outcome.lost or delivery.lease_until != held_until:
                continue
            if outcome.error is None:
                queue.record_sent(session, delivery, self.clock(), outcome.message_id)
                continue
            channel = CHANNELS[delivery.channel]
            queue.record_failure(session, delivery, self.clock(), outcome.error, outcome.permanent,
                                 retry_at=outcome.retry_at, quarantines=channel.quarantines)
            if outcome.retry_at is not None:
                queue.hold_back(session, delivery.channel, None if channel.shared_limit else delivery.address,
                                outcome.retry_at, self.clock())
            if outcome.gone and delivery.subscriber is not None:
                gone[delivery.subscriber.id] = (delivery.subscriber, outcome.error)
            if delivery.status == DeliveryStatus.FAILED and delivery.alert_channel_id is None:
                failed.append(delivery)
        for subscriber, reason in gone.values():
            subscribers.remove_gone(session, subscriber, reason)
        if failed:
            alerts.deliveries_failed(session, len(failed), failed[-1].last_error or "", self.clock())

    # --- sending -----------------------------------------------------------------------------------

    def _context(self, session: Session, page: Page | None) -> emails.MailContext:
        logo = settings.digests(session).get("logo")
        return emails.MailContext(
            base_url=self.settings.base_url, page_name=page.name if page else self.settings.page_name,
            mail_from=(page.notifications_from_email if page and page.notifications_from_email
                       else self.settings.mail_from),
            secret_key=self.settings.secret_key, time_zone=page.time_zone if page else self.settings.timezone,
            footer=page.notifications_email_footer if page else None,
            sender_name=page.sender_name if page else None,
            logo_url=f"{self.settings.base_url}/assets/logo?v={logo[:12]}" if logo else None,
            brand_color=page.brand_color if page else None,
        )

    def _send(self, ids: list[int], now: datetime, keeper: LeaseKeeper) -> list[Outcome]:
        """Every claimed row gets an outcome: one bad message fails alone, never the batch.

        Each channel sends its own share of the batch (channels.CHANNELS). An exception
        escaping here would record nothing, and the batch would be sent again after each
        lease, to everyone, for ever.
        """
        session = self.database.session()
        try:
            page = get_page(session)
            batch = Batch(session=session, page=page, settings=self.settings, mail=self._context(session, page),
                          now=now, owns=keeper.owns, clock=self.clock, transport=self.transport)
            deliveries = list(session.scalars(
                select(Delivery).where(Delivery.id.in_(ids))
                .options(selectinload(Delivery.subscriber), selectinload(Delivery.event),
                         selectinload(Delivery.alert_channel))
                .order_by(Delivery.id)))
            shares: dict[SubscriberMode, list[Delivery]] = {}
            for delivery in deliveries:
                shares.setdefault(delivery.channel, []).append(delivery)
            outcomes: list[Outcome] = []
            for mode, share in shares.items():
                outcomes += self._deliver(batch, mode, share)
            return outcomes
        finally:
            session.close()

    @staticmethod
    def _deliver(batch: Batch, mode: SubscriberMode, deliveries: list[Delivery]) -> list[Outcome]:
        """One channel's share of the batch; a channel that fails as a whole fails each of its rows."""
        try:
            return CHANNELS[mode]().deliver(batch, deliveries)
        except Exception as exc:
            log.exception("the %s channel failed a whole batch", mode.value)
            return [Outcome(d.id, describe(exc), permanent=True) for d in deliveries]
