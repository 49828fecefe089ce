"""Probes: one module per kind, the rules that turn checks into status, the runner and the service.

`run_check` is the one way to run a check of any kind; it never raises.
"""

from __future__ import annotations

import logging
from datetime import datetime

from statuspage.models import ProbeKind
from statuspage.outbound.guard import Policy
from statuspage.probes.alertmanager import AlertmanagerChecker
from statuspage.probes.base import Checker, CheckResult, ProbeSpec, failed
from statuspage.probes.database import DatabaseChecker
from statuspage.probes.dns import DnsChecker
from statuspage.probes.heartbeat import HeartbeatChecker
from statuspage.probes.http import HttpChecker
from statuspage.probes.tcp import TcpChecker

log = logging.getLogger("statuspage.probes")

CHECKERS: dict[ProbeKind, type[Checker]] = {
    checker.kind: checker
    for checker in (HttpChecker, TcpChecker, DnsChecker, DatabaseChecker, HeartbeatChecker, AlertmanagerChecker)
}
# Kinds the worker runs on a schedule; the others are pushed to us.
SCHEDULED_KINDS = tuple(kind for kind, checker in CHECKERS.items() if not checker.pushed)


def run_check(spec: ProbeSpec, now: datetime, policy: Policy) -> CheckResult:
    """Run one check of any kind; a bug in a kind becomes a failed check, never a dead worker."""
    try:
        return CHECKERS[spec.kind](policy).run(spec, now)
    except Exception as exc:  # noqa: BLE001  (the worker must survive any target and any kind)
        log.exception("probe %s: check crashed", spec.code)
        return failed(f"the check itself failed ({type(exc).__name__}); see the worker log")


__all__ = ["CHECKERS", "SCHEDULED_KINDS", "CheckResult", "Checker", "ProbeSpec", "run_check"]
