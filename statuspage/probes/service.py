"""Creating, changing and deleting probes, pushes (heartbeat pings, alert webhooks) and "check now".

One function per state change, shared by the admin and the management
API. Every input is validated before anything is written; a bad value
raises InvalidInput naming its field.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.components.catalog import get_component
from statuspage.db import rows_matched
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.inputs import clean_name, member_of, parse_bool
from statuspage.models import AutoIncident, Check, Component, ComponentStatus, Probe, ProbeKind, ProbeState
from statuspage.outbound.guard import Policy, literal_refusal
from statuspage.page.record import bump_version
from statuspage.probes import CHECKERS, run_check
from statuspage.probes.alertmanager import firing_after, parse_payload, probe_state, status_for
from statuspage.probes.base import CheckResult, ProbeSpec, passed
from statuspage.probes.fields import parse_int, parse_number
from statuspage.probes.heartbeat import grace
from statuspage.probes.rules import apply_check, follow_probes, record_check

INTERVAL_LIMITS = (10, 86_400)
HEARTBEAT_INTERVAL_LIMITS = (10, 31 * 86_400)
TIMEOUT_LIMITS = (0.5, 60.0)
# A lease outlives the check's own timeout by this much, for writing the result.
LEASE_MARGIN = timedelta(seconds=30)
# "Check now" runs in a web request: its deadline stays well under the request timeout (gunicorn: 30 s).
CHECK_NOW_SECONDS = 10.0
OUTAGE_STATUSES = (ComponentStatus.PARTIAL_OUTAGE.value, ComponentStatus.MAJOR_OUTAGE.value)
PUSH_PATHS = {ProbeKind.HEARTBEAT: "/api/heartbeat/", ProbeKind.ALERTMANAGER: "/api/integrations/alertmanager/"}
COMMON_FIELDS = {
    "name", "kind", "component_id", "target", "interval_seconds", "retry_interval_seconds", "timeout_seconds",
    "latency_threshold_ms", "failures_to_outage", "successes_to_recover", "slow_to_degrade", "failure_rate_window",
    "failure_rate_threshold", "outage_status", "auto_incident", "publish_after_minutes", "auto_resolve_minutes",
    "paused",
}
# What a new probe starts with: a target that stops answering is confirmed down within
# interval + (failures - 1) x retry = 30 s (README, "An outage under the defaults"); one lost
# check is confirmed or cleared 10 s later, and a recovery is seen within 2 x retry = 20 s.
DEFAULTS: dict[str, Any] = {
    "interval_seconds": 20, "retry_interval_seconds": 10, "timeout_seconds": 10.0, "latency_threshold_ms": None,
    "failures_to_outage": 2, "successes_to_recover": 2, "slow_to_degrade": 3, "failure_rate_window": 10,
    "failure_rate_threshold": 0.5, "outage_status": ComponentStatus.MAJOR_OUTAGE, "auto_incident": AutoIncident.DRAFT,
    "publish_after_minutes": 0, "auto_resolve_minutes": None, "paused": False,
}
RETRY_LIMITS = (5, 3600)
MINUTES_LIMIT = 24 * 60


def detection_seconds(interval: int, retry: int, failures: int) -> int:
    """The longest a target that stops answering (refusing) takes to be confirmed down: the rest of one
    interval, then a retry for each further failure needed."""
    return interval + (failures - 1) * retry


OPTION_FIELDS = {name for checker in CHECKERS.values() for name in checker.options}
# Options of every kind the worker runs, kept in Probe.options beside the kind's own: `public_chart` shows
# the probe's response times to customers on the public page.
SHARED_OPTIONS = {"public_chart"}
FIELDS = COMMON_FIELDS | OPTION_FIELDS | SHARED_OPTIONS


# --- input rules ---------------------------------------------------------------------------------


def parse_kind(value: object) -> ProbeKind:
    """A probe kind from its name; InvalidInput listing the kinds otherwise."""
    kind = member_of(ProbeKind, value)
    if kind is None:
        allowed = ", ".join(k.value for k in ProbeKind)
        raise InvalidInput(f"Unknown probe kind {value!r}; use one of: {allowed}.", "kind")
    return kind


def _enum(enum_class: type[Any], allowed: Iterable[str]) -> Callable[[Any, str], Any]:
    choices = tuple(allowed)

    def parse(value: object, field: str) -> Any:
        if value not in choices:
            raise InvalidInput(f"{field} must be one of {', '.join(choices)}.", field)
        return enum_class(value)
    return parse


def _whole(low: int, high: int, unit: str = "", empty: Any = ...) -> Callable[[Any, str], Any]:
    """A whole-number field; `empty` is what a blank value means (none given: blank is refused)."""
    def parse(value: object, field: str) -> Any:
        if empty is not ... and value in (None, ""):
            return empty
        return parse_int(value, field, low, high, unit)
    return parse


# How each common field is read (the interval's limits depend on the kind: see _settings).
PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "name": lambda value, _field: clean_name(value),
    "retry_interval_seconds": _whole(*RETRY_LIMITS, "seconds"),
    "timeout_seconds": lambda value, field: parse_number(value, field, *TIMEOUT_LIMITS, "seconds"),
    "latency_threshold_ms": _whole(1, 600_000, "ms", empty=None),
    "failures_to_outage": _whole(1, 100),
    "successes_to_recover": _whole(1, 100),
    "slow_to_degrade": _whole(1, 100),
    "failure_rate_window": _whole(2, 100, "checks"),
    "failure_rate_threshold": lambda value, field: parse_number(value, field, 0.01, 1.0),
    "outage_status": _enum(ComponentStatus, OUTAGE_STATUSES),
    "auto_incident": _enum(AutoIncident, (a.value for a in AutoIncident)),
    "publish_after_minutes": _whole(0, MINUTES_LIMIT, "minutes", empty=0),
    "auto_resolve_minutes": _whole(1, MINUTES_LIMIT, "minutes", empty=None),
    "paused": lambda value, field: parse_bool(value, field),
}


def _settings(values: dict[str, Any], kind: ProbeKind, probe: Probe) -> dict[str, Any]:
    """The common fields given in `values`, validated against the probe they will be part of."""
    clean = {field: parse(values[field], field) for field, parse in PARSERS.items() if field in values}
    if "interval_seconds" in values:
        low, high = HEARTBEAT_INTERVAL_LIMITS if kind == ProbeKind.HEARTBEAT else INTERVAL_LIMITS
        clean["interval_seconds"] = parse_int(values["interval_seconds"], "interval_seconds", low, high, "seconds")
    if CHECKERS[kind].pushed:
        return clean
    interval = clean.get("interval_seconds", probe.interval_seconds)
    if clean.get("timeout_seconds", probe.timeout_seconds) > interval:
        raise InvalidInput("timeout_seconds must not be longer than interval_seconds.", "timeout_seconds")
    if clean.get("retry_interval_seconds", probe.retry_interval_seconds) > interval:
        raise InvalidInput("retry_interval_seconds must not be longer than interval_seconds.",
                           "retry_interval_seconds")
    return clean


def _check_fields_apply(values: dict[str, Any], kind: ProbeKind) -> None:
    unknown = sorted(set(values) - FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown probe field(s): {', '.join(unknown)}.", unknown[0])
    own = set(CHECKERS[kind].options)
    for field in sorted(OPTION_FIELDS - own):
        if values.get(field) not in (None, "", [], {}):
            raise InvalidInput(f"{field} does not apply to {kind.value} probes.", field)


def _target(values: dict[str, Any], kind: ProbeKind, policy: Policy) -> str | None:
    """The cleaned target; an IP address the guard refuses is refused now, not only at every check."""
    checker = CHECKERS[kind]
    if not checker.needs_target:
        if values.get("target") not in (None, ""):
            raise InvalidInput(f"{kind.value} probes have no target: they are called at their URL.", "target")
        return None
    if values.get("target") in (None, ""):
        raise InvalidInput("target is required for this kind of probe.", "target")
    target = checker.clean_target(values["target"])
    host = checker.connects_to(target)
    reason = literal_refusal(host, policy) if host else None
    if reason:
        raise InvalidInput(f"This target is refused: {reason}.", "target")
    return target


def _own_options(values: dict[str, Any], kind: ProbeKind) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in CHECKERS[kind].options}


def _options(values: dict[str, Any], kind: ProbeKind, current: dict[str, Any]) -> dict[str, Any]:
    """The probe's options after `values`: the kind's own, then the shared ones."""
    options = CHECKERS[kind].clean_options(_own_options(values, kind), current)
    if "public_chart" in values:
        shown = parse_bool(values["public_chart"], "public_chart")
        if shown and CHECKERS[kind].pushed:
            raise InvalidInput(f"{kind.value} probes are called, not timed: they have no response times "
                               "to chart.", "public_chart")
        options["public_chart"] = shown
    return options


# --- lookups -------------------------------------------------------------------------------------


def get_probe(session: Session, code: str) -> Probe:
    """The probe with this public id, or NotFound."""
    probe = session.scalars(select(Probe).where(Probe.code == code)).first()
    if probe is None:
        raise NotFound(f"No probe with id {code!r}.", "probe_id")
    return probe


def list_probes(session: Session, component: Component | None = None) -> list[Probe]:
    """Probes (of one component, or all) in a stable order."""
    query = select(Probe).order_by(Probe.component_id, Probe.name, Probe.id)
    if component is not None:
        query = query.where(Probe.component_id == component.id)
    return list(session.scalars(query))


def recent_checks(session: Session, probe: Probe, limit: int = 50, offset: int = 0) -> list[Check]:
    """A probe's newest checks, newest first."""
    return list(session.scalars(select(Check).where(Check.probe_id == probe.id)
                                .order_by(Check.at.desc(), Check.id.desc()).limit(limit).offset(offset)))


