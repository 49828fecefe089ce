"""The admin's probes page and forms, by persona: admin, responder, outsider."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.models import ComponentStatus, Incident, IncidentDraft, Probe
from statuspage.probes import service
from statuspage.probes.rules import apply_check
from tests.probe_builders import T0, a_component, a_probe, bad, checks_of, good, sign_in


@pytest.fixture
def api(session):
    return a_component(session, "Checkout API")


def csrf(client, path="/admin/probes") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def post(client, path, data=None, token_from="/admin/probes", **kwargs):
    return client.post(path, data={"csrf_token": csrf(client, token_from), **(data or {})}, **kwargs)


def probes_in_db(session) -> list[Probe]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Probe)))


NEW_HTTP = {"kind": "http", "name": "Checkout health", "target": "https://shop.example/health",
            "interval_seconds": "30", "timeout_seconds": "5", "failures_to_outage": "3",
            "successes_to_recover": "2", "slow_to_degrade": "3", "failure_rate_window": "10",
            "failure_rate_threshold": "0.5", "outage_status": "major_outage", "auto_incident": "draft",
            "method": "GET", "expected_status": "200, 204", "headers": "Authorization: Bearer s3cret",
            "verify_tls": "on", "tls_warn_days": "14", "max_redirects": "5",
            # fields of other kinds arrive empty from the one form and are ignored
            "expect": "", "password_env": "", "grace_seconds": "60", "warning_status": "degraded_performance",
            "matchers": ""}


def test_outsiders_are_sent_to_sign_in(client, api):
    for path in ("/admin/probes", "/admin/probes/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_admin_creates_an_http_probe_from_the_form(client, session, api):
    sign_in(client, session, "admin")
    response = post(client, "/admin/probes/new", {**NEW_HTTP, "component_id": api.code},
                    token_from="/admin/probes/new")
    assert response.status_code == 302
    [probe] = probes_in_db(session)
    assert probe.options["expected_status"] == [200, 204]
    assert probe.options["headers"] == {"Authorization": "Bearer s3cret"}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Authorization: ********" in page and "s3cret" not in page


def test_an_admin_shows_a_probes_response_times_to_customers_with_a_checkbox(client, session, api):
    sign_in(client, session, "admin")
    response = post(client, "/admin/probes/new", {**NEW_HTTP, "component_id": api.code, "public_chart": "on"},
                    token_from="/admin/probes/new")
    [probe] = probes_in_db(session)
    assert probe.options["public_chart"] is True
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'name="public_chart" checked', page)
    form = {**NEW_HTTP, "component_id": api.code}  # the box left unchecked
    post(client, f"/admin/probes/{probe.code}", form, token_from=f"/admin/probes/{probe.code}")
    assert probes_in_db(session)[0].options["public_chart"] is False


def test_a_bad_form_re_renders_with_the_message_and_saves_nothing(client, session, api):
    sign_in(client, session, "admin")
    for change, message in (({"target": "ftp://x/"}, "http:// or https://"),
                            ({"interval_seconds": "0"}, "interval_seconds must be"),
                            ({"headers": "no colon here"}, "Line 1 of headers"),
                            ({"kind": "gopher"}, "Unknown probe kind")):
        response = post(client, "/admin/probes/new", {**NEW_HTTP, "component_id": api.code, **change},
                        token_from="/admin/probes/new")
        assert response.status_code == 422, change
        assert message in response.get_data(as_text=True)
    assert probes_in_db(session) == []


def test_a_metadata_address_as_target_is_refused_by_the_form(client, session, api):
    sign_in(client, session, "admin")
    response = post(client, "/admin/probes/new", {**NEW_HTTP, "component_id": api.code,
                                                  "target": "http://169.254.169.254/latest/meta-data/"},
                    token_from="/admin/probes/new")
    assert response.status_code == 422
    assert "link-local or cloud-metadata address" in response.get_data(as_text=True)
    assert probes_in_db(session) == []
    probe = a_probe(session, api, name="web", target="http://a.example/")
    page = f"/admin/probes/{probe.code}"
    response = post(client, page, {**NEW_HTTP, "component_id": api.code, "target": "http://[fe80::1]/"},
                    token_from=page)
    assert response.status_code == 422
    assert [p.target for p in probes_in_db(session)] == ["http://a.example/"]


def test_an_admin_edits_and_deletes_a_probe(client, session, api):
    sign_in(client, session, "admin")
    probe = a_probe(session, api, name="tcp check", kind="tcp", target="db.internal:5432")
    page = f"/admin/probes/{probe.code}"
    form = {"kind": "tcp", "name": "db port", "component_id": api.code, "target": "db.internal:6432",
            "interval_seconds": "60", "timeout_seconds": "3", "failures_to_outage": "2",
            "successes_to_recover": "2", "slow_to_degrade": "3", "failure_rate_window": "10",
            "failure_rate_threshold": "0.5", "outage_status": "partial_outage", "auto_incident": "off"}
    response = post(client, page, form, token_from=page)
    assert response.status_code == 302, response.get_data(as_text=True)
    [saved] = probes_in_db(session)
    assert (saved.name, saved.target, saved.outage_status) == ("db port", "db.internal:6432",
                                                               ComponentStatus.PARTIAL_OUTAGE)
    assert post(client, f"{page}/delete", {"confirm_name": "wrong"}, token_from=page).status_code == 302
    assert len(probes_in_db(session)) == 1
    post(client, f"{page}/delete", {"confirm_name": "db port"}, token_from=page)
    assert probes_in_db(session) == []


def test_a_responder_sees_probes_and_checks_now_but_cannot_change_them(client, session, api, http_target):
    probe = a_probe(session, api, name="web", target=http_target.url("/ok"))
    sign_in(client, session, "responder")
    listing = client.get("/admin/probes").get_data(as_text=True)
    assert "web" in listing and "Check now" in listing and "New probe" not in listing
    response = post(client, f"/admin/probes/{probe.code}/check", {"back": "/admin/probes"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/probes")
    assert "Checked web: good (ok)." in client.get("/admin/probes").get_data(as_text=True)
    assert [c.ok for c in checks_of(session, probe)] == [True]
    assert post(client, "/admin/probes/new", {**NEW_HTTP, "component_id": api.code}).status_code == 403
    assert post(client, f"/admin/probes/{probe.code}/delete", {"confirm_name": "web"}).status_code == 403
    assert client.get("/admin/probes/new").status_code == 403


def test_check_now_of_a_hanging_target_flashes_the_timeout_instead_of_hanging_the_page(
        client, session, api, http_target, monkeypatch):
    monkeypatch.setattr(service, "CHECK_NOW_SECONDS", 1.0)
    probe = a_probe(session, api, name="hangs", target=http_target.url("/hang"), interval_seconds=60,
                    timeout_seconds=60)
    sign_in(client, session, "responder")
    response = post(client, f"/admin/probes/{probe.code}/check", {"back": "/admin/probes"})
    assert response.status_code == 302
    assert "Checked hangs: failed (timed out after 1 s" in client.get("/admin/probes").get_data(as_text=True)
    assert probes_in_db(session)[0].lease_until is None


def test_check_now_redirects_only_within_the_admin(client, session, api, http_target):
    probe = a_probe(session, api, name="web", target=http_target.url("/ok"))
    sign_in(client, session, "responder")
    for back in ("https://evil.example/", "//evil.example/admin/", "/admin/\\evil"):
        response = post(client, f"/admin/probes/{probe.code}/check", {"back": back})
        assert response.headers["Location"].endswith(f"/admin/probes/{probe.code}")


def test_a_responder_pins_and_unpins_a_component(client, session, api):
    probe = a_probe(session, api, failures_to_outage=1, auto_incident="off")
    sign_in(client, session, "responder")
    post(client, f"/admin/components/{api.code}/pin", {"pinned": "true"})
    session.expire_all()
    apply_check(session, session.get(Probe, probe.id), bad(), T0)
    session.commit()
    session.expire_all()
    assert api.pinned and api.status == ComponentStatus.OPERATIONAL
    assert "pinned: probes only record" in client.get("/admin/probes").get_data(as_text=True)
    post(client, f"/admin/components/{api.code}/pin", {"pinned": "false"})
    session.expire_all()
    assert not api.pinned and api.status == ComponentStatus.MAJOR_OUTAGE


def test_a_draft_is_published_with_one_click_and_starts_at_the_first_failing_check(client, session, api):
    probe = a_probe(session, api, failures_to_outage=2, auto_incident="draft")
    for minute in (0, 1):
        apply_check(session, session.get(Probe, probe.id), bad(), T0.replace(minute=minute))
        session.commit()
    sign_in(client, session, "responder")
    listing = client.get("/admin/probes").get_data(as_text=True)
    assert "Elevated errors on Checkout API" in listing and "Publish incident" in listing
    [draft] = session.scalars(select(IncidentDraft)).all()
    response = post(client, f"/admin/drafts/{draft.code}/publish")
    assert response.status_code == 302 and "/admin/incidents/" in response.headers["Location"]
    session.rollback()
    [incident] = session.scalars(select(Incident)).all()
    assert incident.started_at == T0 and incident.name == "Elevated errors on Checkout API"
    again = post(client, f"/admin/drafts/{draft.code}/publish")
    assert again.status_code == 302
    assert "already published" in client.get("/admin/probes").get_data(as_text=True)


def test_a_draft_whose_component_recovered_is_shown_as_recovered_without_a_publish_button(client, session, api):
    probe = a_probe(session, api, failures_to_outage=1, successes_to_recover=1, auto_incident="draft")
    apply_check(session, probe, bad(), utcnow())
    session.commit()
    apply_check(session, probe, good(), utcnow())
    session.commit()
    sign_in(client, session, "responder")
    page = client.get("/admin/probes").get_data(as_text=True)
    assert "Proposed, then recovered" in page and "Elevated errors on Checkout API" in page
    assert "Publish incident" not in page


def test_a_draft_can_be_dismissed(client, session, api):
    probe = a_probe(session, api, failures_to_outage=1, auto_incident="draft")
    apply_check(session, session.get(Probe, probe.id), bad(), T0)
    session.commit()
    sign_in(client, session, "responder")
    [draft] = session.scalars(select(IncidentDraft)).all()
    post(client, f"/admin/drafts/{draft.code}/dismiss")
    session.rollback()
    assert session.get(IncidentDraft, draft.id).state == "dismissed"
    assert "Publish incident" not in client.get("/admin/probes").get_data(as_text=True)


def test_push_probes_show_their_url_and_unknown_ids_are_404(client, session, api):
    heartbeat = a_probe(session, api, kind="heartbeat", target=None, name="backup job")
    sign_in(client, session, "admin")
    page = client.get(f"/admin/probes/{heartbeat.code}").get_data(as_text=True)
    assert f"http://status.test/api/heartbeat/{heartbeat.token}" in page
    for path in ("/admin/probes/nope",):
        assert client.get(path).status_code == 404
    assert post(client, "/admin/probes/nope/check").status_code == 404
    assert post(client, "/admin/drafts/nope/publish").status_code == 404
    assert post(client, "/admin/components/nope/pin", {"pinned": "true"}).status_code == 404
    assert post(client, f"/admin/components/{api.code}/pin", {"pinned": "maybe"}).status_code == 400


def test_the_probe_page_draws_a_response_time_chart(client, session, api, http_target):
    probe = a_probe(session, api, name="web", target=http_target.url("/ok"))
    sign_in(client, session, "admin")
    post(client, f"/admin/probes/{probe.code}/check", token_from=f"/admin/probes/{probe.code}")
    page = client.get(f"/admin/probes/{probe.code}").get_data(as_text=True)
    assert '<svg class="latency-chart"' in page and "Response time of web" in page


def test_the_new_probe_form_starts_from_the_defaults_and_says_how_fast_an_outage_is_confirmed(client, session, api):
    sign_in(client, session, "admin")
    html = client.get("/admin/probes/new").get_data(as_text=True)
    for name, value in (("interval_seconds", "20"), ("retry_interval_seconds", "10"), ("failures_to_outage", "2"),
                        ("successes_to_recover", "2"), ("publish_after_minutes", "0")):
        assert re.search(rf'name="{name}" value="{value}"', html), name
    assert "confirmed down within <strong data-detection>30 s</strong>" in html
    # Each kind's own fields are marked, so the script shows only the chosen kind's.
    assert 'data-kinds="http"' in html and 'data-kinds="heartbeat"' in html


def test_an_admin_sets_the_retry_interval_and_how_the_probe_publishes_and_resolves(client, session, api):
    sign_in(client, session, "admin")
    form = {**NEW_HTTP, "component_id": api.code, "retry_interval_seconds": "5", "auto_incident": "publish",
            "publish_after_minutes": "3", "auto_resolve_minutes": "15"}
    response = post(client, "/admin/probes/new", form, token_from="/admin/probes/new")
    assert response.status_code == 302, response.get_data(as_text=True)
    [probe] = probes_in_db(session)
    assert (probe.retry_interval_seconds, probe.publish_after_minutes, probe.auto_resolve_minutes) == (5, 3, 15)
    page = f"/admin/probes/{probe.code}"
    html = client.get(page).get_data(as_text=True)
    assert 'name="auto_resolve_minutes" value="15"' in html
    response = post(client, page, {**form, "retry_interval_seconds": "45"}, token_from=page)
    assert response.status_code == 422
    assert "retry_interval_seconds must not be longer than interval_seconds" in response.get_data(as_text=True)
    assert probes_in_db(session)[0].retry_interval_seconds == 5
