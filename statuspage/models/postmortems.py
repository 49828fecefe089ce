"""Postmortems: structured sections, the drafted timeline, revisions and action items."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statuspage.db import Base, utcnow
from statuspage.models.base import NAME_MAX, StrEnumType, new_code


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Postmortem(Base):
    """The postmortem of one incident: Markdown per section and the timeline's lines."""

    __tablename__ = "postmortem"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), unique=True)
    # Section key -> Markdown ("summary", "root_cause", "impact", ...).
    sections: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # [{"key", "at" (ISO), "text", "source": "auto"|"manual", "removed": bool}]; auto lines keep
    # their key so regenerating the draft keeps manual lines and removals.
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column()
    # Set when a published postmortem was edited later ("updated <time>" publicly).
    revised_at: Mapped[datetime | None] = mapped_column()
    notified_subscribers: Mapped[bool] = mapped_column(default=False)

    revisions: Mapped[list[PostmortemRevision]] = relationship(
        back_populates="postmortem", cascade="all, delete-orphan", passive_deletes=True,
        order_by="PostmortemRevision.id",
    )


class PostmortemRevision(Base):
    """What a published postmortem said before an edit."""

    __tablename__ = "postmortem_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortem.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    sections: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    postmortem: Mapped[Postmortem] = relationship(back_populates="revisions")


class ActionItem(Base):
    """A follow-up from an incident, tracked until done."""

    __tablename__ = "action_item"
    __table_args__ = (
        # The admin's open and overdue items across incidents.
        Index("ix_action_item_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, default=new_code)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(NAME_MAX))
    owner: Mapped[str | None] = mapped_column(String(NAME_MAX))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(StrEnumType(ActionStatus), default=ActionStatus.OPEN)
    link: Mapped[str | None] = mapped_column(String(2000))
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When responders were alerted that it fell overdue (once per due date).
    overdue_alerted_at: Mapped[datetime | None] = mapped_column()
