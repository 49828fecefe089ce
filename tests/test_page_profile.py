"""The page profile through Statuspage's `GET /pages`, `GET/PATCH /pages/{page_id}`."""

from __future__ import annotations

import pytest


def test_pages_lists_our_one_page_with_its_profile(client, api_token, page_code):
    [page] = client.get("/api/v1/pages", headers=api_token("responder")).get_json()
    assert page["id"] == page_code
    assert page["time_zone"] == "Europe/Berlin"
    assert page["allow_email_subscribers"] is True and page["allow_sms_subscribers"] is False


def test_an_admin_edits_the_profile_and_the_public_page_follows(app, client, api_token, page_code):
    response = client.patch(f"/api/v1/pages/{page_code}", headers=api_token("admin"), json={"page": {
        "name": "Acme Cloud", "time_zone": "America/New_York", "notifications_from_email": "status@example.com",
        "notifications_email_footer": "Acme Inc.", "allow_rss_atom_feeds": False}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["name"] == "Acme Cloud"
    app.extensions["statuspage.public_cache"].clear()
    status = client.get("/api/v2/status.json").get_json()["page"]
    assert status["name"] == "Acme Cloud" and status["time_zone"] == "America/New_York"
    assert status["updated_at"].endswith(("-05:00", "-04:00"))
    assert client.get("/history.rss").status_code == 404


def test_form_encoded_profile_edits_work_too(client, api_token, page_code):
    response = client.patch(f"/api/v1/pages/{page_code}.json", headers=api_token("admin"),
                            data={"page[name]": "Acme", "page[allow_webhook_subscribers]": "false"})
    assert response.status_code == 200
    assert response.get_json()["allow_webhook_subscribers"] is False


@pytest.mark.parametrize("changes, field", [
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"name": ""}, "name"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"allow_sms_subscribers": True}, "allow_sms_subscribers"),
    ({"notifications_from_email": "not an address"}, "notifications_from_email"),
    ({"css_body_background_color": "#fff"}, "css_body_background_color"),
])
def test_bad_profile_edits_are_refused_and_nothing_changes(client, api_token, page_code, changes, field):
    headers = api_token("admin")
    response = client.patch(f"/api/v1/pages/{page_code}", headers=headers, json={"page": {"name": "X", **changes}})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field
    assert client.get(f"/api/v1/pages/{page_code}", headers=headers).get_json()["name"] == "Acme"


def test_a_responder_cannot_edit_the_profile(client, api_token, page_code):
    response = client.patch(f"/api/v1/pages/{page_code}", headers=api_token("responder"), json={"page": {"name": "X"}})
    assert response.status_code == 403


def test_an_unknown_page_id_is_404(client, api_token):
    assert client.get("/api/v1/pages/nosuchpage00", headers=api_token()).status_code == 404
