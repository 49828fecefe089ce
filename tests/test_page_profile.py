"""The page profile through Statuspage's `GET /pages`, `GET/PATCH /pages/{page_id}`."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from statuspage.models import AuditEntry, Page


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


def test_without_an_sms_provider_the_page_says_so_and_false_may_be_sent_back(client, api_token, page_code):
    headers = api_token("admin")
    response = client.patch(f"/api/v1/pages/{page_code}", headers=headers,
                            json={"page": {"allow_sms_subscribers": False, "name": "Acme Cloud"}})
    assert response.status_code == 200
    assert response.get_json()["allow_sms_subscribers"] is False and response.get_json()["name"] == "Acme Cloud"


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
    ({"css_body_background_color": "#000000"}, "css_body_background_color"),
    ({"css_reds": "red"}, "css_reds"),
    ({"domain": "status.other.example"}, "domain"),
    ({"subdomain": "acme"}, "subdomain"),
    ({"branding": "premium"}, "branding"),
    ({"hidden_from_search": True}, "hidden_from_search"),
    ({"viewers_must_be_team_members": "maybe"}, "viewers_must_be_team_members"),
    ({"id": "someotherpge"}, "id"),
    ({"favourite_colour": "blue"}, "favourite_colour"),
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


CONTRACT_FIELDS = {
    "id", "name", "url", "time_zone", "updated_at", "created_at", "domain", "subdomain", "branding",
    "allow_page_subscribers", "allow_incident_subscribers", "allow_email_subscribers", "allow_sms_subscribers",
    "allow_rss_atom_feeds", "allow_webhook_subscribers", "notifications_from_email", "notifications_email_footer",
    "viewers_must_be_team_members", "ip_restrictions", "hidden_from_search", "page_description", "headline",
    "css_body_background_color", "css_font_color", "css_light_font_color", "css_greens", "css_yellows",
    "css_oranges", "css_reds", "css_blues", "css_border_color", "css_graph_color", "css_link_color", "css_no_data",
}


def test_the_profile_has_statuspages_fields_with_the_themes_colours(client, api_token, page_code):
    page = client.get(f"/api/v1/pages/{page_code}", headers=api_token()).get_json()
    assert CONTRACT_FIELDS <= set(page)
    assert page["domain"] == "status.test"
    assert page["css_greens"] == "#1b7f3b" and page["css_body_background_color"] == "#ffffff"
    assert all(re.fullmatch(r"#[0-9a-f]{6}", page[key]) for key in page if key.startswith("css_"))


def test_the_whole_page_object_can_be_sent_back_with_one_change(app, client, api_token, page_code, session):
    headers = api_token("admin")
    page = client.get(f"/api/v1/pages/{page_code}", headers=headers).get_json()
    version = session.scalars(select(Page)).one().version
    unchanged = client.patch(f"/api/v1/pages/{page_code}", headers=headers, json={"page": page})
    assert unchanged.status_code == 200, unchanged.get_json()
    assert unchanged.get_json() == page
    session.expire_all()
    assert session.scalars(select(Page)).one().version == version, "a no-op keeps the public cache"
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "page.update")).all() == []

    changed = client.put(f"/api/v1/pages/{page_code}", headers=headers,
                         json={"page": {**page, "name": "Acme Cloud", "css_body_background_color": "#FFF",
                                        "domain": "STATUS.TEST", "subdomain": "", "updated_at": "2001-01-01"}})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["name"] == "Acme Cloud"
    assert changed.get_json()["url"] == page["url"]
    session.expire_all()
    assert session.scalars(select(Page)).one().url is None, "the address shown by default is not stored"


def test_a_change_we_do_not_offer_says_why(client, api_token, page_code):
    headers = api_token("admin")
    response = client.patch(f"/api/v1/pages/{page_code}", headers=headers,
                            json={"page": {"domain": "status.other.example"}})
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert message.startswith("domain cannot be changed here") and "STATUSPAGE_BASE_URL" in message
    colour = client.patch(f"/api/v1/pages/{page_code}", headers=headers, data={"page[css_blues]": "#123456"})
    assert colour.status_code == 422 and "static/style.css" in colour.get_json()["error"]["message"]
