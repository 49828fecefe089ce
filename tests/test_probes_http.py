"""HTTP probes against real local servers: status, latency, body, redirects, TLS, and hostile targets."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from statuspage.db import utcnow
from statuspage.models import ProbeKind
from statuspage.outbound.guard import Policy
from statuspage.probes import CHECKERS, run_check
from statuspage.probes.base import ProbeSpec
from statuspage.probes.http import HttpChecker, certificate_not_after
from tests.probe_builders import T0

POLICY = Policy()


def spec(target: str, timeout: float = 2, threshold: int | None = None, **options: Any) -> ProbeSpec:
    return ProbeSpec(id=1, code="p1", name="web", kind=ProbeKind.HTTP, target=target,
                     options=HttpChecker.clean_options(options, {}), interval_seconds=30,
                     timeout_seconds=timeout, latency_threshold_ms=threshold, created_at=T0, last_ping_at=None)


def check(target: str, policy: Policy = POLICY, **fields: Any):
    # Real time here: certificate expiry is judged against the check's time.
    return run_check(spec(target, **fields), utcnow(), policy)


def test_200_is_a_good_check_with_its_latency(http_target):
    result = check(http_target.url("/ok"))
    assert (result.ok, result.slow, result.reason) == (True, False, "ok")
    assert result.latency_ms > 0 and result.detail["status"] == 200


def test_500_is_a_failed_check_naming_the_status(http_target):
    result = check(http_target.url("/status/500"))
    assert not result.ok and result.reason == "HTTP 500 (expected 2xx)"
    assert result.latency_ms is not None


def test_expected_status_codes_replace_2xx(http_target):
    assert check(http_target.url("/status/418"), expected_status=[418]).ok
    result = check(http_target.url("/ok"), expected_status="204, 301")
    assert not result.ok and result.reason == "HTTP 200 (expected 204, 301)"


def test_a_slow_answer_is_good_but_slow(http_target):
    result = check(http_target.url("/slow/250"), threshold=100)
    assert result.ok and result.slow
    assert result.reason.startswith("slow: ") and "(threshold 100 ms)" in result.reason


def test_a_target_that_never_answers_fails_at_the_timeout(http_target):
    result = check(http_target.url("/hang"), timeout=0.5)
    assert not result.ok and result.reason == "timed out after 0.5 s"


def test_a_huge_body_fails_without_being_read_in_full(http_target):
    result = check(http_target.url("/huge"), policy=Policy(max_bytes=100_000))
    assert not result.ok and result.reason == "response body larger than 100,000 bytes"


def test_a_reset_connection_fails_with_a_clear_reason(http_target):
    result = check(http_target.url("/reset"))
    assert not result.ok and result.reason in (
        "connection reset by peer", "the server closed the connection without a response",
        "the connection broke while reading the response")


def test_redirects_are_followed_up_to_the_probes_limit(http_target):
    assert check(http_target.url("/hops/2"), max_redirects=2).ok
    result = check(http_target.url("/hops/2"), max_redirects=1)
    assert not result.ok and result.reason == "too many redirects (more than 1)"
    assert check(http_target.url("/loop")).reason == "too many redirects (more than 5)"


def test_a_redirect_to_the_metadata_service_is_refused(http_target):
    result = check(http_target.url("/to?url=http://169.254.169.254/latest/meta-data/"))
    assert not result.ok and result.reason.startswith("refused: 169.254.169.254 is a link-local")


def test_a_keyword_must_be_in_the_body(http_target):
    assert check(http_target.url("/ok"), keyword="all good").ok
    result = check(http_target.url("/ok"), keyword="healthy")
    assert not result.ok and result.reason == "keyword 'healthy' not found in the response"


def test_a_json_value_must_match(http_target):
    assert check(http_target.url("/json"), json_path="status", json_value="ok").ok
    assert check(http_target.url("/json"), json_path="checks.0.state", json_value="up").ok
    assert check(http_target.url("/json"), json_path="healthy", json_value=True).ok
    assert check(http_target.url("/json"), json_path="healthy", json_value="true").ok
    mismatch = check(http_target.url("/json"), json_path="checks.0.state", json_value="down")
    assert mismatch.reason == 'JSON value at checks.0.state is "up", expected "down"'
    assert check(http_target.url("/json"), json_path="nope").reason == "JSON has no value at nope"
    assert check(http_target.url("/ok"), json_path="status").reason == "the response is not valid JSON"


def test_method_and_headers_are_sent(http_target):
    result = check(http_target.url("/echo-headers"), method="HEAD", headers={"X-Probe": "yes"})
    assert result.ok
    assert http_target.hits[-1][2]["X-Probe"] == "yes"
    assert check(http_target.url("/ok"), method="POST").ok


def test_dns_failure_is_a_failed_check():
    result = check("http://no-such-host.invalid/health")
    assert not result.ok and result.reason.startswith("DNS lookup for no-such-host.invalid")


def test_a_probe_kind_that_crashes_is_a_failed_check_not_a_dead_worker(monkeypatch, http_target):
    class Broken(HttpChecker):
        def run(self, probe, now):
            raise RuntimeError("bug")

    monkeypatch.setitem(CHECKERS, ProbeKind.HTTP, Broken)
    result = check(http_target.url("/ok"))
    assert not result.ok and result.reason == "the check itself failed (RuntimeError); see the worker log"


# --- TLS -------------------------------------------------------------------------------------------


@pytest.fixture
def trusting(tls_certs) -> Policy:
    return Policy(ca_bundle=str(tls_certs["ca"]))


def test_an_expired_certificate_is_a_failed_check(https_target, trusting):
    result = check(https_target("expired").url("/ok"), policy=trusting)
    assert not result.ok and result.reason == "TLS error: certificate has expired"


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_self_signed_certificate_fails_unless_verification_is_turned_off(https_target):
    target = https_target("self")
    assert check(target.url("/ok")).reason == "TLS error: self-signed certificate"
    assert check(target.url("/ok"), verify_tls=False).ok


def test_a_certificate_close_to_expiry_is_a_warning_on_a_good_check(https_target, trusting):
    result = check(https_target("soon").url("/ok"), policy=trusting, tls_warn_days=14)
    assert result.ok and result.reason == "TLS certificate expires in 5 days"
    assert result.detail["tls_warning"] is True
    quiet = check(https_target("valid").url("/ok"), policy=trusting, tls_warn_days=14)
    assert quiet.reason == "ok" and 59 < quiet.detail["tls_days_left"] <= 60


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_with_verification_off_an_expiring_certificate_still_warns(https_target):
    # Not trusted (no CA bundle) and not verified: the expiry is still read from the certificate.
    result = check(https_target("soon").url("/ok"), verify_tls=False, tls_warn_days=14)
    assert result.ok and result.reason == "TLS certificate expires in 5 days"
    assert result.detail["tls_warning"] is True and 4 < result.detail["tls_days_left"] <= 5
    self_signed = check(https_target("self").url("/ok"), verify_tls=False, tls_warn_days=14)
    assert self_signed.reason == "ok" and 29 < self_signed.detail["tls_days_left"] <= 30


@pytest.mark.parametrize("name", ["valid", "soon", "expired", "self"])
def test_the_expiry_read_from_a_certificate_matches_what_ssl_decodes(tls_certs, name):
    der = ssl.PEM_cert_to_DER_cert(tls_certs[name].read_text())
    decoded = ssl._ssl._test_decode_cert(str(tls_certs[name]))  # CPython's own decoder, for comparison
    assert ssl.cert_time_to_seconds(certificate_not_after(der)) == ssl.cert_time_to_seconds(
        decoded["notAfter"])


def test_an_unreadable_certificate_has_no_expiry():
    for der in (b"", b"garbage", b"\x30\x82\xff\xff", b"\x30\x03\x02\x01\x01"):
        assert certificate_not_after(der) is None
