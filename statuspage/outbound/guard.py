"""The address guard: which addresses outbound calls (probes, webhooks) may reach.

Every call in this package has a deadline, a response-size cap and this guard.
Two policies: targets responders choose (probes) may be private, but
link-local and cloud-metadata addresses (169.254.0.0/16, fe80::/10,
fd00:ec2::254, and names that resolve there) are refused unless the
operator allows them; targets strangers choose (public webhook sign-ups)
must be public addresses unless STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE is set.
Every IPv4 address an IPv6 address can carry is judged too. The guard runs
on the address we actually connect to, for every redirect hop, so a name
that changes its answer between check and connect gains nothing.
Failures raise one typed error, `OutboundError`, whose message is fit to
show a responder as a check's reason.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from typing import Any

from statuspage.config import Settings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
METADATA = (ipaddress.ip_address("fd00:ec2::254"),)
SHARED = ipaddress.ip_network("100.64.0.0/10")
# NAT64 (RFC 6052): the well-known 64:ff9b::/96 and the local-use 64:ff9b:1::/48 (RFC 8215), whose operators
# pick a prefix of 32 to 96 bits; every length is decoded, since we cannot know which one a gateway uses.
NAT64 = ipaddress.ip_network("64:ff9b::/32")
NAT64_LENGTHS = (32, 40, 48, 56, 64, 96)
# SIIT's IPv4-translated ::ffff:0:a.b.c.d (RFC 2765) and IPv4-compatible ::a.b.c.d.
TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
COMPATIBLE = ipaddress.ip_network("::/96")
# Prefixes whose whole meaning is "this IPv4 address": judged by the address inside, not as private themselves.
TRANSLATORS = tuple(ipaddress.ip_network(n) for n in (
    "::ffff:0:0/96", "::ffff:0:0:0/96", "::/96", "64:ff9b::/96", "2002::/16", "2001::/32"))
# ISATAP interface identifiers: ...:0:5efe:a.b.c.d and ...:200:5efe:a.b.c.d.
ISATAP_MARKS = (0x00005EFE, 0x02005EFE)


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
    # What a refusal tells the reader about the setting that decides it (stripped before the public sees it).
    link_local_hint: str = "an operator can allow it with STATUSPAGE_PROBE_ALLOW_LINK_LOCAL=true"
    private_hint: str = "STATUSPAGE_PROBE_DENY_PRIVATE is set"

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy the operator configured (STATUSPAGE_PROBE_*)."""
        return cls(
            allow_link_local=settings.probe_allow_link_local,
            deny_private=settings.probe_deny_private,
            max_bytes=settings.probe_max_bytes,
            ca_bundle=settings.probe_ca_bundle,
        )

    @classmethod
    def for_subscribers(cls, settings: Settings | None = None) -> Policy:
        """Targets that strangers choose (public webhook sign-ups): public addresses only, never
        link-local or metadata; private and loopback only with STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE
        (no settings: the default, public only)."""
        return cls(
            allow_link_local=False,
            deny_private=not (settings is not None and settings.subscriber_allow_private),
            max_bytes=settings.probe_max_bytes if settings is not None else cls.max_bytes,
            link_local_hint="an operator can allow it for probes only",
            private_hint="an operator can allow it with STATUSPAGE_SUBSCRIBER_ALLOW_PRIVATE=true",
        )



def _nat64_ipv4(ip: ipaddress.IPv6Address, length: int) -> ipaddress.IPv4Address | None:
    """The IPv4 address RFC 6052 places after a `length`-bit prefix, or None when the address is not
    of that form (bits 64-71 and the suffix after the IPv4 address must be zero)."""
    bits = f"{int(ip):0128b}"
    if length < 96 and "1" in bits[64:72]:
        return None
    after = bits[length:64] + bits[72:] if length <= 64 else bits[length:]
    if "1" in after[32:]:
        return None
    return ipaddress.IPv4Address(int(after[:32], 2))


def embedded(ip: IP) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address may carry to a gateway: mapped, translated, compatible,
    NAT64 at every prefix length, 6to4, Teredo (server and client), ISATAP.

    A NAT64 gateway turns 64:ff9b::a9fe:a9fe into 169.254.169.254, so the
    guard must judge the IPv4 address inside as well as the IPv6 wrapper.
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    last32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in TRANSLATED or (ip in COMPATIBLE and int(ip) > 1):
        found.append(last32)
    if ip in NAT64:
        found += [v4 for length in NAT64_LENGTHS if (v4 := _nat64_ipv4(ip, length)) is not None]
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found += list(ip.teredo)
    if (int(ip) >> 32) & 0xFFFFFFFF in ISATAP_MARKS:
        found.append(last32)
    return list(dict.fromkeys(found))


def _is_private(ip: IP) -> bool:
    """Loopback, private, unique-local, site-local, CGNAT, reserved, unspecified: anything not global."""
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_unspecified or ip.is_reserved
            or (isinstance(ip, ipaddress.IPv4Address) and ip in SHARED)
            or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local))


def _own_refusal(ip: IP, policy: Policy, judge_private: bool = True) -> str | None:
    if ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        return f"{ip} is not a unicast address"
    if not policy.allow_link_local and (ip in METADATA or any(ip in net for net in LINK_LOCAL)):
        return f"{ip} is a link-local or cloud-metadata address ({policy.link_local_hint})"
    if policy.deny_private and judge_private and _is_private(ip):
        return f"{ip} is a private address ({policy.private_hint})"
    return None


def refusal(ip: IP, policy: Policy) -> str | None:
    """Why connecting to `ip` is not allowed, or None when it is: the IPv4 addresses it carries are
    judged first, then the address itself."""
    inner = embedded(ip)
    for address in inner:
        reason = _own_refusal(address, policy)
        if reason:
            return f"{ip} carries {reason}"
    translator = bool(inner) and any(ip in net for net in TRANSLATORS)
    return _own_refusal(ip, policy, judge_private=not translator)


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
