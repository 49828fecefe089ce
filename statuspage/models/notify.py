"""Subscribers and the outbox: events written with each change, deliveries made by the worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statuspage.db import Base, utcnow
from statuspage.models.alerts import AlertChannel
from statuspage.models.base import StrEnumType, new_code
from statuspage.models.core import Component


class SubscriberMode(StrEnum):
    """How a subscriber is reached: one channel each (notify.channels)."""

    EMAIL = "email"
    # Statuspage's signed JSON webhook.
    WEBHOOK = "webhook"
    # Chat services' incoming webhooks (Mattermost and Rocket.Chat take Slack's payload).
    SLACK = "slack"
    MATTERMOST = "mattermost"
    TEAMS = "teams"
    DISCORD = "discord"
    SMS = "sms"
    # Alert routes only (models.alerts): PagerDuty's Events API. Subscribers never have it (SUBSCRIBER_MODES).
    PAGERDUTY = "pagerduty"

    @property
    def address_column(self) -> str:
        """The Subscriber column that holds where this mode's messages go."""
        return {"email": "email", "sms": "phone_number"}.get(self.value, "endpoint")

    @property
    def confirms_by_email(self) -> bool:
        """Whether confirmations and manage links go by email (a webhook's to its contact address);
        the other modes get them in their own channel."""
        return self in (SubscriberMode.EMAIL, SubscriberMode.WEBHOOK)


# The modes a subscriber may have.
SUBSCRIBER_MODES = tuple(mode for mode in SubscriberMode if mode != SubscriberMode.PAGERDUTY)


def subscriber_mode(value: object) -> SubscriberMode:
    """The subscriber mode named `value`; ValueError for an unknown one or one only alert routes have."""
    mode = SubscriberMode(str(value))
    if mode not in SUBSCRIBER_MODES:
        raise ValueError(f"{value!r} is not a subscriber mode")
    return mode


CHAT_MODES = (SubscriberMode.SLACK, SubscriberMode.MATTERMOST, SubscriberMode.TEAMS, SubscriberMode.DISCORD)
_CHAT_ONLY = text("mode IN ('slack', 'mattermost', 'teams', 'discord')")
_SMS_ONLY = text("mode = 'sms'")


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"


class EventKind(StrEnum):
    """What an outbox event tells, and so who receives it and how it reads."""

    # Published incident and maintenance updates, and published postmortems: to subscribers.
    INCIDENT = "incident"
    MAINTENANCE = "maintenance"
    POSTMORTEM = "postmortem"
    # A component's status changed: to webhooks only.
    COMPONENT_UPDATE = "component_update"
    # Addressed to one subscriber, whatever their confirmation state.
    CONFIRMATION = "confirmation"
    MANAGE_LINK = "manage_link"
    # To the page owner (and a disabled webhook's contact address).
    OWNER_NOTICE = "owner_notice"
    # To the alert routes that listen to the payload's `event` (models.alerts): responders, not subscribers.
    ALERT = "alert"


class Subscription(Base):
    """A component a subscriber chose (none chosen means all)."""

    __tablename__ = "subscription"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[int] = mapped_column(
        ForeignKey("component.id", ondelete="CASCADE"), primary_key=True
    )


class Subscriber(Base):
    """Someone who hears about incidents by email or webhook."""

    __tablename__ = "subscriber"
    __table_args__ = (
        # One email subscriber per address (subscribers.by_email); a webhook's contact address may
        # serve several hooks, so webhooks are left out.
        Index("uq_subscriber_email", "email", unique=True, sqlite_where=text("mode = 'email'"),
              postgresql_where=text("mode = 'email'")),
        # One SMS subscriber per number (subscribers.by_phone), one chat subscriber per webhook URL and
        # mode (the sign-up's lookup); Statuspage webhooks keep their check in code.
        Index("uq_subscriber_phone", "phone_number", unique=True, sqlite_where=_SMS_ONLY,
              postgresql_where=_SMS_ONLY),
        Index("uq_subscriber_chat_endpoint", "mode", "endpoint", unique=True, sqlite_where=_CHAT_ONLY,
              postgresql_where=_CHAT_ONLY),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    mode: Mapped[SubscriberMode] = mapped_column(StrEnumType(SubscriberMode), default=SubscriberMode.EMAIL)
    # The address mail goes to; for webhooks, the contact told when the hook is disabled.
    email: Mapped[str | None] = mapped_column(String(320))
    # The URL POSTed to: Statuspage webhooks and chat services.
    endpoint: Mapped[str | None] = mapped_column(String(2000))
    # SMS: the number in E.164 (+14155550100) and the country it was typed for (ISO 3166, "US").
    phone_number: Mapped[str | None] = mapped_column(String(16))
    phone_country: Mapped[str | None] = mapped_column(String(2))
    # Signs webhook bodies (HMAC-SHA256); shown to the subscriber once.
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    all_components: Mapped[bool] = mapped_column(default=True)
    confirmed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Signed links carry this; a new value would void every link sent so far.
    token_nonce: Mapped[str] = mapped_column(String(16), default=lambda: new_code()[:8])
    # Set when a webhook is disabled after repeated failures.
    quarantined_at: Mapped[datetime | None] = mapped_column()
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)

    components: Mapped[list[Component]] = relationship(secondary="subscription", order_by="Component.name")

    @property
    def address(self) -> str:
        """Where this subscriber's messages go: the email address, the URL or the phone number."""
        return str(getattr(self, self.mode.address_column) or "")


class PhoneCode(Base):
    """The six-digit code last texted to an SMS subscriber, which proves they hold the phone.

    Only a keyed digest is kept; a new code replaces the old one, and a few wrong tries void it.
    """

    __tablename__ = "phone_code"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEvent(Base):
    """Something subscribers must hear about, written in the transaction of the change itself."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        # The worker's next event to expand into deliveries.
        Index("ix_outbox_event_expanded_at", "expanded_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(StrEnumType(EventKind, 32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
    # The components it concerns (internal ids); subscribers to any of them, or to all, receive it.
    component_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # What was published, as it was: the message is sent as written even if edited later.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expanded_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="event", cascade="all, delete-orphan", passive_deletes=True
    )


class Delivery(Base):
    """One message to one recipient over one channel; sent at least once, marked sent after success."""

    __tablename__ = "delivery"
    __table_args__ = (
        # The worker's due deliveries, oldest first.
        Index("ix_delivery_due", "status", "next_attempt_at"),
        # The admin's delivery list for one event.
        Index("ix_delivery_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"))
    # Kept when the subscriber is removed (SET NULL), so the counts of what was sent hold.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL", name="fk_delivery_subscriber_id")
    )
    channel: Mapped[SubscriberMode] = mapped_column(StrEnumType(SubscriberMode))
    # "<event>:<subscriber or address>:<channel>": one delivery per event, recipient and channel.
    key: Mapped[str] = mapped_column(String(255), unique=True)
    address: Mapped[str] = mapped_column(String(2000))
    status: Mapped[DeliveryStatus] = mapped_column(StrEnumType(DeliveryStatus), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(255))
    # The alert route an alert goes to (instead of a subscriber); kept when the route is removed (SET NULL).
    alert_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_channel.id", ondelete="SET NULL", name="fk_delivery_alert_channel_id")
    )

    event: Mapped[OutboxEvent] = relationship(back_populates="deliveries")
    subscriber: Mapped[Subscriber | None] = relationship()
    alert_channel: Mapped[AlertChannel | None] = relationship()
