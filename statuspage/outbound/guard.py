"""The address guard: which addresses outbound calls (probes, webhooks) may reach.

Every call in this package has a deadline, a response-size cap and this guard:
link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10,
fd00:ec2::254, and names that resolve there) are refused unless the
operator allows them; private networks are allowed unless denied. The
guard runs on the address we actually connect to, for every redirect hop,
so a name that changes its answer between check and connect gains nothing.
Failures raise one typed error, `OutboundError`, whose message is fit to
show a responder as a check's reason.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Any

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA = (ipaddress.ip_address("fd00:ec2::254"),)
SHARED = ipaddress.ip_network("100.64.0.0/10")
# NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use) and IPv4-compatible ::a.b.c.d: the last 32 bits
# are an IPv4 address that a gateway may connect to.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
COMPATIBLE = ipaddress.ip_network("::/96")


class OutboundError(Exception):
    """A network call failed or was refused; `message` reads well as a check's reason."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # True when retrying cannot help (refused address, bad URL), as transports need to know.
        self.permanent = permanent


@dataclass(frozen=True)
class Policy:
    """What outbound calls may reach and how much they may read."""

    allow_link_local: bool = False
    deny_private: bool = False
    max_bytes: int = 1_048_576
    max_redirects: int = 5
    # A PEM bundle of the CAs to trust (internal services); None means the public ones.
    ca_bundle: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        """The policy the operator configured (STATUSPAGE_PROBE_*)."""
        return cls(
            allow_link_local=settings.probe_allow_link_local,
            deny_private=settings.probe_deny_private,
            max_bytes=settings.probe_max_bytes,
            ca_bundle=settings.probe_ca_bundle,
        )



def _unwrap(ip: IP) -> IP:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, IPv4-compatible), else `ip`.

    A NAT64 gateway turns 64:ff9b::a9fe:a9fe into 169.254.169.254, so the
    guard must judge the IPv4 address inside, not the IPv6 wrapper.
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in NAT64) or (ip in COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def refusal(ip: IP, policy: Policy) -> str | None:
    """Why connecting to `ip` is not allowed, or None when it is."""
    wrapped = ip
    ip = _unwrap(ip)
    if ip is not wrapped:
        reason = refusal(ip, policy)
        return f"{wrapped} carries {reason}" if reason else None
    if ip.is_multicast or (isinstance(ip, ipaddress.IPv4Address) and ip == ipaddress.IPv4Address(
            "255.255.255.255")):
        return f"{ip} is not a unicast address"
    if not policy.allow_link_local and (ip in METADATA or any(ip in net for net in LINK_LOCAL)):
        return (f"{ip} is a link-local or cloud-metadata address "
                "(an operator can allow it with STATUSPAGE_PROBE_ALLOW_LINK_LOCAL=true)")
    private = (ip.is_private or ip.is_loopback or ip.is_unspecified or ip.is_reserved
               or (isinstance(ip, ipaddress.IPv4Address) and ip in SHARED))
    if policy.deny_private and private:
        return f"{ip} is a private address (STATUSPAGE_PROBE_DENY_PRIVATE is set)"
    return None


def check_address(address: str, policy: Policy) -> None:
    """Raise OutboundError if the policy refuses this IP address."""
    reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]), policy)
    if reason:
        raise OutboundError(f"refused: {reason}", permanent=True)


def _literal_ip(host: str) -> IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def literal_refusal(host: str, policy: Policy) -> str | None:
    """Why `host` is refused when it is an IP address the policy forbids; None for names (judged when
    resolved, at every connect) and allowed addresses."""
    literal = _literal_ip(host)
    return refusal(literal, policy) if literal is not None else None


def resolve(host: str, timeout: float, port: int | None = None) -> list[str]:
    """The addresses a name resolves to, within `timeout` seconds (no guard: DNS probes only look)."""
    literal = _literal_ip(host)
    if literal is not None:
        return [str(literal)]
    try:
        host.encode("idna")
    except UnicodeError:
        raise OutboundError(f"invalid host name {host!r}", permanent=True) from None
    box: dict[str, Any] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            box["error"] = exc

    # getaddrinfo cannot be interrupted; a helper thread lets us give up on time.
    thread = threading.Thread(target=lookup, name="outbound-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise OutboundError(f"DNS lookup for {host} timed out after {timeout:g} s")
    if "error" in box:
        error = box["error"]
        detail = error.strerror if isinstance(error, socket.gaierror) and error.strerror else str(error)
        raise OutboundError(f"DNS lookup for {host} failed: {detail}")
    addresses = list(dict.fromkeys(info[4][0] for info in box["infos"]))
    if not addresses:
        raise OutboundError(f"DNS lookup for {host} returned no addresses")
    return addresses


def guarded_addresses(host: str, port: int | None, policy: Policy, timeout: float) -> list[str]:
    """Resolve `host` and refuse it if any answer is forbidden (a name must not reach metadata at all)."""
    addresses = resolve(host, timeout, port)
    for address in addresses:
        try:
            check_address(address, policy)
        except OutboundError as exc:
            if _literal_ip(host) is None:
                raise OutboundError(f"refused: {host} resolves to {exc.message.removeprefix('refused: ')}",
                                    permanent=True) from None
            raise
    return addresses
