"""How checks become component status: streaks, hysteresis, combining probes, pinning.

A change is a row: every status change a probe causes goes through
`components.set_status` with the cause "probe <code>, check <id>", so the
history, uptime, timeline and notifications all see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.components.probe_verdicts import follow_verdicts
from statuspage.components.status_rules import OUTAGES
from statuspage.models import Check, Component, ComponentStatus, Probe, ProbeKind, ProbeState, StatusChange
from statuspage.outbox import alerts
from statuspage.probes.base import CheckResult
from statuspage.probes.drafts import after_status_change


def record_check(session: Session, probe: Probe, result: CheckResult, at: datetime) -> Check:
    """Append one check row (flushed, so its id can name the cause of a change)."""
    check = Check(probe_id=probe.id, at=at, ok=result.ok, slow=bool(result.ok and result.slow),
                  latency_ms=result.latency_ms, reason=(result.reason or "")[:500], detail=result.detail or {})
    session.add(check)
    session.flush()
    probe.last_check_at = at
    probe.state = ProbeState.DOWN if not result.ok else ProbeState.SLOW if result.slow else ProbeState.UP
    return check


def count(probe: Probe, result: CheckResult, at: datetime) -> None:
    """Move the streaks. A failed check also counts as slow: it is at least as bad."""
    good = result.ok and not result.slow
    if good:
        probe.consecutive_successes += 1
        probe.consecutive_failures = 0
        probe.consecutive_slow = 0
    else:
        probe.consecutive_successes = 0
        probe.consecutive_slow += 1
        probe.consecutive_failures = 0 if result.ok else probe.consecutive_failures + 1
        if probe.first_failure_at is None:
            probe.first_failure_at = at


def next_verdict(probe: Probe, result: CheckResult, rate_tripped: bool, recent_all_ok: bool) -> ComponentStatus:
    """The status this probe asks of its component after this check (hysteresis).

    1. A failed check that makes N failures in a row, or that brings the
       failure rate over the last K checks to the threshold, is an outage
       (the probe's `outage_status`).
    2. In an outage the verdict holds until M good checks in a row bring it
       back to operational; M checks without a failure but still slow
       bring it to degraded performance.
    3. S slow (or failed) checks in a row are degraded performance.
    4. Degraded performance holds until M good checks in a row.
    """
    current = ComponentStatus(probe.verdict)
    recovered = probe.consecutive_successes >= probe.successes_to_recover
    if not result.ok and (probe.consecutive_failures >= probe.failures_to_outage or rate_tripped):
        return ComponentStatus(probe.outage_status)
    if current in OUTAGES:
        if recovered:
            return ComponentStatus.OPERATIONAL
        if result.ok and recent_all_ok:
            return ComponentStatus.DEGRADED_PERFORMANCE
        return current
    if probe.consecutive_slow >= probe.slow_to_degrade:
        return ComponentStatus.DEGRADED_PERFORMANCE
    if current == ComponentStatus.DEGRADED_PERFORMANCE and not recovered:
        return current
    return ComponentStatus.OPERATIONAL


def _recent_oks(session: Session, probe: Probe, limit: int) -> list[bool]:
    return list(session.scalars(
        select(Check.ok).where(Check.probe_id == probe.id)
        .order_by(Check.at.desc(), Check.id.desc()).limit(limit)
    ))


def failure_rate_tripped(session: Session, probe: Probe) -> datetime | None:
    """When the last K checks are full and failed at least at the threshold rate: the time of the earliest
    failed check among them (where the trouble started); otherwise None."""
    window = session.execute(
        select(Check.ok, Check.at).where(Check.probe_id == probe.id)
        .order_by(Check.at.desc(), Check.id.desc()).limit(probe.failure_rate_window)
    ).all()
    failures: list[datetime] = [row.at for row in window if not row.ok]
    if len(window) < probe.failure_rate_window or len(failures) / len(window) < probe.failure_rate_threshold:
        return None
    return min(failures)


def apply_check(session: Session, probe: Probe, result: CheckResult, at: datetime) -> Check:
    """Record one check and apply it: streaks, the probe's verdict and, on a change, its component."""
    check = record_check(session, probe, result, at)
    if probe.kind == ProbeKind.ALERTMANAGER:
        return check  # alerts set their verdicts themselves (see probes.alertmanager)
    count(probe, result, at)
    rate_since = failure_rate_tripped(session, probe) if not result.ok else None
    rate = rate_since is not None
    all_ok = False
    if result.ok and result.slow and probe.verdict in OUTAGES:
        oks = _recent_oks(session, probe, probe.successes_to_recover)
        all_ok = len(oks) >= probe.successes_to_recover and all(oks)
    verdict = next_verdict(probe, result, rate, all_ok)
    if verdict == ComponentStatus.OPERATIONAL and result.ok and not result.slow:
        probe.first_failure_at = None
    if rate_since is not None and verdict in OUTAGES and probe.verdict not in OUTAGES:
        # Good checks between the failures cleared the streak's start; the outage began with the
        # earliest failure of the window that tripped the rate.
        probe.first_failure_at = min(rate_since, probe.first_failure_at or rate_since)
    if verdict != probe.verdict:
        probe.verdict = verdict
        follow_probes(session, probe.component, at=at, cause=f"probe {probe.code}, check {check.id}",
                      probe=probe)
    return check


def follow_probes(
    session: Session, component: Component, *, at: datetime, cause: str, probe: Probe | None = None
) -> StatusChange | None:
    """Set the component to what its probes ask (components.probe_verdicts), then open or follow up
    an incident as the probe's `auto_incident` says."""
    followed = follow_verdicts(session, component, at=at, cause=cause, alert=False)
    if followed is None:
        return None
    before, change = followed
    told = after_status_change(session, component, before, ComponentStatus(change.to_status), probe=probe, at=at)
    # A route that hears of the outage through the draft (or the incident) is not paged for the move as well.
    alerts.component_changed(session, change, covered_by=told)
    return change
