"""TCP probes: can we open a connection to host:port, and how fast."""

from __future__ import annotations

from datetime import datetime

from statuspage.models import ProbeKind
from statuspage.outbound.guard import OutboundError
from statuspage.outbound.tcp import tcp_connect
from statuspage.probes.base import Checker, CheckResult, ProbeSpec, failed, passed
from statuspage.probes.fields import join_host_port, split_host_port


class TcpChecker(Checker):
    """Connect to host:port and close again; the latency is the connect time."""

    kind = ProbeKind.TCP

    @classmethod
    def clean_target(cls, value: object) -> str:
        return join_host_port(*split_host_port(value))

    @classmethod
    def connects_to(cls, target: str | None) -> str | None:
        return split_host_port(target)[0] if target else None

    def run(self, probe: ProbeSpec, now: datetime) -> CheckResult:
        host, port = split_host_port(probe.target)
        try:
            latency = tcp_connect(host, port, policy=self.policy, timeout=probe.timeout_seconds)
        except OutboundError as exc:
            return failed(exc.message)
        return passed(probe, latency)
