"""Sign-in throttling that a stranger cannot turn against a responder.

Failures are counted per client address, and per client address and email
address together, in the database (so every web node sees one count). Past
a threshold the key is locked for a while that doubles with each further
failure, up to an hour; a locked key is answered at once (429 with
Retry-After, never a sleep that holds a worker). Every key includes the
client's address, so guesses from elsewhere never lock out a responder who
signs in from an address with no failures. Failures are forgotten after an
hour without one; a correct password does not reset them (a guesser who
also holds one valid account gains nothing by signing in between guesses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.errors import NotFound
from statuspage.models import SignInThrottle


@dataclass(frozen=True)
class Limits:
    """How many failures a key may have before it is locked, and for how long."""

    per_client_and_email: int = 10
    per_client: int = 50
    first_lock: timedelta = timedelta(minutes=1)
    longest_lock: timedelta = timedelta(hours=1)
    forget_after: timedelta = timedelta(hours=1)


def _keys(client: str, email: str) -> list[tuple[str, str | None]]:
    address = email.strip().lower()[:320]
    return [(f"ip+email {client} {address}", address), (f"ip {client}", None)]


def _rows(session: Session, client: str, email: str) -> list[SignInThrottle]:
    keys = [key for key, _email in _keys(client, email)]
    return list(session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys))))


def wait_seconds(session: Session, client: str, email: str, now: datetime) -> int:
    """Seconds before this client may try this email again (0: now)."""
    until = [row.locked_until for row in _rows(session, client, email)
             if row.locked_until is not None and row.locked_until > now]
    return max((int((u - now).total_seconds()) + 1 for u in until), default=0)


def _lock(failures: int, threshold: int, limits: Limits) -> timedelta | None:
    if failures < threshold:
        return None
    doubled: timedelta = limits.first_lock * (2 ** min(failures - threshold, 16))
    return min(doubled, limits.longest_lock)


def record_failure(session: Session, client: str, email: str, now: datetime, limits: Limits) -> None:
    """Count one refused password against the client, and against the client with this email."""
    thresholds = [limits.per_client_and_email, limits.per_client]
    for (key, address), threshold in zip(_keys(client, email), thresholds, strict=True):
        row = session.scalars(select(SignInThrottle).where(SignInThrottle.key == key)).first()
        if row is None:
            try:
                with session.begin_nested():  # two failures at once: the second finds the first's row
                    row = SignInThrottle(key=key, client=client[:64], email=address, failures=0,
                                         last_failure_at=now)
                    session.add(row)
            except IntegrityError:
                row = session.scalars(select(SignInThrottle).where(SignInThrottle.key == key)).one()
        if now - row.last_failure_at > limits.forget_after and not (row.locked_until and row.locked_until > now):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        lock = _lock(row.failures, threshold, limits)
        if lock is not None:
            row.locked_until = now + lock


def current(session: Session, now: datetime, limits: Limits) -> list[SignInThrottle]:
    """Keys that are locked or still remember failures, for the admin: locked first, then newest."""
    rows = session.scalars(select(SignInThrottle).where(or_(
        SignInThrottle.locked_until > now, SignInThrottle.last_failure_at >= now - limits.forget_after)))
    return sorted(rows, key=lambda r: (not (r.locked_until and r.locked_until > now),
                                       -r.last_failure_at.timestamp()))


def clear(session: Session, actor: Actor, throttle_id: object) -> None:
    """Forget a key's failures and lift its lock (an admin who knows the failures were a colleague's)."""
    row = (session.get(SignInThrottle, int(throttle_id))
           if isinstance(throttle_id, int | str) and str(throttle_id).isdigit() else None)
    if row is None:
        raise NotFound("No such sign-in throttle.", "throttle_id")
    audit.record(session, actor, "sign_in_throttle.clear", "sign_in_throttle", str(row.id),
                 {"client": row.client, "email": row.email, "failures": row.failures})
    session.delete(row)
    session.flush()