def recent_checks_by_probe(
    session: Session, probe_ids: Iterable[int], per_probe: int = 10
) -> dict[int, list[Check]]:
    """The newest checks of many probes in one query (admin list)."""
    ids = list(probe_ids)
    if not ids:
        return {}
    rank = func.row_number().over(partition_by=Check.probe_id, order_by=(Check.at.desc(), Check.id.desc()))
    inner = select(Check.id, rank.label("rank")).where(Check.probe_id.in_(ids)).subquery()
    rows = session.scalars(select(Check).join(inner, inner.c.id == Check.id).where(inner.c.rank <= per_probe)
                           .order_by(Check.probe_id, Check.at.desc(), Check.id.desc()))
    result: dict[int, list[Check]] = {i: [] for i in ids}
    for check in rows:
        result[check.probe_id].append(check)
    return result


def probe_by_token(session: Session, kind: ProbeKind, token: str) -> Probe | None:
    """The push probe of this kind with this secret token, or None."""
    if not token or len(token) > 64:
        return None
    return session.scalars(select(Probe).where(Probe.token == token, Probe.kind == kind.value)).first()


def push_url(probe: Probe, base_url: str) -> str | None:
    """The URL a job or Alertmanager calls, with the probe's token inside (push kinds only)."""
    path = PUSH_PATHS.get(ProbeKind(probe.kind))
    return f"{base_url}{path}{probe.token}" if path and probe.token else None


