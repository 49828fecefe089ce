"""Alert webhooks: Prometheus Alertmanager's webhook JSON (version "4") sets component status.

Mapping (documented in docs/probes.md): an alert names its component with
the `component` label (a component id or name); `severity` critical →
major outage, warning → the probe's `warning_status` (degraded
performance by default, or partial outage), info/none → recorded only.
A firing alert applies at once and a resolved one recovers at once:
Alertmanager has already waited (`for:`), so no hysteresis is added. The
firing set lives in the probe's options, keyed by fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage.components.status_rules import worst_status
from statuspage.errors import InvalidInput
from statuspage.models import Component, ComponentStatus, Probe, ProbeKind, ProbeState
from statuspage.probes.base import Checker, CheckResult, ProbeSpec, failed, passed

SEVERITIES = ("critical", "warning", "info", "none")
WARNING_STATUSES = (ComponentStatus.DEGRADED_PERFORMANCE.value, ComponentStatus.PARTIAL_OUTAGE.value)
MAX_ALERTS = 1000
MAX_FIRING = 5000
_FRACTION = re.compile(r"\.(\d+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Alert:
    """One validated alert of a webhook payload."""

    key: str
    name: str
    firing: bool
    severity: str
    component: Component
    starts_at: datetime | None


def _parse_time(value: object, field: str) -> datetime | None:
    if value in (None, "") or value == "0001-01-01T00:00:00Z":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be an RFC 3339 time.", field)
    text = value.strip().replace("Z", "+00:00")
    fraction = _FRACTION.search(text)
    if fraction:  # Alertmanager sends nanoseconds; Python reads up to microseconds
        text = f"{text[:fraction.start()]}.{fraction.group(1)[:6].ljust(6, '0')}{text[fraction.end():]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} must be an RFC 3339 time, not {value[:40]!r}.", field) from None
    if when.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone.", field)
    return when.astimezone(UTC)


def _find_component(session: Session, value: str, field: str) -> Component:
    found = session.scalars(select(Component).where(Component.code == value)).first()
    if found is not None:
        return found
    named = list(session.scalars(select(Component).where(func.lower(Component.name) == value.lower())
                                 .limit(2)))
    if len(named) == 1:
        return named[0]
    if named:
        raise InvalidInput(f"Several components are named {value!r}; use the component id.", field)
    raise InvalidInput(f"No component has the id or name {value!r}.", field)


def parse_payload(session: Session, probe: Probe, payload: object) -> list[Alert]:
    """Validate a whole webhook body before anything is saved; raises InvalidInput with the field."""
    if not isinstance(payload, dict):
        raise InvalidInput("The body must be Alertmanager's webhook JSON object.")
    if payload.get("version") != "4":
        raise InvalidInput('version must be "4" (Alertmanager\'s webhook format).', "version")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise InvalidInput("alerts must be a non-empty list.", "alerts")
    if len(alerts) > MAX_ALERTS:
        raise InvalidInput(f"At most {MAX_ALERTS} alerts per call.", "alerts")
    matchers: dict[str, str] = (probe.options or {}).get("matchers") or {}
    parsed = []
    for index, raw in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(raw, dict):
            raise InvalidInput(f"{where} must be an object.", where)
        status = raw.get("status")
        if status not in ("firing", "resolved"):
            raise InvalidInput(f'{where}.status must be "firing" or "resolved".', f"{where}.status")
        labels = raw.get("labels")
        if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in labels.items()):
            raise InvalidInput(f"{where}.labels must be an object of strings.", f"{where}.labels")
        severity = labels.get("severity", "")
        if severity not in SEVERITIES:
            raise InvalidInput(f"{where}.labels.severity must be one of {', '.join(SEVERITIES)}.",
                               f"{where}.labels.severity")
        if "component" in labels:
            component = _find_component(session, labels["component"], f"{where}.labels.component")
        elif matchers and all(labels.get(k) == v for k, v in matchers.items()):
            component = probe.component
        else:
            raise InvalidInput(f"{where}.labels.component is required (a component id or name).",
                               f"{where}.labels.component")
        fingerprint = raw.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            fingerprint = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
        parsed.append(Alert(
            key=fingerprint[:64], name=_CONTROL.sub(" ", labels.get("alertname") or "alert").strip()[:200],
            firing=status == "firing", severity=severity, component=component,
            starts_at=_parse_time(raw.get("startsAt"), f"{where}.startsAt"),
        ))
    return parsed


def status_for(alert: Alert, probe: Probe) -> ComponentStatus | None:
    """The status a firing alert asks of its component (None for info)."""
    if alert.severity == "critical":
        return ComponentStatus.MAJOR_OUTAGE
    if alert.severity == "warning":
        return ComponentStatus((probe.options or {}).get("warning_status") or WARNING_STATUSES[0])
    return None


def firing_after(probe: Probe, alerts: list[Alert], now: datetime) -> dict[str, dict[str, Any]]:
    """The probe's firing set once these alerts are applied."""
    firing = dict((probe.options or {}).get("firing") or {})
    for alert in alerts:
        status = status_for(alert, probe)
        if alert.firing and status is not None:
            since = min(alert.starts_at or now, now)
            firing[alert.key] = {"component_id": alert.component.id, "status": status.value,
                                 "name": alert.name, "since": since.isoformat()}
        else:
            firing.pop(alert.key, None)
    if len(firing) > MAX_FIRING:
        raise InvalidInput(f"More than {MAX_FIRING} alerts would be firing at once.", "alerts")
    return firing


def probe_state(firing: dict[str, dict[str, Any]]) -> tuple[ProbeState, ComponentStatus]:
    """The probe's own state and verdict: the worst of everything it has firing."""
    statuses = [ComponentStatus(a["status"]) for a in firing.values()]
    if not statuses:
        return ProbeState.UP, ComponentStatus.OPERATIONAL
    worst = worst_status(statuses)
    state = ProbeState.DOWN if worst != ComponentStatus.DEGRADED_PERFORMANCE else ProbeState.SLOW
    return state, worst


class AlertmanagerChecker(Checker):
    """Judges the alerts received; "check now" reports what is firing."""

    kind = ProbeKind.ALERTMANAGER
    options = {"warning_status": WARNING_STATUSES[0], "matchers": {}}
    needs_target = False
    pushed = True

    @classmethod
    def clean_target(cls, value: object) -> None:
        return None

    @classmethod
    def clean_options(cls, values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        options = {**cls.options, **current}
        if "warning_status" in values:
            if values["warning_status"] not in WARNING_STATUSES:
                raise InvalidInput(f"warning_status must be one of {', '.join(WARNING_STATUSES)}.",
                                   "warning_status")
            options["warning_status"] = values["warning_status"]
        if "matchers" in values:
            matchers = values["matchers"] or {}
            if not isinstance(matchers, dict) or len(matchers) > 20 or not all(
                    isinstance(k, str) and isinstance(v, str) and k and len(k) <= 100 and len(v) <= 200
                    for k, v in matchers.items()):
                raise InvalidInput("matchers must be an object of up to 20 label names and values.",
                                   "matchers")
            options["matchers"] = dict(matchers)
        return options

    def run(self, probe: ProbeSpec, now: datetime) -> CheckResult:
        firing = probe.options.get("firing") or {}
        if not firing:
            return passed(probe, None, "no alerts firing")
        names = sorted({a.get("name", "alert") for a in firing.values()})
        return failed(f"{len(firing)} alert(s) firing: {', '.join(names)[:300]}")
