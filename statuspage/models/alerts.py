"""Alert routes: where responders (not subscribers) hear that probes saw trouble or an incident moved."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from statuspage.db import Base, utcnow
from statuspage.models.base import NAME_MAX, StrEnumType, new_code


class AlertKind(StrEnum):
    """How a route reaches responders; each is sent by the channel of the same name (notify.channels)."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    DISCORD = "discord"
    PAGERDUTY = "pagerduty"


class AlertEvent(StrEnum):
    """What a route can be told; a route listens to the ones it chose (all by default)."""

    DRAFT_PROPOSED = "draft_proposed"
    INCIDENT_OPENED = "incident_opened"
    INCIDENT_UPDATED = "incident_updated"
    INCIDENT_RESOLVED = "incident_resolved"
    COMPONENT_CHANGED = "component_changed"
    DELIVERY_FAILED = "delivery_failed"
    ACTION_ITEM_OVERDUE = "action_item_overdue"


class AlertChannel(Base):
    """One alert route: a kind, where it sends, and the events it listens to."""

    __tablename__ = "alert_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    kind: Mapped[AlertKind] = mapped_column(StrEnumType(AlertKind, 16))
    # An email address, a URL, or a PagerDuty routing key.
    target: Mapped[str] = mapped_column(String(2000))
    # AlertEvent values this route listens to.
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Signs webhook alerts (HMAC-SHA256, as subscriber webhooks are); shown once when created.
    secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def listens_to(self, event: AlertEvent | str) -> bool:
        return str(event) in self.events

    def hears(self, event: AlertEvent | str, covered_by: AlertEvent | str | None = None) -> bool:
        """Whether an alert of `event` goes to this route: it listens to it, and not to `covered_by`, the
        event that already told it the same (a component's move into an outage, told by its draft)."""
        return self.listens_to(event) and not (covered_by and self.listens_to(covered_by))
