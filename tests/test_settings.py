"""The Settings page: an admin sets the page's name, look and voice; bad input is refused with nothing kept."""

from __future__ import annotations

import dataclasses
import io
import re

import lxml.html
import pytest
from sqlalchemy import select

from statuspage import create_app
from statuspage.config import Settings
from statuspage.models import AuditEntry, PageAsset
from statuspage.page.record import get_page
from tests.conftest import post_form

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
ICO = b"\x00\x00\x01\x00\x01\x00" + bytes(64)
GOOD = {"name": "Acme Cloud", "url": "https://acme.test/support", "time_zone": "America/New_York",
        "footer_text": "Acme Cloud Ltd, Berlin", "refresh_seconds": "120", "brand_color": "#1b4f8a",
        "sender_name": "Acme Cloud status team", "notifications_from_email": "status@acme-cloud.com",
        "notifications_email_footer": ""}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every request re-reads the page version, so a change shows at once."""
    return dataclasses.replace(settings, version_check_seconds=0)


def post(client, data: dict):
    return post_form(client, "/admin/settings", data, content_type="multipart/form-data")


def save(client, **changes):
    return post(client, {**GOOD, **changes})


def test_only_admins_reach_the_settings(client, login_as):
    assert client.get("/admin/settings").status_code == 302  # to sign-in
    login_as("responder")
    assert client.get("/admin/settings").status_code == 403
    assert save(client).status_code == 403


def test_an_admin_changes_the_page_and_customers_see_it_at_once(client, session, login_as):
    login_as("admin")
    before = client.get("/").get_data(as_text=True)
    assert "Acme Cloud" not in before

    response = save(client)
    assert response.status_code == 302
    page = client.get("/")
    html = page.get_data(as_text=True)
    document = lxml.html.fromstring(html)
    assert document.xpath("//meta[@property='og:site_name']/@content") == ["Acme Cloud status"]
    assert document.xpath("//a[@class='brand']")[0].text_content() == "Acme Cloud"
    assert "Acme Cloud Ltd, Berlin" in document.xpath("//footer")[0].text_content()
    assert document.xpath("//meta[@name='statuspage-refresh']/@content") == ["120"]
    [theme] = document.xpath("//link[@rel='stylesheet' and contains(@href, '/assets/theme.css')]/@href")
    css = client.get(theme)
    assert css.status_code == 200 and css.mimetype == "text/css" and "--brand: #1b4f8a" in css.get_data(as_text=True)
    assert "Acme Cloud" in client.get("/history.rss").get_data(as_text=True)
    assert client.get("/api/v2/summary.json").get_json()["page"]["time_zone"] == "America/New_York"

    fields = {entry.detail["field"] for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "page.settings"))}
    assert {"name", "url", "time_zone", "footer_text", "refresh_seconds", "brand_color", "sender_name",
            "notifications_from_email"} <= fields


def test_a_logo_and_a_favicon_are_uploaded_shown_and_removed(client, session, login_as):
    login_as("admin")
    response = post(client, {**GOOD, "logo": (io.BytesIO(PNG), "logo.png"),
                             "favicon": (io.BytesIO(ICO), "favicon.ico")})
    assert response.status_code == 302
    document = lxml.html.fromstring(client.get("/").get_data(as_text=True))
    [logo] = document.xpath("//a[@class='brand']/img")
    assert logo.get("alt") == "Acme Cloud"
    image = client.get(logo.get("src"))
    assert image.status_code == 200 and image.mimetype == "image/png" and image.get_data() == PNG
    assert "ETag" in image.headers and "public" in image.headers["Cache-Control"]
    [icon] = document.xpath("//link[@rel='icon']/@href")
    assert client.get(icon).get_data() == ICO

    assert save(client, remove_logo="on").status_code == 302
    document = lxml.html.fromstring(client.get("/").get_data(as_text=True))
    assert document.xpath("//a[@class='brand']/img") == []
    assert client.get("/assets/logo").status_code == 404


SVG_WITH_SCRIPT = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(("changes", "files", "message"), [
    ({}, {"logo": (b"\x89PNG\r\n\x1a\n" + bytes(600 * 1024), "huge.png")}, "at most 512 KB"),
    ({}, {"logo": (b"hello, I am text", "notes.txt")}, "must be a PNG, JPEG, GIF, WebP or ICO"),
    ({}, {"logo": (SVG_WITH_SCRIPT, "logo.svg")}, "SVG is not accepted"),
    ({}, {"favicon": (b"  <svg onload='alert(1)'/>", "icon.svg")}, "SVG is not accepted"),
    ({"brand_color": "red"}, {}, "must be a colour like #1b7f3b"),
    ({"brand_color": "#ffff00"}, {}, "too light for white text"),
    ({"time_zone": "Mars/Olympus"}, {}, "is not an IANA time zone"),
    ({"name": "   "}, {}, "Name is required"),
    ({"refresh_seconds": "5"}, {}, "refresh interval"),
    ({"url": "javascript:alert(1)"}, {}, "http(s) address"),
    ({"footer_text": "x" * 501}, {}, "at most 500 characters"),
])
def test_bad_settings_are_refused_with_a_message_and_nothing_is_kept(client, session, login_as, changes, files,
                                                                     message):
    login_as("admin")
    page = get_page(session)
    before = (page.name, page.time_zone, page.brand_color, page.version)
    data = {**GOOD, **changes, **{kind: (io.BytesIO(body), name) for kind, (body, name) in files.items()}}
    response = post(client, data)
    assert 400 <= response.status_code < 500
    html = response.get_data(as_text=True)
    assert message in lxml.html.fromstring(html).findtext(".//p[@role='alert']")
    session.expire_all()
    page = get_page(session)
    assert (page.name, page.time_zone, page.brand_color, page.version) == before
    assert session.scalars(select(PageAsset)).all() == []


def test_the_settings_page_wins_over_the_environment_after_the_first_start(client, session, login_as, settings):
    login_as("admin")
    assert save(client).status_code == 302
    restarted = create_app(dataclasses.replace(settings, page_name="Env Name", timezone="Asia/Tokyo"))
    restarted.config["TESTING"] = True
    html = restarted.test_client().get("/").get_data(as_text=True)
    assert "Acme Cloud" in html and "Env Name" not in html
    restarted.extensions["statuspage.db"].engine.dispose()


@pytest.mark.parametrize(("name", "sender_name", "expected"), [
    ("Acme", "Acme Cloud status team", "Acme Cloud status team <status@acme.test>"),
    ("Status", None, "Status <status@acme.test>"),  # never "Status status"
    ("Acme", None, "Acme status <status@acme.test>"),
])
def test_emails_come_from_the_sender_name_chosen_in_settings(mail_app, worker_for, smtp_server, session, name,
                                                             sender_name, expected):
    sink, _port = smtp_server
    page = get_page(session)
    page.name, page.sender_name = name, sender_name
    session.commit()
    client = mail_app.test_client()
    assert client.post("/subscribe", data={"email": "ana@example.org"}).status_code == 200
    worker_for(mail_app).run_once()
    [confirmation] = sink.to("ana@example.org")
    assert confirmation["From"] == expected
    assert "status status" not in confirmation.get_body(("plain",)).get_content().lower()


def test_message_ids_carry_a_random_part_so_two_installs_never_share_one(mail_app, worker_for, smtp_server):
    sink, _port = smtp_server
    client = mail_app.test_client()
    for address in ("ana@example.org", "ben@example.org"):
        assert client.post("/subscribe", data={"email": address}).status_code == 200
    worker_for(mail_app).run_once()
    ids = [sink.to(address)[0]["Message-ID"] for address in ("ana@example.org", "ben@example.org")]
    for message_id in ids:
        assert re.fullmatch(r"<[0-9a-f]{16}\.d\d+\.e\d+@acme\.test>", message_id), message_id
    assert ids[0].split(".")[0] != ids[1].split(".")[0]
