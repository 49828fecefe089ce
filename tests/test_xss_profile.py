"""The page's own profile (its name, email footer, address) is text wherever customers meet it:
the public pages, the feeds, the badge and widget, and the notification emails."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import timedelta

import feedparser
import lxml.etree
import lxml.html
import pytest
from sqlalchemy import select

from statuspage.config import Settings
from statuspage.db import utcnow
from statuspage.models import Page
from tests.test_embeds import run_widget
from tests.test_xss import PAYLOADS as MARKDOWN_PAYLOADS
from tests.test_xss import (
    assert_no_executable_markup,
    assert_safe_feed,
    assert_safe_fragment,
    assert_safe_page,
    one_line,
)

# One line each: a page name is one line.
PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "attribute-breakout": '"><img src=x onerror=alert(1)>',
    "single-quote-breakout": "'><svg onload=alert(1)>",
    "title-breakout": "</title><script>alert(1)</script>",
    "comment-breakout": "--><script>alert(1)</script><!--",
    "cdata-breakout": "]]><script>alert(1)</script>",
    "html-javascript-link": '<a href="javascript:alert(1)">x</a>',
    "body-onload": "<body onload=alert(1)>",
    "style-tag": "<style>*{background:url(javascript:alert(1))}</style>",
    "entity": "&lt;script&gt;alert(1)&lt;/script&gt;",
}
SVG = {"svg": "http://www.w3.org/2000/svg"}
DC = {"dc": "http://purl.org/dc/elements/1.1/"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every request re-reads the page version, so a change shows at once."""
    return dataclasses.replace(settings, version_check_seconds=0)


def api(client, headers: dict, method: str, path: str, body: dict, expected: int) -> dict:
    response = client.open(path, method=method, json=body, headers=headers)
    assert response.status_code == expected, response.get_data(as_text=True)
    return response.get_json()


def set_profile(client, headers: dict, page_code: str, payload: str) -> None:
    """The payload as the page's name and email footer, and inside its address."""
    api(client, headers, "PATCH", f"/api/v1/pages/{page_code}", {"page": {
        "name": payload, "notifications_email_footer": f"Footer {payload}",
        "url": f"https://example.com/{payload}"[:255],
    }}, 200)


@pytest.fixture
def story(client, api_token, page_code) -> dict[str, str]:
    """Plain-named things to show: a component, an open and a resolved incident, an upcoming maintenance."""
    headers = api_token("admin")
    base = f"/api/v1/pages/{page_code}"
    component = api(client, headers, "POST", f"{base}/components", {"component": {"name": "API"}}, 201)
    start = utcnow() + timedelta(days=1)
    made = {"component": component["id"], "headers": headers}
    for kind, body in {
        "open": {"name": "Slow API", "body": "Looking.", "status": "investigating",
                 "components": {component["id"]: "degraded_performance"}},
        "resolved": {"name": "Old outage", "body": "Fixed.", "status": "resolved",
                     "component_ids": [component["id"]]},
        "maintenance": {"name": "Upgrade", "body": "Planned.", "component_ids": [component["id"]],
                        "scheduled_for": start.isoformat(),
                        "scheduled_until": (start + timedelta(hours=1)).isoformat()},
    }.items():
        made[kind] = api(client, headers, "POST", f"{base}/incidents", {"incident": body}, 201)["id"]
    return made


def document_of(client, path: str) -> tuple[str, lxml.html.HtmlElement]:
    response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    html = response.get_data(as_text=True)
    return html, lxml.html.document_fromstring(html)


