"""Users, passwords (argon2) and management API tokens (stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.inputs import clean_name
from statuspage.models import ApiToken, Role, User

_hasher = PasswordHasher()
PASSWORD_MIN = 10
# Verifying against this keeps the time of a login for an unknown email
# the same as for a known one, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def clean_email(value: object, field: str = "email") -> str:
    """A syntactically valid ASCII address, lower-cased, its domain in IDNA form (no DNS lookup).

    Every SMTP server takes `user@xn--bcher-kva.de`; `user@bücher.de` or `jörg@...` need
    SMTPUTF8, which few relays offer and smtplib cannot fall back from, so non-ASCII
    before the @ is refused here rather than failing at every send.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Email address is required.", field)
    try:
        result = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"Invalid email address: {exc}", field) from None
    return str(result.ascii_email).lower()


def create_user(session: Session, email: str, password: str, role: str, actor: Actor) -> User:
    """Create a user with a hashed password."""
    email = clean_email(email)
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput("Role must be admin or responder.", "role") from None
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"Password must be at least {PASSWORD_MIN} characters.", "password")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"A user {email} already exists.", "email")
    user = User(email=email, password_hash=_hasher.hash(password), role=role_value)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", str(user.id), {"email": email, "role": role})
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None.

    The address is normalised as it was when the user was created (IDNA domain,
    lower case), so `admin@bücher.example` signs in as `admin@xn--bcher-kva.example`.
    """
    try:
        address = clean_email(email)
    except InvalidInput:
        address = email.strip().lower()  # cannot match a stored user; still spend a hash below
    user = session.scalars(select(User).where(func.lower(User.email) == address)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(session: Session, email: str, name: str, actor: Actor) -> tuple[ApiToken, str]:
    """A new API token for a user; the raw token is returned once and never stored."""
    name = clean_name(name if isinstance(name, str) and name.strip() else "API token")
    user = session.scalars(select(User).where(User.email == clean_email(email))).first()
    if user is None:
        raise NotFound(f"No user {email}.", "email")
    raw = "sp_" + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_digest(raw), prefix=raw[:8])
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", "api_token", str(token.id), {"name": token.name})
    return token, raw


# How often a key's last-used time is written: once a minute is exact enough and spares a write per call.
LAST_USED_EVERY = timedelta(minutes=1)


def user_for_token(session: Session, raw: str, now: datetime | None = None) -> User | None:
    """The active user a raw, unrevoked token belongs to, or None; notes when the key was last used."""
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(raw))).first()
    if token is None or token.revoked_at is not None or token.user is None or not token.user.active:
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        token.last_used_at = now
    return token.user


# --- managing people ------------------------------------------------------------------------------


def get_user(session: Session, user_id: object) -> User:
    """The user with this id (as the admin's URLs carry it), or NotFound."""
    user = session.get(User, int(user_id)) if isinstance(user_id, int | str) and str(user_id).isdigit() else None
    if user is None:
        raise NotFound("No such user.", "user_id")
    return user


def find_user(session: Session, email: str) -> User:
    """The user with this email address (as the CLI names users), or NotFound."""
    user = session.scalars(select(User).where(User.email == clean_email(email))).first()
    if user is None:
        raise NotFound(f"No user {email}.", "email")
    return user


def all_users(session: Session) -> list[User]:
    """Everyone who can sign in or could, admins first, then by address."""
    return list(session.scalars(select(User).order_by(User.role, User.email)))


def end_sessions(user: User) -> None:
    """Every session cookie of this user stops working on its next request, on every node."""
    user.session_version += 1


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.role == Role.ADMIN, User.active.is_(True))) or 0


def _keep_an_admin(session: Session, user: User, action: str) -> None:
    """Refuse what would leave the page without an active admin (no one could manage users again)."""
    if user.role == Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise Conflict(f"{user.email} is the only active admin: make someone else an admin before you {action}.",
                       "user_id")


def change_role(session: Session, actor: Actor, user: User, role: object) -> User:
    """Make a user an admin or a responder; their sessions end so the new role holds at once."""
    try:
        new_role = Role(role) if isinstance(role, str) else None
    except ValueError:
        new_role = None
    if new_role is None:
        raise InvalidInput("Role must be admin or responder.", "role")
    if new_role == user.role:
        return user
    if new_role != Role.ADMIN:
        _keep_an_admin(session, user, "change their role")
    audit.record(session, actor, "user.role", "user", str(user.id),
                 {"email": user.email, "from": user.role.value, "to": new_role.value})
    user.role = new_role
    end_sessions(user)
    return user


def set_password(session: Session, actor: Actor, user: User, new_password: object,
                 current_password: object | None = None) -> User:
    """A new password (by an admin, or by the user, who must give the current one); every session of
    the user ends, so a stolen cookie dies with the old password."""
    if current_password is not None:
        try:
            _hasher.verify(user.password_hash, current_password if isinstance(current_password, str) else "")
        except (VerificationError, InvalidHashError):
            raise InvalidInput("The current password is not right.", "current_password") from None
    if not isinstance(new_password, str) or len(new_password) < PASSWORD_MIN:
        raise InvalidInput(f"Password must be at least {PASSWORD_MIN} characters.", "password")
    user.password_hash = _hasher.hash(new_password)
    end_sessions(user)
    audit.record(session, actor, "user.password", "user", str(user.id), {"email": user.email})
    return user


def set_active(session: Session, actor: Actor, user: User, active: bool) -> User:
    """Deactivate (sessions and API keys stop at once, the history keeps their name) or reactivate."""
    if active == user.active:
        return user
    if not active:
        _keep_an_admin(session, user, "deactivate them")
    user.active = active
    end_sessions(user)
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user", str(user.id),
                 {"email": user.email})
    return user


def delete_user(session: Session, actor: Actor, user: User) -> None:
    """Delete a user and their keys; what they did stays in the audit log and history, unattributed."""
    _keep_an_admin(session, user, "delete them")
    audit.record(session, actor, "user.delete", "user", str(user.id), {"email": user.email})
    session.delete(user)
    session.flush()


# --- API keys --------------------------------------------------------------------------------------


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """A user's keys, newest first, revoked ones included (marked)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def get_token(session: Session, token_id: object, owner: User | None = None) -> ApiToken:
    """A key by id; with `owner`, only that user's own key (others are NotFound, not Forbidden)."""
    token = (session.get(ApiToken, int(token_id))
             if isinstance(token_id, int | str) and str(token_id).isdigit() else None)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound("No such API key.", "token_id")
    return token


def revoke_token(session: Session, actor: Actor, token: ApiToken, now: datetime | None = None) -> ApiToken:
    """Revoke a key: the API answers 401 to it from the next call on."""
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record(session, actor, "token.revoke", "api_token", str(token.id),
                     {"name": token.name, "user": token.user.email})
    return token
