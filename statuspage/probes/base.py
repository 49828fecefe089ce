"""What every probe kind shares: the plain inputs a check needs, its result, and the tiny base class.

Threads run checks, and ORM objects must not cross threads, so the runner
copies a Probe row into a `ProbeSpec` before handing it to the pool and
gets a `CheckResult` back; only the worker loop writes to the database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from statuspage.models import Probe, ProbeKind
from statuspage.outbound.guard import Policy


@dataclass(frozen=True)
class ProbeSpec:
    """A read-only copy of what one check of a probe needs."""

    id: int
    code: str
    name: str
    kind: ProbeKind
    target: str | None
    options: dict[str, Any]
    interval_seconds: int
    timeout_seconds: float
    latency_threshold_ms: int | None
    created_at: datetime
    last_ping_at: datetime | None

    @classmethod
    def of(cls, probe: Probe) -> ProbeSpec:
        """Copy the fields of a loaded Probe row."""
        return cls(
            id=probe.id, code=probe.code, name=probe.name, kind=ProbeKind(probe.kind), target=probe.target,
            options=dict(probe.options or {}), interval_seconds=probe.interval_seconds,
            timeout_seconds=probe.timeout_seconds, latency_threshold_ms=probe.latency_threshold_ms,
            created_at=probe.created_at, last_ping_at=probe.last_ping_at,
        )


@dataclass
class CheckResult:
    """The outcome of one check: plain data a thread can return."""

    ok: bool
    slow: bool = False
    latency_ms: float | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def failed(reason: str, latency_ms: float | None = None, **detail: Any) -> CheckResult:
    """A failed check with its reason (cut to what the column holds)."""
    return CheckResult(ok=False, latency_ms=latency_ms, reason=reason[:500], detail=detail)


def passed(spec: ProbeSpec, latency_ms: float | None, reason: str = "ok", **detail: Any) -> CheckResult:
    """A good check, marked slow when it took longer than the probe's latency threshold."""
    threshold = spec.latency_threshold_ms
    slow = threshold is not None and latency_ms is not None and latency_ms > threshold
    if slow:
        reason = f"slow: {latency_ms:.0f} ms (threshold {threshold} ms)" + ("" if reason == "ok" else f"; {reason}")
    return CheckResult(ok=True, slow=slow, latency_ms=latency_ms, reason=reason[:500], detail=detail)


class Checker(ABC):
    """One probe kind: validates its target and options, and runs one check.

    `run` never raises for a failing target: every failure is a CheckResult
    with a reason. Kinds that are pushed to us (heartbeat, alertmanager)
    run by judging what was pushed.
    """

    kind: ClassVar[ProbeKind]
    # Probe fields stored in `Probe.options` for this kind, with their defaults.
    options: ClassVar[dict[str, Any]] = {}
    needs_target: ClassVar[bool] = True
    pushed: ClassVar[bool] = False

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    @classmethod
    @abstractmethod
    def clean_target(cls, value: object) -> str | None:
        """The target in its stored form; raises InvalidInput when malformed."""

    @classmethod
    def clean_options(cls, values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """The kind's options after applying `values` to `current`; raises InvalidInput."""
        return dict(current)

    @classmethod
    def connects_to(cls, target: str | None) -> str | None:
        """The host a check of this (cleaned) target connects to, for the address guard; None if none."""
        return None

    @abstractmethod
    def run(self, probe: ProbeSpec, now: datetime) -> CheckResult:
        """Run one check now."""
