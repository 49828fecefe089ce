"""The one choke point for probe network calls: timeouts, size cap, redirects, the address guard."""

from __future__ import annotations

import json
import socket
import time

import pytest

from statuspage.config import SettingError, Settings
from statuspage.outbound import guard
from statuspage.outbound.guard import OutboundError, Policy
from statuspage.outbound.http import http_request
from statuspage.outbound.tcp import tcp_connect
from tests.targets import closed_port

POLICY = Policy()


def fails(reason_part: str, *args, **kwargs) -> OutboundError:
    with pytest.raises(OutboundError) as info:
        http_request(*args, **{"policy": POLICY, "timeout": 2, **kwargs})
    assert reason_part in info.value.message
    return info.value


@pytest.fixture
def fake_dns(monkeypatch):
    """Names that resolve where a test says: one address, or a list (the resolver is the system's; only
    these names are faked)."""
    names: dict[str, str | list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            answers = names[host] if isinstance(names[host], list) else [names[host]]
            return [(socket.AF_INET6 if ":" in answer else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (answer, port or 0)) for answer in answers]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


# --- plain fetching --------------------------------------------------------------------------------


def test_it_fetches_a_page_with_its_status_body_and_time(http_target):
    response = http_request("GET", http_target.url("/ok"), policy=POLICY, timeout=2)
    assert response.status == 200
    assert response.body == b"all good: ok"
    assert response.elapsed_ms > 0
    assert response.redirects == []


def test_a_server_error_is_a_response_not_an_exception(http_target):
    assert http_request("GET", http_target.url("/status/503"), policy=POLICY, timeout=2).status == 503


def test_it_follows_redirects_up_to_the_limit_and_reports_the_hops(http_target):
    response = http_request("GET", http_target.url("/hops/3"), policy=POLICY, timeout=2, max_redirects=5)
    assert response.status == 200
    assert len(response.redirects) == 3
    assert response.url.endswith("/ok")


def test_a_redirect_loop_fails_after_the_limit(http_target):
    fails("too many redirects (more than 5)", "GET", http_target.url("/loop"))
    assert http_target.count("/loop") == 6


def test_a_redirect_to_another_host_drops_the_authorization_header(http_target):
    elsewhere = f"http://localhost:{http_target.port}/echo-headers"
    response = http_request("GET", http_target.url(f"/to?url={elsewhere}"), policy=POLICY, timeout=2,
                            headers={"Authorization": "Bearer secret", "X-Kept": "yes"})
    seen = json.loads(response.body)
    assert "Authorization" not in seen
    assert seen["X-Kept"] == "yes"


def test_only_http_and_https_urls_are_fetched():
    fails("only http and https", "GET", "ftp://example.com/file")
    fails("only http and https", "GET", "file:///etc/passwd")


# --- bounded time and size --------------------------------------------------------------------------


def test_a_target_that_never_answers_times_out_on_time(http_target):
    started = time.monotonic()
    fails("timed out after 0.5 s", "GET", http_target.url("/hang"), timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_a_target_that_drips_its_body_is_cut_at_the_deadline(http_target):
    started = time.monotonic()
    fails("timed out after 0.5 s", "GET", http_target.url("/drip"), timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_it_stops_reading_past_the_size_cap(http_target):
    error = fails("larger than 65,536 bytes", "GET", http_target.url("/huge"), policy=Policy(max_bytes=65536))
    assert not error.permanent


def test_connection_refused_and_reset_have_clear_reasons(http_target):
    fails("connection refused", "GET", f"http://127.0.0.1:{closed_port()}/")
    error = fails("", "GET", http_target.url("/reset"))
    assert error.message in ("connection reset by peer", "the server closed the connection without a response",
                             "the connection broke while reading the response")


def test_a_name_that_does_not_resolve_fails_with_the_lookup(fake_dns):
    fails("DNS lookup for no-such-host.invalid failed", "GET", "http://no-such-host.invalid/")


# --- the address guard -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.10.1/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64: a gateway would connect to 169.254.169.254
    "http://[64:ff9b:1::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::1]/",  # 6to4
    "http://[::a9fe:a9fe]/",  # IPv4-compatible
])
def test_link_local_and_metadata_addresses_are_refused(url):
    error = fails("refused", "GET", url)
    assert "STATUSPAGE_PROBE_ALLOW_LINK_LOCAL" in error.message
    assert error.permanent


def test_a_name_that_resolves_to_a_metadata_address_is_refused(fake_dns):
    fake_dns["metadata.test"] = "169.254.169.254"
    fails("refused: metadata.test resolves to 169.254.169.254", "GET", "http://metadata.test/")


def test_a_redirect_to_a_metadata_address_is_refused(http_target, fake_dns):
    fails("refused", "GET", http_target.url("/to?url=http://169.254.169.254/latest"))
    fake_dns["sneaky.test"] = "169.254.169.254"
    fails("refused: sneaky.test resolves", "GET", http_target.url("/to?url=http://sneaky.test/"))


def test_the_address_is_checked_where_we_connect_so_a_rebinding_name_gains_nothing(http_target, fake_dns):
    fake_dns["rebind.test"] = "127.0.0.1"
    url = f"http://rebind.test:{http_target.port}/ok"
    assert http_request("GET", url, policy=POLICY, timeout=2).status == 200
    fake_dns["rebind.test"] = "169.254.169.254"
    fails("refused", "GET", url)


def test_an_operator_can_allow_link_local_addresses():
    allowing = Policy(allow_link_local=True)
    assert guard.refusal(guard.ipaddress.ip_address("169.254.169.254"), allowing) is None
    assert guard.refusal(guard.ipaddress.ip_address("fd00:ec2::254"), allowing) is None


def test_private_networks_are_allowed_by_default_and_can_be_denied(http_target):
    assert http_request("GET", http_target.url("/ok"), policy=POLICY, timeout=2).status == 200
    error = fails("private address", "GET", http_target.url("/ok"), policy=Policy(deny_private=True))
    assert "STATUSPAGE_PROBE_DENY_PRIVATE" in error.message
    for address in ("10.1.2.3", "192.168.1.1", "172.16.0.1", "100.64.0.1", "::1", "fc00::1"):
        assert guard.refusal(guard.ipaddress.ip_address(address), Policy(deny_private=True))
        assert guard.refusal(guard.ipaddress.ip_address(address), POLICY) is None


def test_a_nat64_address_is_judged_by_the_ipv4_address_inside():
    denying = Policy(deny_private=True)
    assert guard.refusal(guard.ipaddress.ip_address("64:ff9b::7f00:1"), denying)  # 127.0.0.1
    assert guard.refusal(guard.ipaddress.ip_address("64:ff9b::808:808"), denying) is None  # 8.8.8.8
    assert guard.refusal(guard.ipaddress.ip_address("64:ff9b::a9fe:a9fe"),
                         Policy(allow_link_local=True)) is None


def test_multicast_is_never_a_target():
    assert guard.refusal(guard.ipaddress.ip_address("224.0.0.1"), Policy(allow_link_local=True))


# --- TLS ----------------------------------------------------------------------------------------------


def test_an_expired_certificate_fails_with_its_reason(https_target, tls_certs):
    fails("TLS error: certificate has expired", "GET", https_target("expired").url("/ok"),
          policy=Policy(ca_bundle=str(tls_certs["ca"])))


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_self_signed_certificate_fails_unless_verification_is_off(https_target):
    target = https_target("self")
    fails("TLS error: self-signed certificate", "GET", target.url("/ok"))
    unverified = http_request("GET", target.url("/ok"), policy=POLICY, timeout=2, verify=False)
    assert unverified.status == 200
    assert unverified.peer_cert is None and unverified.peer_cert_der  # ssl decodes verified certificates only


def test_a_certificate_from_the_operators_ca_bundle_is_trusted_and_its_expiry_known(https_target, tls_certs):
    policy = Policy(ca_bundle=str(tls_certs["ca"]))
    response = http_request("GET", https_target("soon").url("/ok"), policy=policy, timeout=2)
    assert response.status == 200
    assert "notAfter" in response.peer_cert


# --- TCP and DNS -----------------------------------------------------------------------------------------


def test_tcp_connect_times_the_connection(tcp_listener):
    assert tcp_connect("127.0.0.1", tcp_listener.port, policy=POLICY, timeout=1) >= 0
    with pytest.raises(OutboundError, match="connection refused"):
        tcp_connect("127.0.0.1", closed_port(), policy=POLICY, timeout=1)
    with pytest.raises(OutboundError, match="refused: 169.254.169.254"):
        tcp_connect("169.254.169.254", 80, policy=POLICY, timeout=1)


def test_resolve_answers_for_localhost():
    assert "127.0.0.1" in guard.resolve("localhost", 2) or "::1" in guard.resolve("localhost", 2)


# --- settings -------------------------------------------------------------------------------------------


def test_probe_settings_have_safe_defaults_and_strict_parsing(tmp_path):
    base = {"STATUSPAGE_INSTANCE_DIR": str(tmp_path), "STATUSPAGE_SECRET_KEY": "k"}
    settings = Settings.from_env(base)
    assert not settings.probe_allow_link_local and not settings.probe_deny_private
    assert settings.probe_max_bytes == 1_048_576 and settings.worker_threads == 32
    assert settings.check_retention_days == 7 and settings.rollup_retention_days == 400
    assert Policy.from_settings(Settings.from_env({**base, "STATUSPAGE_PROBE_DENY_PRIVATE": "true"})).deny_private
    for key, value in (("STATUSPAGE_PROBE_ALLOW_LINK_LOCAL", "maybe"), ("STATUSPAGE_WORKER_THREADS", "0"),
                       ("STATUSPAGE_WORKER_THREADS", "100000"), ("STATUSPAGE_PROBE_MAX_BYTES", "ten"),
                       ("STATUSPAGE_CHECK_RETENTION_DAYS", "0"), ("STATUSPAGE_PROBE_CA_BUNDLE", "/nope.pem")):
        with pytest.raises(SettingError):
            Settings.from_env({**base, key: value})
