"""Users, passwords (argon2) and management API tokens (stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets

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


def user_for_token(session: Session, raw: str) -> User | None:
    """The active user a raw token belongs to, or None."""
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(raw))).first()
    if token is None or not token.user.active:
        return None
    return token.user
