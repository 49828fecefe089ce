"""Incidents and scheduled maintenance, their timeline of updates, and saved messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statuspage.db import Base, utcnow
from statuspage.models.base import NAME_MAX, StrEnumType, StrEnumUnionType, new_code
from statuspage.models.core import Component

if TYPE_CHECKING:
    from statuspage.models.postmortems import ActionItem, Postmortem


class IncidentKind(StrEnum):
    INCIDENT = "incident"
    MAINTENANCE = "maintenance"


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"


class MaintenanceStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"


# The status an incident or an update holds: an IncidentStatus for incidents, a MaintenanceStatus for
# maintenance. Two sets with disjoint values, stored in one column that reads back the member it was.
UpdateStatus: TypeAlias = IncidentStatus | MaintenanceStatus


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


class IncidentComponent(Base):
    """A component an incident or maintenance affects."""

    __tablename__ = "incident_component"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[int] = mapped_column(
        ForeignKey("component.id", ondelete="CASCADE"), primary_key=True
    )


def _updates_newest_first() -> list[ColumnElement[Any]]:
    """The order of `Incident.updates` (evaluated once the mappers are configured)."""
    return [IncidentUpdate.display_at.desc(), IncidentUpdate.id.desc()]


class Incident(Base):
    """An incident or a scheduled maintenance, with its timeline of updates."""

    __tablename__ = "incident"
    __table_args__ = (
        # The public page's unresolved incidents and active maintenance; history by date.
        Index("ix_incident_kind_status", "kind", "status"),
        Index("ix_incident_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    kind: Mapped[IncidentKind] = mapped_column(StrEnumType(IncidentKind), default=IncidentKind.INCIDENT)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # An IncidentStatus for incidents, a MaintenanceStatus for maintenance.
    status: Mapped[UpdateStatus] = mapped_column(StrEnumUnionType((IncidentStatus, MaintenanceStatus), 32))
    impact: Mapped[Impact] = mapped_column(StrEnumType(Impact), default=Impact.NONE)
    impact_override: Mapped[Impact | None] = mapped_column(StrEnumType(Impact))
    # When the trouble began (may be set back), or when the maintenance actually started.
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    monitoring_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    scheduled_for: Mapped[datetime | None] = mapped_column()
    scheduled_until: Mapped[datetime | None] = mapped_column()
    # Maintenance moves itself at the window's edges unless a responder turns this off.
    auto_transition: Mapped[bool] = mapped_column(default=True)

    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by=_updates_newest_first,
    )
    components: Mapped[list[Component]] = relationship(
        secondary="incident_component", order_by="Component.position"
    )
    postmortem: Mapped[Postmortem | None] = relationship(lazy="selectin", viewonly=True)
    action_items: Mapped[list[ActionItem]] = relationship(viewonly=True, order_by="ActionItem.id")

    @property
    def is_maintenance(self) -> bool:
        return self.kind == IncidentKind.MAINTENANCE


class IncidentUpdate(Base):
    """One message on an incident's timeline, with the status it set."""

    __tablename__ = "incident_update"
    __table_args__ = (
        # An incident's timeline, newest first.
        Index("ix_incident_update_incident_display", "incident_id", "display_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    # Its incident's kind of status, as on Incident.status.
    status: Mapped[UpdateStatus] = mapped_column(StrEnumUnionType((IncidentStatus, MaintenanceStatus), 32))
    body: Mapped[str] = mapped_column(Text, default="")
    # The time readers see; may be set back when posting late.
    display_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deliver_notifications: Mapped[bool] = mapped_column(default=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # What the responder declared for each component with this update, as Statuspage
    # shows it: [{"code", "name", "old_status", "new_status"}]; kept as written.
    affected_components: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    incident: Mapped[Incident] = relationship(back_populates="updates")


class IncidentTemplate(Base):
    """A saved message that fills the incident form for a common update."""

    __tablename__ = "incident_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    name: Mapped[str] = mapped_column(String(NAME_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    update_status: Mapped[str] = mapped_column(String(32), default="investigating")
    # Codes of the components an incident made from it affects (codes, as the API speaks them).
    component_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    should_send_notifications: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