# --- changes -------------------------------------------------------------------------------------


def _first_run(kind: ProbeKind, interval: int, options: dict[str, Any], now: datetime) -> datetime:
    if kind == ProbeKind.HEARTBEAT:
        return now + timedelta(seconds=interval + grace(options))
    # Spread new probes over their first interval so that many created at once do not fire together.
    return now + timedelta(seconds=random.uniform(0, min(interval, 60)))


def create_probe(session: Session, actor: Actor, values: dict[str, Any], now: datetime,
                 policy: Policy | None = None) -> Probe:
    """Create a probe from API or form values; nothing is written unless all are valid.

    `policy` is the operator's address guard (the default one when None): a
    target that is a refused IP address is refused here.
    """
    kind = parse_kind(values.get("kind"))
    _check_fields_apply(values, kind)
    if "name" not in values:
        raise InvalidInput("Name is required.", "name")
    if not isinstance(values.get("component_id"), str) or not values["component_id"]:
        raise InvalidInput("component_id is required.", "component_id")
    component = get_component(session, values["component_id"])
    target = _target(values, kind, policy or Policy())
    settings = _settings(values, kind, Probe(**DEFAULTS))
    if "retry_interval_seconds" not in settings:  # a longer interval keeps the default retry; a shorter one caps it
        settings["retry_interval_seconds"] = min(DEFAULTS["retry_interval_seconds"],
                                                 settings.get("interval_seconds", DEFAULTS["interval_seconds"]))
    options = _options(values, kind, {})
    probe = Probe(component=component, component_id=component.id, kind=kind, target=target, options=options,
                  **DEFAULTS, state=ProbeState.UNKNOWN, verdict=ComponentStatus.OPERATIONAL, consecutive_failures=0,
                  consecutive_successes=0, consecutive_slow=0, created_at=now, updated_at=now)
    for key, value in settings.items():
        setattr(probe, key, value)
    probe.token = secrets.token_urlsafe(24) if CHECKERS[kind].pushed else None
    probe.next_run_at = _first_run(kind, probe.interval_seconds, options, now)
    session.add(probe)
    session.flush()
    if _charted(probe):
        bump_version(session)  # the public page shows its chart
    audit.record(session, actor, "probe.create", "probe", probe.code,
                 {"name": probe.name, "kind": kind.value, "component": component.code})
    return probe


