"""What every notification channel shares: the batch it sends in, the outcome of each delivery, the base class.

A channel is one class with a few verbs: `clean_address` (what an address of
this channel looks like, checked before anything is saved) and `deliver`
(render and send a batch of its deliveries, one `Outcome` each, never
raising). The outbox, leases, retries and targeting stay in the sender and
the queue, the same for every channel.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from statuspage.config import Settings
from statuspage.models import Delivery, EventKind, Page, SubscriberMode
from statuspage.notify.emails import MailContext
from statuspage.notify.transports import MailTransport, TransportError
from statuspage.outbound import guard


@dataclass
class Outcome:
    """What became of one delivery; the sender writes it once the batch is sent."""

    delivery_id: int
    error: str | None = None
    permanent: bool = False
    message_id: str | None = None
    # The row's lease was taken over by another worker: it is theirs to send and record.
    lost: bool = False
    # The service asked us to wait (429): try again then, without counting an attempt.
    retry_at: datetime | None = None
    # The address no longer exists (a chat webhook answering 404/410): the subscriber is removed.
    gone: bool = False

    @classmethod
    def failed(cls, delivery_id: int, error: TransportError, now: datetime) -> Outcome:
        """The outcome of a send that raised TransportError."""
        retry_at = None if error.retry_after is None else now + error.retry_after
        return cls(delivery_id, error.message, error.permanent, retry_at=retry_at, gone=error.gone)


def missing_recipient(delivery: Delivery) -> str | None:
    """Why a delivery has no one to go to (its subscriber or alert route was removed); None when it has."""
    if delivery.event.kind == EventKind.ALERT:
        return None if delivery.alert_channel is not None else "alert route removed"
    if delivery.subscriber is None and delivery.event.kind != EventKind.OWNER_NOTICE:
        return "subscriber removed"
    return None


def describe(exc: BaseException) -> str:
    """An unexpected error as a delivery's last_error."""
    return f"{type(exc).__name__}: {exc}"[:500]


@dataclass
class Batch:
    """What a channel needs to render and send one claimed batch: read it, never commit through it."""

    session: Session
    page: Page | None
    settings: Settings
    mail: MailContext
    now: datetime
    # False once another worker took the row over (the lease keeper's `owns`).
    owns: Callable[[int], bool]
    # The worker's clock: a wait a service asks for counts from the moment it answered.
    clock: Callable[[], datetime]
    # A mail transport to use instead of the configured one (tests, the benchmark).
    transport: MailTransport | None = None
    # Work a channel does once per event rather than per recipient (say, an incident's JSON).
    memo: dict[Any, Any] = field(default_factory=dict)

    def once(self, key: Any, make: Callable[[], Any]) -> Any:
        """`make()` the first time `key` is asked for in this batch, the same value afterwards."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]


class Channel(ABC):
    """One way of reaching subscribers (email, a webhook, a chat service, SMS)."""

    mode: ClassVar[SubscriberMode]
    # How people read the channel's name ("Slack", "Microsoft Teams").
    label: ClassVar[str]
    # Repeated failures in a row disable (quarantine) the subscriber and tell the owner.
    quarantines: ClassVar[bool] = False
    # One rate limit for the whole channel (an SMS account), not one per address: a 429 pauses all of it.
    shared_limit: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def clean_address(cls, value: object, field: str, policy: guard.Policy) -> str:
        """The address in its stored form; raises InvalidInput (with `field`) when it cannot be used.

        `policy` is the operator's outbound policy for targets strangers choose
        (`guard.Policy.for_subscribers(settings)`), for the channels that POST to a URL.
        """

    @abstractmethod
    def deliver(self, batch: Batch, deliveries: list[Delivery]) -> list[Outcome]:
        """Render and send these deliveries; one Outcome each, and never an exception."""
