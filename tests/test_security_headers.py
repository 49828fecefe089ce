"""Every response carries the security headers, cache hits and errors included, over real HTTP."""

from __future__ import annotations

import dataclasses
import re

import pytest
import requests

from statuspage import create_app
from statuspage.config import SettingError, Settings

PUBLIC = ["/", "/history", "/history.rss", "/api/v2/summary.json", "/badge.svg", "/widget.js", "/no-such-page"]
PRIVATE = ["/login", "/admin/", "/subscribers/manage/not-a-token"]


def csp(response: requests.Response) -> dict[str, str]:
    directives = [d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";")]
    return {name: value for name, value in directives}


@pytest.mark.parametrize("path", PUBLIC + PRIVATE)
def test_every_response_forbids_inline_script_and_style_and_sniffing(live_server, path):
    response = requests.get(live_server + path, timeout=10, allow_redirects=False)

    policy = csp(response)
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # the base URL is http


def test_a_cached_public_page_carries_them_too(live_server):
    first = requests.get(live_server + "/", timeout=10)
    second = requests.get(live_server + "/", timeout=10, headers={"If-None-Match": first.headers["ETag"]})

    assert second.status_code == 304
    assert csp(second)["frame-ancestors"] == "'self'"
    assert second.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", PRIVATE)
def test_private_pages_are_never_framed_or_stored(live_server, path):
    response = requests.get(live_server + path, timeout=10, allow_redirects=False)

    assert csp(response)["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_signed_in_admin_page_is_not_stored(client, login_as):
    login_as("admin")

    response = client.get("/admin/")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert csp(response)["frame-ancestors"] == "'none'"


def test_public_pages_stay_cacheable_and_frameable_by_the_site_itself(live_server):
    response = requests.get(live_server + "/", timeout=10)

    assert "no-store" not in response.headers["Cache-Control"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_an_operator_can_let_other_sites_frame_the_public_page(settings):
    embedded = create_app(dataclasses.replace(settings, frame_ancestors="'self' https://intranet.example.com"))

    public = embedded.test_client().get("/")
    private = embedded.test_client().get("/login")

    embedded.extensions["statuspage.db"].engine.dispose()
    assert csp(public)["frame-ancestors"] == "'self' https://intranet.example.com"
    assert "X-Frame-Options" not in public.headers
    assert csp(private)["frame-ancestors"] == "'none'"


def test_https_deployments_get_hsts(settings):
    secure = create_app(dataclasses.replace(settings, base_url="https://status.example.com"))

    response = secure.test_client().get("/")

    secure.extensions["statuspage.db"].engine.dispose()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("value", ["javascript:alert(1)", "'none' https://x.example.com",
                                   "https://x.com; script-src *"])
def test_a_frame_ancestors_setting_that_is_not_a_list_of_origins_is_refused(tmp_path, value):
    with pytest.raises(SettingError, match="FRAME_ANCESTORS"):
        Settings.from_env({"STATUSPAGE_INSTANCE_DIR": str(tmp_path), "STATUSPAGE_FRAME_ANCESTORS": value})


def test_no_template_carries_inline_script_or_style():
    from statuspage.config import ROOT

    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        if "email" in template.parts:
            continue  # mail clients need inline style; emails are not served with a CSP
        text = template.read_text()
        if "style=" in text or "<style" in text or any(f" on{event}=" in text for event in
                                                         ("click", "change", "submit", "load", "input")):
            offenders.append(template.name)
        if re.search(r"<script(?![^>]*\ssrc=)", text):
            offenders.append(template.name)
    assert offenders == []
