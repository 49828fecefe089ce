"""Email: one rendering per event shared by its recipients, sent over a few SMTP connections at once."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from statuspage.accounts.users import clean_email
from statuspage.models import Delivery, SubscriberMode
from statuspage.notify import emails
from statuspage.notify.channels.base import Batch, Channel, Outcome, describe, missing_recipient
from statuspage.notify.transports import MailTransport, TransportError, make_transport
from statuspage.outbound import guard

log = logging.getLogger("statuspage.notify")
Mails = list[tuple[int, emails.OutgoingMail]]


class EmailChannel(Channel):
    """Multipart emails through the configured mail transport (SMTP, files, console)."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.EMAIL
    label: ClassVar[str] = "Email"

    @classmethod
    def clean_address(cls, value: object, field: str, policy: guard.Policy) -> str:
        return clean_email(value, field)

    def deliver(self, batch: Batch, deliveries: list[Delivery]) -> list[Outcome]:
        """Send over `smtp_connections` connections at once, each reused for its share of the batch.

        While one connection waits for the server's reply, another builds and sends, so a fan-out
        is not paced by round trips. Each share keeps its own transport (a connection is not shared).
        """
        mails, outcomes = _build_all(batch, deliveries)
        if not mails:
            return outcomes
        fixed = batch.transport
        lanes = 1 if fixed is not None else max(1, min(batch.settings.smtp_connections, len(mails)))
        if lanes == 1:
            return outcomes + _send_over(fixed or make_transport(batch.settings), mails, batch)
        shares = [mails[lane::lanes] for lane in range(lanes)]
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="smtp") as pool:
            results = pool.map(lambda share: _send_over(make_transport(batch.settings), share, batch), shares)
            return outcomes + [outcome for share in results for outcome in share]


def _build_all(batch: Batch, deliveries: list[Delivery]) -> tuple[Mails, list[Outcome]]:
    """The message of each delivery; a row that cannot be built (say, an address that needs
    SMTPUTF8, saved before sign-up refused those) fails alone, permanently, with the reason."""
    ctx = batch.mail
    rendered: dict[tuple[int, bool, str], emails.RenderedEvent | Exception] = {}
    mails: Mails = []
    failed: list[Outcome] = []
    for delivery in deliveries:
        personal = delivery.subscriber is not None
        missing = missing_recipient(delivery)
        if missing:
            failed.append(Outcome(delivery.id, missing, permanent=True))
            continue
        route = delivery.alert_channel.name if delivery.alert_channel else ""
        key = (delivery.event_id, personal, route)
        if key not in rendered:
            try:
                rendered[key] = emails.render_event(ctx, delivery.event, personal, route)
            except Exception as exc:
                log.exception("event %s: rendering its email failed", delivery.event_id)
                rendered[key] = exc
        try:
            done = rendered[key]
            if isinstance(done, Exception):
                raise done
            mails.append((delivery.id, emails.build(ctx, delivery.event, delivery, batch.now, done)))
        except Exception as exc:
            failed.append(Outcome(delivery.id, describe(exc), permanent=True))
    return mails, failed


def _send_over(transport: MailTransport, mails: Mails, batch: Batch) -> list[Outcome]:
    """Send mails over one transport (one connection), recording each outcome; never raises."""
    try:
        transport.open()
    except Exception as exc:
        error = exc.message if isinstance(exc, TransportError) else describe(exc)
        return [Outcome(delivery_id, error, False) for delivery_id, _mail in mails]
    outcomes = []
    try:
        for delivery_id, mail in mails:
            if not batch.owns(delivery_id):
                outcomes.append(Outcome(delivery_id, lost=True))
                continue
            try:
                transport.send(mail)
            except TransportError as exc:
                outcomes.append(Outcome(delivery_id, exc.message, exc.permanent))
            except Exception as exc:
                log.exception("delivery %s: sending failed unexpectedly", delivery_id)
                outcomes.append(Outcome(delivery_id, describe(exc), permanent=True))
                # The connection may be mid-transaction; the next message opens a fresh one.
                transport.close()
            else:
                outcomes.append(Outcome(delivery_id, message_id=mail.message_id))
    finally:
        transport.close()
    return outcomes