# --- the public site, the feeds, the embeds --------------------------------------------------------


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_a_page_name_with_markup_is_text_on_every_public_page(client, page_code, story, payload):
    set_profile(client, story["headers"], page_code, payload)

    for path in ["/", "/history", f"/incidents/{story['open']}", f"/incidents/{story['resolved']}",
                 f"/incidents/{story['maintenance']}", "/subscribe"]:
        html, document = document_of(client, path)
        assert_safe_page(html, path)
        # Escaped, not dropped: the brand and the title read as the name typed.
        assert document.xpath("//a[@class='brand']")[0].text_content() == payload, path
        assert payload in document.xpath("//head/title")[0].text_content(), path
        og = {m.get("property"): m.get("content") for m in document.xpath("//head/meta[@property]")}
        if og:
            assert og["og:site_name"] == f"{payload} status", path


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_a_page_name_with_markup_is_text_in_the_feeds(client, page_code, story, payload):
    set_profile(client, story["headers"], page_code, payload)

    for path in ["/history.rss", "/history.atom", f"/history.atom?component={story['component']}",
                 f"/history.rss?component={story['component']}"]:
        xml = client.get(path).get_data()
        assert assert_safe_feed(xml, path) >= 1
        document = lxml.etree.fromstring(xml)
        # No element the payload could have opened: it is character data.
        assert not [e for e in document.iter() if isinstance(e.tag, str) and
                    lxml.etree.QName(e).localname in ("script", "img", "svg", "body", "style", "a")], path
        feed = feedparser.parse(xml)
        # Titles hold the name escaped as HTML (Atom types them "html"): a reader that shows them
        # as HTML shows the name as typed, and nothing in it can run.
        titles = (f"{payload} status", f"{payload} status: API")
        assert feed.feed.title_detail.type == "text/html"
        assert "<" not in feed.feed.title and html.unescape(feed.feed.title) in titles
        if path.startswith("/history.atom"):
            assert {entry.author for entry in feed.entries} == {payload}, path
        else:
            assert html.unescape(document.findtext("channel/title")) in titles
            assert set(document.xpath("//item/dc:creator/text()", namespaces=DC)) == {payload}
        for detail in [feed.feed.title_detail, *(e.title_detail for e in feed.entries)]:
            assert_safe_fragment(detail.value, f"{path}: a title")


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_names_with_markup_are_text_in_the_badge_and_the_widget(client, session, page_code, story, payload):
    set_profile(client, story["headers"], page_code, payload)
    api(client, story["headers"], "PATCH", f"/api/v1/pages/{page_code}/components/{story['component']}",
        {"component": {"name": payload}}, 200)

    badge = client.get(f"/badge.svg?component={story['component']}")
    svg = lxml.etree.fromstring(badge.get_data())
    assert badge.mimetype == "image/svg+xml"
    assert svg.findtext("svg:title", namespaces=SVG) == f"{payload}: Degraded Performance"
    for element in svg.iter():
        assert lxml.etree.QName(element).localname not in ("script", "foreignObject", "a", "img")
        assert not [name for name in element.attrib if name.lower().startswith("on")]
    assert run_widget(client.get("/widget.js").get_data(as_text=True)) == {
        "calls": [], "widgets": 1, "title": payload}


# --- the page's address ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "//evil.example/", "https:/\\evil.example",
])
def test_an_address_that_is_not_http_is_refused_and_nothing_changes(client, session, api_token, page_code, url):
    headers = api_token("admin")

    body = api(client, headers, "PATCH", f"/api/v1/pages/{page_code}",
               {"page": {"name": "Renamed", "url": url}}, 422)

    assert body["error"]["field"] == "url"
    assert "http(s) address" in body["error"]["message"]
    session.expire_all()
    page = session.scalars(select(Page)).one()
    assert (page.name, page.url) == ("Acme", None)


def test_an_address_with_markup_in_it_is_only_data_in_the_json(client, page_code, story):
    set_profile(client, story["headers"], page_code, PAYLOADS["attribute-breakout"])

    response = client.get("/api/v2/summary.json")

    assert response.mimetype == "application/json"
    assert response.get_json()["page"]["url"] == f"https://example.com/{PAYLOADS['attribute-breakout']}"


# --- the emails -------------------------------------------------------------------------------------


