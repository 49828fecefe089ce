"""Typed SQLAlchemy 2.0 models: data and invariants only.

Public ids are opaque 12-character codes (as Statuspage's); integer keys
stay internal. Every status is a StrEnum stored as its string value.
"""

from __future__ import annotations

import secrets
import string
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .db import Base, utcnow

_CODE_ALPHABET = string.ascii_lowercase + string.digits
NAME_MAX = 255
DESCRIPTION_MAX = 2000


def new_code() -> str:
    """A random public id in Statuspage's style (12 lowercase letters and digits)."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


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


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


class Role(StrEnum):
    ADMIN = "admin"
    RESPONDER = "responder"


class StrEnumType(TypeDecorator):
    """Stores a StrEnum as VARCHAR and reads it back as the enum member."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect) -> StrEnum | None:
        return None if value is None else self.enum_class(value)


class Page(Base):
    """The one public status page this installation serves."""

    __tablename__ = "page"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    url: Mapped[str | None] = mapped_column(String(NAME_MAX))
    time_zone: Mapped[str] = mapped_column(String(64), default="Etc/UTC")
    # Bumped in the same transaction as any change customers can see;
    # it keys the public render cache and the ETag.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComponentGroup(Base):
    """A named set of components shown together."""

    __tablename__ = "component_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    components: Mapped[list[Component]] = relationship(
        back_populates="group", order_by="Component.position"
    )


class Component(Base):
    """A part of the service whose status customers follow."""

    __tablename__ = "component"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("component_group.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ComponentStatus] = mapped_column(
        StrEnumType(ComponentStatus), default=ComponentStatus.OPERATIONAL
    )
    # Order within the group, or among top-level items (groups and ungrouped components).
    position: Mapped[int] = mapped_column(Integer, default=0)
    showcase: Mapped[bool] = mapped_column(default=True)
    only_show_if_degraded: Mapped[bool] = mapped_column(default=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    # A pinned component keeps the status a responder set; probes only record.
    pinned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[ComponentGroup | None] = relationship(back_populates="components")
    status_changes: Mapped[list[StatusChange]] = relationship(
        back_populates="component",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="StatusChange.at",
    )


class StatusChange(Base):
    """One change of one component's status: the history, uptime and timeline all read it."""

    __tablename__ = "status_change"
    __table_args__ = (
        # Component history page, uptime over a window, postmortem timeline.
        Index("ix_status_change_component_at", "component_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"))
    # None when the component was created with its first status.
    from_status: Mapped[ComponentStatus | None] = mapped_column(StrEnumType(ComponentStatus))
    to_status: Mapped[ComponentStatus] = mapped_column(StrEnumType(ComponentStatus))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # Who or what made the change: "admin", "api", "probe", "incident", "maintenance", "demo".
    source: Mapped[str] = mapped_column(String(32))
    # Free text naming the cause, e.g. "probe 3, check 1207" or the actor's email.
    cause: Mapped[str | None] = mapped_column(String(NAME_MAX))
    # The incident or maintenance whose update made this change, if any.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL", name="fk_status_change_incident_id")
    )

    component: Mapped[Component] = relationship(back_populates="status_changes")
    user: Mapped[User | None] = relationship()


class User(Base):
    """A responder or admin who signs in to the admin."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(StrEnumType(Role), default=Role.RESPONDER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # flask-login's protocol, kept here so the model stays the one user type.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """A management API key; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so a responder can tell keys apart in the admin.
    prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="tokens")


class AuditEntry(Base):
    """One responder or automation action, kept for accountability."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        # The admin's audit log, newest first.
        Index("ix_audit_entry_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # Kept as text so the entry outlives the user.
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_code: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IncidentComponent(Base):
    """A component an incident or maintenance affects."""

    __tablename__ = "incident_component"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    component_id: Mapped[int] = mapped_column(
        ForeignKey("component.id", ondelete="CASCADE"), primary_key=True
    )


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
    status: Mapped[str] = mapped_column(String(32))
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
        order_by=lambda: [IncidentUpdate.display_at.desc(), IncidentUpdate.id.desc()],
    )
    components: Mapped[list[Component]] = relationship(
        secondary="incident_component", order_by="Component.position"
    )

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
    status: Mapped[str] = mapped_column(String(32))
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
