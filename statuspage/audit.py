"""Who did what: the actor of a change and the audit log it leaves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from statuspage.models import AuditEntry, User


@dataclass(frozen=True)
class Actor:
    """The person or process behind a change; `source` says through which edge."""

    label: str
    source: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user: User, source: str) -> Actor:
        return cls(label=user.email, source=source, user_id=user.id)

    @classmethod
    def system(cls, source: str, label: str | None = None) -> Actor:
        return cls(label=label or source, source=source)


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_code: str | None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit row in the caller's transaction."""
    entry = AuditEntry(
        user_id=actor.user_id,
        actor=actor.label,
        action=action,
        target_type=target_type,
        target_code=target_code,
        detail={"source": actor.source, **(detail or {})},
    )
    session.add(entry)
    return entry