@pytest.fixture
def mailer(mail_app, smtp_server, worker_for):
    """The mail-sending app with an admin's API key, one component and one confirmed subscriber."""
    from statuspage.accounts.users import create_token, create_user
    from statuspage.audit import Actor
    from statuspage.tools.setup import setup_page

    session = mail_app.extensions["statuspage.db"].session()
    actor = Actor.system("test")
    page = setup_page(session, "Acme", "Europe/Berlin")
    user = create_user(session, "admin@example.com", "correct horse battery", "admin", actor)
    _token, raw = create_token(session, user.email, "test", actor)
    session.commit()
    client = mail_app.test_client()
    yield {"client": client, "headers": {"Authorization": f"OAuth {raw}"}, "page": page.code,
           "sink": smtp_server[0], "worker": worker_for(mail_app)}
    session.close()


def html_part(message) -> str:
    return message.get_body(("html",)).get_content()


def assert_safe_email(html: str, where: str) -> lxml.html.HtmlElement:
    document = lxml.html.document_fromstring(html)
    assert_no_executable_markup(document, where)
    assert not re.search(r"<\s*(script|style|iframe|img|svg)\b", html, re.IGNORECASE), f"{where}: raw markup"
    assert len(re.findall(r"<\s*body\b", html, re.IGNORECASE)) == 1, f"{where}: a second <body>"
    return document


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_a_page_name_and_footer_with_markup_are_text_in_the_emails(mailer, payload):
    client, headers, sink, worker = mailer["client"], mailer["headers"], mailer["sink"], mailer["worker"]
    set_profile(client, headers, mailer["page"], payload)
    client.post("/subscribe", data={"email": "ana@example.org"})
    worker.run_once()
    [confirmation] = sink.to("ana@example.org")
    confirm = re.search(r"http://status\.test(/subscribers/confirm/\S+)",
                        confirmation.get_body(("plain",)).get_content()).group(1)
    assert client.post(confirm).status_code == 200

    api(client, headers, "POST", f"/api/v1/pages/{mailer['page']}/incidents", {"incident": {
        "name": f"Trouble {payload}", "body": f"Body {payload}", "status": "investigating"}}, 201)
    worker.run_once()

    _confirmation, notice = sink.to("ana@example.org")
    document = assert_safe_email(html_part(notice), "the incident email")
    text = document.text_content()
    assert f"Footer {payload}" in text
    assert f"subscribed to {payload} status updates" in text
    assert document.xpath("//h1")[0].text_content() == f"Trouble {payload}"
    asked = assert_safe_email(html_part(confirmation), "the confirmation email")
    assert f"receive {payload} status updates" in asked.text_content()


def test_incident_names_and_markdown_bodies_with_markup_are_safe_in_the_emails(mailer):
    client, headers, sink, worker = mailer["client"], mailer["headers"], mailer["sink"], mailer["worker"]
    client.post("/subscribe", data={"email": "ana@example.org"})
    worker.run_once()
    [confirmation] = sink.to("ana@example.org")
    confirm = re.search(r"http://status\.test(/subscribers/confirm/\S+)",
                        confirmation.get_body(("plain",)).get_content()).group(1)
    assert client.post(confirm).status_code == 200

    for key, payload in MARKDOWN_PAYLOADS.items():
        api(client, headers, "POST", f"/api/v1/pages/{mailer['page']}/incidents", {"incident": {
            "name": f"{one_line(payload)} ({key})", "body": payload, "status": "investigating"}}, 201)
    worker.run_once()

    notices = sink.to("ana@example.org")[1:]
    assert len(notices) == len(MARKDOWN_PAYLOADS)
    for notice in notices:
        document = assert_safe_email(html_part(notice), f"the email {notice['Subject']!r}")
        key = document.xpath("//h1")[0].text_content().rsplit(" (", 1)[-1].rstrip(")")
        assert document.xpath("//h1")[0].text_content() == f"{one_line(MARKDOWN_PAYLOADS[key])} ({key})"