def _charted(probe: Probe) -> bool:
    """Whether the public page shows this probe's response times (so changing it changes the page)."""
    return bool((probe.options or {}).get("public_chart"))


def _reset(probe: Probe) -> None:
    probe.verdict = ComponentStatus.OPERATIONAL
    probe.state = ProbeState.UNKNOWN
    probe.consecutive_failures = probe.consecutive_successes = probe.consecutive_slow = 0
    probe.first_failure_at = None


def _release(session: Session, code: str, components: list[Component], why: str, now: datetime) -> None:
    """After a probe stops counting for components it held down, let each follow its other probes."""
    if components:
        session.flush()
    for component in components:
        follow_probes(session, component, at=now, cause=f"probe {code} {why}")


def _held_down(session: Session, probe: Probe) -> list[Component]:
    """The components this probe holds down: its own when its verdict is not operational, and every
    component an alert it has firing names (alerts may name any component)."""
    ids = {probe.component_id} if probe.verdict != ComponentStatus.OPERATIONAL else set()
    ids |= {a["component_id"] for a in ((probe.options or {}).get("firing") or {}).values()}
    if not ids:
        return []
    return list(session.scalars(select(Component).where(Component.id.in_(ids)).order_by(Component.id)))


def update_probe(session: Session, actor: Actor, probe: Probe, values: dict[str, Any], now: datetime,
                 policy: Policy | None = None) -> Probe:
    """Change any of a probe's settings; all are validated before any is written (see create_probe)."""
    kind = ProbeKind(probe.kind)
    if "kind" in values and parse_kind(values["kind"]) != kind:
        raise InvalidInput("A probe's kind cannot change; create a new probe instead.", "kind")
    _check_fields_apply(values, kind)
    component = probe.component
    if "component_id" in values:
        if not isinstance(values["component_id"], str) or not values["component_id"]:
            raise InvalidInput("component_id must be a component id.", "component_id")
        component = get_component(session, values["component_id"])
    target = _target(values, kind, policy or Policy()) if "target" in values else probe.target
    settings = _settings(values, kind, probe)
    options = _options(values, kind, dict(probe.options or {}))

    held, charted = _held_down(session, probe), _charted(probe)
    moved = component.id != probe.component_id
    pausing = settings.get("paused") is True and not probe.paused
    resuming = settings.get("paused") is False and probe.paused
    for key, value in settings.items():
        setattr(probe, key, value)
    probe.target, probe.options, probe.updated_at = target, options, now
    if moved:
        probe.component, probe.component_id = component, component.id
    if moved or pausing or resuming:
        _reset(probe)
    if resuming or "interval_seconds" in settings:
        probe.next_run_at = min(probe.next_run_at, now + timedelta(seconds=probe.interval_seconds))
    audit.record(session, actor, "probe.update", "probe", probe.code,
                 {k: (v.value if hasattr(v, "value") else v) for k, v in settings.items()})
    if charted or _charted(probe):
        bump_version(session)  # the public chart appears, moves, goes or changes its name
    if moved or pausing:
        _release(session, probe.code, held, "moved" if moved else "paused", now)
    return probe


def delete_probe(session: Session, actor: Actor, probe: Probe, now: datetime) -> None:
    """Delete a probe and its checks; its component then follows its other probes."""
    held, code = _held_down(session, probe), probe.code
    audit.record(session, actor, "probe.delete", "probe", code, {"name": probe.name})
    if _charted(probe):
        bump_version(session)
    session.delete(probe)
    _release(session, code, held, "deleted", now)


def new_token(session: Session, actor: Actor, probe: Probe) -> Probe:
    """Replace a push probe's token (the old URL stops working at once)."""
    if not CHECKERS[ProbeKind(probe.kind)].pushed:
        raise InvalidInput("Only heartbeat and alertmanager probes have a token.", "token")
    probe.token = secrets.token_urlsafe(24)
    audit.record(session, actor, "probe.new_token", "probe", probe.code, {})
    return probe


# --- pushes and "check now" ----------------------------------------------------------------------


def record_ping(session: Session, probe: Probe, now: datetime) -> Check:
    """A heartbeat arrived: a good check, and the deadline moves to one period (+ grace) from now."""
    probe.last_ping_at = now
    probe.next_run_at = now + timedelta(seconds=probe.interval_seconds + grace(probe.options or {}))
    return apply_check(session, probe, passed(ProbeSpec.of(probe), None, "ping received"), now)


