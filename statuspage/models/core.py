"""The page, components and their history, users, tokens and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statuspage.db import Base, utcnow
from statuspage.models.base import NAME_MAX, ComponentStatus, Role, StrEnumType, new_code


class Page(Base):
    """The one public status page this installation serves."""

    __tablename__ = "page"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    url: Mapped[str | None] = mapped_column(String(NAME_MAX))
    time_zone: Mapped[str] = mapped_column(String(64), default="Etc/UTC")
    # Profile and subscriber switches (Statuspage's page fields).
    owner_email: Mapped[str | None] = mapped_column(String(320))
    notifications_from_email: Mapped[str | None] = mapped_column(String(320))
    notifications_email_footer: Mapped[str | None] = mapped_column(Text)
    allow_page_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_incident_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_email_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_webhook_subscribers: Mapped[bool] = mapped_column(default=True)
    allow_rss_atom_feeds: Mapped[bool] = mapped_column(default=True)
    # The look and voice chosen on the Settings page (page/settings.py).
    brand_color: Mapped[str | None] = mapped_column(String(7))
    sender_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    footer_text: Mapped[str | None] = mapped_column(Text)
    # How often an open public page looks for news (seconds; 0: only when the reader asks).
    refresh_seconds: Mapped[int] = mapped_column(Integer, default=60)
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


# One name per scope, whatever its case: groups among groups, components within their
# group (or the top level, group 0). Expression indexes work on SQLite and PostgreSQL,
# so two concurrent requests cannot both store a name (the loser gets a 409).
Index("uq_component_group_name", func.lower(ComponentGroup.name), unique=True)
Index(
    "uq_component_scope_name",
    func.coalesce(Component.group_id, 0),
    func.lower(Component.name),
    unique=True,
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
    # Part of every session cookie: bumping it (sign-out, new password, role change, deactivation)
    # ends every session of this user on every node at once.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

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
        """What the session cookie keeps: the id and the session version it was signed in under."""
        return f"{self.id}:{self.session_version}"


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
    # Set when the key is revoked: the API refuses it at once, the admin still lists it.
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="tokens")


class SignInThrottle(Base):
    """Failed sign-ins of one client address, or of one address for one email: the count and the lock."""

    __tablename__ = "sign_in_throttle"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "ip <address>" or "ip+email <address> <email>": every count is tied to the client's address, so
    # no one can lock a responder out from somewhere else.
    key: Mapped[str] = mapped_column(String(400), unique=True)
    client: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()


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


class PageAsset(Base):
    """An image the page shows (its logo or favicon), kept in the database so every web node serves it."""

    __tablename__ = "page_asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), unique=True)
    mimetype: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
