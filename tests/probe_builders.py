"""Small builders for probe tests: components, probes and check results, at a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.accounts.users import create_token
from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.models import Check, Component, Probe, Role, StatusChange, User, new_code
from statuspage.probes import service
from statuspage.probes.base import CheckResult

ACTOR = Actor.system("test")
T0 = datetime(2024, 8, 14, 12, 0, tzinfo=UTC)


def a_user(session: Session, role: str = "admin") -> User:
    """A user without a usable password (cheap: no argon2); sign in with `sign_in`."""
    user = User(email=f"{role}-{new_code()}@example.com", password_hash="!", role=Role(role))
    session.add(user)
    session.commit()
    return user


def api_headers(session: Session, role: str = "admin") -> dict[str, str]:
    """Authorization headers with a fresh API token of a new user with `role`."""
    user = a_user(session, role)
    _token, raw = create_token(session, user.email, "test", ACTOR)
    session.commit()
    return {"Authorization": f"OAuth {raw}"}


def sign_in(client, session: Session, role: str = "admin") -> User:
    """Sign the test client in as a new user with `role` (through flask-login's session keys)."""
    user = a_user(session, role)
    with client.session_transaction() as cookie:
        cookie["_user_id"] = user.get_id()
        cookie["_fresh"] = True
    return user


def a_component(session: Session, name: str = "API", **fields: Any) -> Component:
    component = catalog.create_component(session, ACTOR, name, **fields)
    session.commit()
    return component


def a_probe(session: Session, component: Component, now: datetime = T0, **fields: Any) -> Probe:
    """A probe (HTTP to a closed local port by default), due at `now`."""
    values = {"name": "check", "kind": "http", "component_id": component.code,
              "target": "http://127.0.0.1:9/", "interval_seconds": 30, "timeout_seconds": 2, **fields}
    probe = service.create_probe(session, ACTOR, values, now)
    if probe.kind not in ("heartbeat", "alertmanager"):
        probe.next_run_at = now
    session.commit()
    return probe


def good(latency: float = 20.0) -> CheckResult:
    return CheckResult(ok=True, latency_ms=latency, reason="ok")


def slow(latency: float = 900.0) -> CheckResult:
    return CheckResult(ok=True, slow=True, latency_ms=latency, reason="slow")


def bad(reason: str = "HTTP 500 (expected 2xx)") -> CheckResult:
    return CheckResult(ok=False, latency_ms=5.0, reason=reason)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def checks_of(session: Session, probe: Probe) -> list[Check]:
    session.expire_all()
    return list(session.scalars(select(Check).where(Check.probe_id == probe.id).order_by(Check.at, Check.id)))


def changes_of(session: Session, component: Component) -> list[StatusChange]:
    session.expire_all()
    return list(session.scalars(select(StatusChange).where(StatusChange.component_id == component.id)
                                .order_by(StatusChange.id)))
