"""Heartbeat probes: a job calls our URL every period; silence past period + grace is a failure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from statuspage.models import ProbeKind
from statuspage.probes.base import Checker, CheckResult, ProbeSpec, failed, passed
from statuspage.probes.fields import parse_int

DEFAULT_GRACE = 60


def grace(options: dict[str, Any]) -> int:
    """Seconds of silence tolerated after each period."""
    return int(options.get("grace_seconds", DEFAULT_GRACE))


def deadline(spec: ProbeSpec) -> datetime:
    """When the next ping is due at the latest, counted from the last ping (or creation)."""
    since = spec.last_ping_at or spec.created_at
    return since + timedelta(seconds=spec.interval_seconds + grace(spec.options))


class HeartbeatChecker(Checker):
    """Judges the pings received: the worker runs it when the deadline has passed."""

    kind = ProbeKind.HEARTBEAT
    options = {"grace_seconds": DEFAULT_GRACE}
    needs_target = False
    pushed = True

    @classmethod
    def clean_target(cls, value: object) -> None:
        return None

    @classmethod
    def clean_options(cls, values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        options = {**cls.options, **current}
        if "grace_seconds" in values:
            options["grace_seconds"] = parse_int(values["grace_seconds"], "grace_seconds", 0, 86_400, "seconds")
        return options

    def run(self, probe: ProbeSpec, now: datetime) -> CheckResult:
        due = deadline(probe)
        if now <= due:
            last = probe.last_ping_at.isoformat(timespec="seconds") if probe.last_ping_at else "none yet"
            return passed(probe, None, f"on time (last ping: {last})")
        last = probe.last_ping_at.strftime("%Y-%m-%d %H:%M:%S UTC") if probe.last_ping_at else "never"
        return failed(f"no ping within {probe.interval_seconds} s + {grace(probe.options)} s grace "
                      f"(last ping: {last})")