def receive_alerts(session: Session, probe: Probe, payload: object, now: datetime) -> list[Check]:
    """Apply an Alertmanager webhook: validate it all, record a check per alert, then set statuses."""
    alerts = parse_payload(session, probe, payload)
    firing = firing_after(probe, alerts, now)
    checks = {}
    for alert in alerts:
        active = alert.firing and status_for(alert, probe) is not None
        result = CheckResult(ok=not active, reason=(
            f"{alert.name} {'firing' if alert.firing else 'resolved'} on {alert.component.name} "
            f"(severity {alert.severity})"), detail={"fingerprint": alert.key, "severity": alert.severity,
                                                     "component": alert.component.code})
        checks[alert.component.id] = (alert.component, record_check(session, probe, result, now))
    probe.options = {**(probe.options or {}), "firing": firing}
    probe.state, probe.verdict = probe_state(firing)
    probe.updated_at = now
    for component, check in checks.values():
        since = [datetime.fromisoformat(a["since"]) for a in firing.values() if a["component_id"] == component.id]
        probe.first_failure_at = min(since) if since else None
        follow_probes(session, component, at=now, cause=f"probe {probe.code}, check {check.id}", probe=probe)
    starts = [datetime.fromisoformat(a["since"]) for a in firing.values()]
    probe.first_failure_at = min(starts) if starts else None
    return [check for _component, check in checks.values()]


def check_now(
    session: Session, actor: Actor, probe: Probe, *, policy: Policy, now: datetime, commit: Callable[[], None]
) -> Check:
    """Run one check at once and apply it through the worker's rules; returns the check.

    It runs inside a web request, so its deadline is at most
    CHECK_NOW_SECONDS, well under the request's own timeout: a target that
    hangs longer is a failed check that says so.

    1. Take the probe's lease (compare-and-set, as the worker does), so a
       check the worker is running is not run twice: Conflict if taken.
    2. Commit through the caller's `commit`, so no lock is held during the
       network call; run the check.
    3. Give the lease back and commit, whatever happened, so no later
       failure can keep it; then apply the result.
    """
    kind = ProbeKind(probe.kind)
    audit.record(session, actor, "probe.check_now", "probe", probe.code, {})
    if CHECKERS[kind].pushed:
        result = run_check(ProbeSpec.of(probe), now, policy)
        if kind == ProbeKind.HEARTBEAT and not result.ok:
            probe.next_run_at = now + timedelta(seconds=probe.interval_seconds)
        return apply_check(session, probe, result, now)
    spec, probe_id = ProbeSpec.of(probe), probe.id
    limit, configured = CHECK_NOW_SECONDS, spec.timeout_seconds
    capped = configured > limit
    if capped:
        spec = dataclasses.replace(spec, timeout_seconds=limit)
    lease = now + timedelta(seconds=spec.timeout_seconds) + LEASE_MARGIN
    taken = rows_matched(
        session,
        update(Probe).where(Probe.id == probe.id, or_(Probe.lease_until.is_(None), Probe.lease_until < now))
        .values(lease_until=lease).execution_options(synchronize_session=False),
    )
    if taken != 1:
        raise Conflict("A check of this probe is running right now; try again in a few seconds.", "probe_id")
    commit()
    try:
        result = run_check(spec, now, policy)
    finally:
        session.execute(update(Probe).where(Probe.id == probe_id, Probe.lease_until == lease)
                        .values(lease_until=None).execution_options(synchronize_session=False))
        commit()
    if capped and not result.ok and "timed out" in result.reason:
        result.reason = (f"{result.reason} (check now waits at most {limit:g} s; "
                         f"the worker waits the probe's {configured:g} s)")[:500]
    fresh = session.get(Probe, probe_id, populate_existing=True)
    if fresh is None:
        raise NotFound("The probe was deleted while it was being checked.", "probe_id")
    return apply_check(session, fresh, result, now)


def pin_component(session: Session, actor: Actor, component: Component, pinned: object, now: datetime) -> None:
    """Pin a component (probes then only record) or unpin it (it follows its probes again at once)."""
    pinned = parse_bool(pinned, "pinned")
    if pinned == component.pinned:
        return
    component.pinned = pinned
    audit.record(session, actor, "component.pin" if pinned else "component.unpin", "component", component.code,
                 {"name": component.name})
    if not pinned:
        session.flush()
        follow_probes(session, component, at=now, cause=f"probes (unpinned by {actor.label})")
