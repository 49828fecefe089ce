"""DNS probes: does a name resolve (optionally to the addresses we expect)."""

from __future__ import annotations

import ipaddress
import time
from datetime import datetime
from typing import Any

from statuspage.errors import InvalidInput
from statuspage.models import ProbeKind
from statuspage.outbound.guard import OutboundError, resolve
from statuspage.probes.base import Checker, CheckResult, ProbeSpec, failed, passed
from statuspage.probes.fields import clean_host, parse_text


def _parse_expect(value: object) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list) or len(value) > 20:
        raise InvalidInput("expect must be a list of up to 20 IP addresses.", "expect")
    addresses = []
    for item in value:
        try:
            addresses.append(str(ipaddress.ip_address(parse_text(item, "expect", 64))))
        except ValueError:
            raise InvalidInput(f"{item!r} is not an IP address.", "expect") from None
    return sorted(set(addresses))


class DnsChecker(Checker):
    """Resolve a name through the system resolver; with `expect`, one of those addresses must be among
    the answers."""

    kind = ProbeKind.DNS
    options = {"expect": []}

    @classmethod
    def clean_target(cls, value: object) -> str:
        return clean_host(parse_text(value, "target", 253, required=True))

    @classmethod
    def clean_options(cls, values: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        options = {**cls.options, **current}
        if "expect" in values:
            options["expect"] = _parse_expect(values["expect"])
        return options

    def run(self, probe: ProbeSpec, now: datetime) -> CheckResult:
        started = time.perf_counter()
        try:
            answers = resolve(probe.target or "", probe.timeout_seconds)
        except OutboundError as exc:
            return failed(exc.message)
        latency = (time.perf_counter() - started) * 1000
        expected = set(probe.options.get("expect") or [])
        if expected and not expected & set(answers):
            return failed(f"resolved to {', '.join(answers[:5])}, expected {', '.join(sorted(expected))}",
                          latency, answers=answers[:20])
        return passed(probe, latency, f"resolved to {', '.join(answers[:5])}", answers=answers[:20])
