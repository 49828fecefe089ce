"""Known XSS payloads in every shown field never reach a page, a feed or the preview as markup."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import feedparser
import lxml.etree
import lxml.html
import pytest
from markupsafe import Markup

from statuspage.config import Settings
from statuspage.db import utcnow
from statuspage.markdown import plain, render
from tests.conftest import post_form

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "md-javascript-link": "[x](javascript:alert(1))",
    "html-javascript-link": '<a href="javascript:alert(1)">x</a>',
    "svg-onload": "<svg onload=alert(1)>",
    "attribute-breakout": '"><script>alert(1)</script>',
    "single-quote-breakout": "'><img src=x onerror=alert(1)>",
    "iframe": "<iframe src=javascript:alert(1)>",
    "md-mixed-case-scheme": "[x](JaVaScRiPt:alert(1))",
    "details-ontoggle": "<details open ontoggle=alert(1)>",
    "md-data-link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "html-data-link": "<a href='data:text/html,<script>alert(1)</script>'>x</a>",
    "md-image-javascript": "![x](javascript:alert(1))",
    "md-entity-scheme": "[x](&#106;avascript:alert(1))",
    "md-autolink": "<javascript:alert(1)>",
    "md-reference-link": "[x][r]\n\n[r]: javascript:alert(1)",
    "md-vbscript": "[x](vbscript:msgbox(1))",
    "md-title-breakout": '[x](https://example.com "a\\" onmouseover=alert(1) x=\\"")',
    "body-onload": "<body onload=alert(1)>",
    "math-mglyph": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "style-tag": "<style>*{background:url(javascript:alert(1))}</style>",
    "code-span": "`<script>alert(1)</script>`",
    "form-action": '<form action="javascript:alert(1)"><button>x</button></form>',
}
def one_line(text: str) -> str:
    """A payload as a name can hold it: names are one line, so line breaks become spaces."""
    return text.replace("\n", " ")


DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                  "srcset", "lowsrc", "dynsrc", "ping", "codebase", "cite"}
FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
                  "base", "style", "img", "video", "audio", "source"}
# The scripts our own pages load, from our static folder: the admin's progressive enhancement and the
# public page's day by day uptime details.
OWN_SCRIPTS = {"/static/admin.js", "/static/public.js"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Every request re-reads the page version, so a change shows at once."""
    return dataclasses.replace(settings, version_check_seconds=0)



# --- the checks -------------------------------------------------------------------------------


def _scheme(value: str) -> str:
    """A URL as a browser reads its scheme: no whitespace or control characters, any case."""
    return re.sub(r"[\x00-\x20]", "", value).lower()


def assert_no_executable_markup(tree: lxml.html.HtmlElement, where: str) -> None:
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions
        tag = element.tag.lower()
        if tag == "script":
            assert element.get("src") in OWN_SCRIPTS and not (element.text or "").strip(), (
                f"{where}: a script element: {lxml.html.tostring(element)!r}")
        elif tag == "svg":
            # Our uptime bars are an SVG; any other <svg> came from input.
            assert element.get("class") == "uptime-bars", f"{where}: a <svg> element"
        else:
            assert tag not in FORBIDDEN_TAGS, f"{where}: a <{tag}> element"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: <{tag} {name}={value!r}>"
            if name.lower() in URL_ATTRIBUTES:
                assert not _scheme(value).startswith(DANGEROUS_SCHEMES), f"{where}: <{tag} {name}={value!r}>"
            if name.lower() == "http-equiv" and value.lower() == "refresh":
                assert "url" not in (element.get("content") or "").lower(), f"{where}: a redirecting refresh"


def assert_safe_page(html: str, where: str) -> None:
    """A whole page: parsed as a browser would, and the raw text too."""
    assert_no_executable_markup(lxml.html.document_fromstring(html), where)
    own = sum(html.count(f'<script src="{src}"') for src in OWN_SCRIPTS)
    assert len(re.findall(r"<\s*script", html, re.IGNORECASE)) == own, f"{where}: a raw <script"
    # A parser drops a second <body>, but a browser merges its attributes (onload=...) into the first.
    for tag in ("html", "head", "body"):
        assert len(re.findall(rf"<\s*{tag}\b", html, re.IGNORECASE)) == 1, f"{where}: a second <{tag}>"


def assert_safe_fragment(html: str, where: str) -> None:
    """A piece of HTML (a feed entry, the preview)."""
    if not html.strip():
        return
    assert_no_executable_markup(lxml.html.fragment_fromstring(html, create_parent="div"), where)
    assert not re.search(r"<\s*(script|html|head|body|meta|link|base)\b", html, re.IGNORECASE), (
        f"{where}: a raw document-level tag")


ATOM = {"a": "http://www.w3.org/2005/Atom"}
RSS_CONTENT = {"content": "http://purl.org/rss/1.0/modules/content/"}


def assert_safe_feed(xml: bytes, where: str) -> int:
    """Every HTML payload of a feed is safe; returns how many were checked."""
    parsed = feedparser.parse(xml)
    assert parsed.bozo == 0, f"{where}: {parsed.get('bozo_exception')}"
    document = lxml.etree.fromstring(xml)
    if document.tag == "rss":
        # Readers show RSS titles as HTML, so they are checked like the descriptions.
        html_parts = document.xpath("//item/description | //item/content:encoded | //title | //channel/description",
                                    namespaces=RSS_CONTENT)
    else:
        html_parts = document.xpath("//a:entry/a:content | //a:entry/a:summary", namespaces=ATOM)
        # Titles and the subtitle are typed HTML (escaped names), so they get the same checks.
        for title in document.xpath("//a:title | //a:subtitle", namespaces=ATOM):
            assert title.get("type") == "html", f"{where}: a title not typed html"
            html_parts.append(title)
    for part in html_parts:
        assert_safe_fragment(part.text or "", where)
    return len(html_parts)


# --- planting the payloads through the API --------------------------------------------------------


@pytest.fixture
def planted(client, api_token, page_code) -> dict[str, dict[str, str]]:
    """For each payload: a group, a component in it, an incident with two updates, a resolved incident
    (for the history), a maintenance and a template, carrying the payload in every field that is shown.
    Returns their ids by payload name."""
    headers = api_token("admin")
    base = f"/api/v1/pages/{page_code}"

    def create(path: str, body: dict) -> dict:
        response = client.post(f"{base}/{path}", json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    start = utcnow() + timedelta(days=1)
    ids = {}
    for key, payload in PAYLOADS.items():
        # Group and template names are unique regardless of case; two payloads differ only in case.
        name = one_line(payload)
        unique = f"{name} ({key})"
        group = create("component-groups", {"component_group": {"name": unique}, "description": payload})
        component = create("components", {"component": {
            "name": name, "description": payload, "group_id": group["id"],
            "status": "degraded_performance",
        }})
        loose = create("components", {"component": {"name": f"Loose {unique}", "description": payload}})
        incident = create("incidents", {"incident": {
            "name": name, "body": payload, "status": "investigating",
            "components": {component["id"]: "partial_outage", loose["id"]: "major_outage"},
        }})
        patched = client.patch(f"{base}/incidents/{incident['id']}", headers=headers, json={"incident": {
            "status": "identified", "body": f"Second update: {payload}",
        }})
        assert patched.status_code == 200, patched.get_data(as_text=True)
        resolved = create("incidents", {"incident": {
            "name": f"Past {name}", "body": payload, "status": "resolved", "component_ids": [component["id"]],
        }})
        maintenance = create("incidents", {"incident": {
            "name": f"Maintenance {name}", "body": payload, "component_ids": [component["id"]],
            "scheduled_for": start.isoformat(), "scheduled_until": (start + timedelta(hours=2)).isoformat(),
        }})
        template = create("incident_templates", {"template": {"name": unique, "title": name,
                                                              "body": payload}})
        ids[key] = {"group": group["id"], "component": component["id"], "incident": incident["id"],
                    "resolved": resolved["id"], "maintenance": maintenance["id"], "template": template["id"]}
    return ids


def page_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return response.get_data(as_text=True)


# --- pages, feeds, the admin ------------------------------------------------------------------


def test_no_payload_becomes_markup_on_the_public_pages_or_in_the_feeds(client, planted):
    for path in ["/", "/history", "/history?page=2"]:
        assert_safe_page(page_of(client, path), path)
    for path in ["/history.rss", "/history.atom"]:
        # Every incident and maintenance is an entry carrying HTML.
        assert assert_safe_feed(page_of(client, path).encode(), path) >= 2 * len(PAYLOADS)
    # The history (resolved incidents only) shows every payload as text, over its two pages.
    history = [lxml.html.document_fromstring(page_of(client, path)) for path in ["/history", "/history?page=2"]]
    names = {a.text_content() for document in history for a in document.xpath("//main//li/a")}
    assert names == {f"Past {one_line(payload)}".strip() for payload in PAYLOADS.values()}
    for key, ids in planted.items():
        for kind in ("incident", "resolved", "maintenance"):
            path = f"/incidents/{ids[kind]}"
            assert_safe_page(page_of(client, path), f"{path} ({key})")
        for path in ["/history.rss", "/history.atom"]:
            url = f"{path}?component={ids['component']}"
            assert assert_safe_feed(page_of(client, url).encode(), f"{url} ({key})") >= 2
        # The payload is shown as text: escaping kept it rather than dropping the field.
        incident_page = lxml.html.document_fromstring(page_of(client, f"/incidents/{ids['incident']}"))
        assert incident_page.xpath("//h1")[0].text_content() == one_line(PAYLOADS[key]).strip()


ADMIN_PAGES = ["/admin/", "/admin/incidents", "/admin/incidents/new", "/admin/maintenance/new",
               "/admin/templates", "/admin/audit"]
ADMIN_PAGES_OF_ONE = ["/admin/incidents/{incident}", "/admin/incidents/{maintenance}",
                      "/admin/incidents/new?template={template}", "/admin/components/{component}",
                      "/admin/groups/{group}"]


def test_no_payload_becomes_markup_on_the_admin_pages(client, planted, login_as):
    login_as("admin")

    for path in ADMIN_PAGES:
        assert_safe_page(page_of(client, path), path)
    for key, ids in planted.items():
        for path in ADMIN_PAGES_OF_ONE:
            url = path.format(**ids)
            assert_safe_page(page_of(client, url), f"{url} ({key})")


def test_a_payload_in_a_flash_message_stays_text(client, api_token, page_code, login_as):
    headers = api_token("admin")
    templates = {}
    for key, payload in PAYLOADS.items():
        response = client.post(f"/api/v1/pages/{page_code}/incident_templates", headers=headers, json={
            "template": {"name": f"{one_line(payload)} ({key})", "body": payload}})
        assert response.status_code == 201, response.get_data(as_text=True)
        templates[key] = response.get_json()["id"]
    login_as("admin")

    for key, code in templates.items():
        response = post_form(client, f"/admin/templates/{code}/delete", {}, follow_redirects=True)

        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_safe_page(html, f"after deleting a template ({key})")
        [flash] = lxml.html.document_fromstring(html).xpath("//p[@class='flash']")
        assert flash.text_content() == f"Template {one_line(PAYLOADS[key])} ({key}) deleted."


def test_a_form_that_comes_back_with_an_error_keeps_the_payload_as_text(client, session, login_as):
    login_as("responder")

    for key, payload in PAYLOADS.items():
        response = post_form(client, "/admin/incidents/new", {
            "name": payload, "status": "investigating", "body": payload, "started_at": "2999-01-01T00:00",
        })

        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert_safe_page(html, f"the re-rendered incident form ({key})")
        document = lxml.html.document_fromstring(html)
        assert document.xpath("//input[@name='name']")[0].get("value") == payload
        assert document.xpath("//textarea[@name='body']")[0].text.strip() == payload.strip()


def test_the_preview_never_returns_markup_that_runs(client, session, login_as):
    login_as("responder")

    for key, payload in PAYLOADS.items():
        response = post_form(client, "/admin/preview", {"body": payload})

        assert response.status_code == 200
        assert_safe_fragment(response.get_json()["html"], f"the preview ({key})")


# --- statuspage.markdown ----------------------------------------------------------------------


@pytest.mark.parametrize("text", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_render_never_returns_markup_that_runs(text):
    html = render(text)

    assert_safe_fragment(str(html), "render()")
    assert_safe_fragment(str(render(f"Before\n\n{text}\n\nAfter")), "render() in a longer message")


@pytest.mark.parametrize("text", [
    '<a href="javascript:alert(1)">x</a>', "<script>alert(1)</script>", "<b onclick=alert(1)>hi</b>",
])
def test_render_shows_raw_html_as_text(text):
    fragment = lxml.html.fragment_fromstring(str(render(text)), create_parent="div")

    assert fragment.text_content().strip() == text


def test_render_keeps_the_formatting_messages_need():
    html = str(render(
        "# Update\n\n**Fixed** and _monitoring_, ~~down~~.\n\n- one\n- two\n\n1. first\n\n"
        "> quoted\n\n`code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    ))

    for piece in ("<h1>Update</h1>", "<strong>Fixed</strong>", "<em>monitoring</em>", "<s>down</s>",
                  "<li>one</li>", "<ol>", "<blockquote>", "<code>code</code>", "<table>", "<td>1</td>"):
        assert piece in html


@pytest.mark.parametrize(("text", "href"), [
    ("[docs](https://example.com/a?b=1)", "https://example.com/a?b=1"),
    ("[status](http://example.com)", "http://example.com"),
    ("[mail us](mailto:ops@example.com)", "mailto:ops@example.com"),
    ("[relative](/history)", "/history"),
])
def test_render_keeps_safe_links_and_marks_them_nofollow(text, href):
    [link] = lxml.html.fragment_fromstring(str(render(text)), create_parent="div").xpath("//a")

    assert link.get("href") == href
    assert set(link.get("rel").split()) == {"noopener", "noreferrer", "nofollow"}


@pytest.mark.parametrize("text", [
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](data:text/html,hi)",
    "[x](vbscript:msgbox(1))", "[x](file:///etc/passwd)",
])
def test_render_drops_links_with_unsafe_schemes(text):
    fragment = lxml.html.fragment_fromstring(str(render(text)), create_parent="div")

    assert fragment.xpath("//a/@href") == []


def test_render_returns_markup_and_accepts_nothing():
    assert isinstance(render("hi"), Markup)
    assert render(None) == Markup("")
    assert render("") == Markup("")


def test_plain_strips_formatting_and_reads_entities():
    assert plain("**Errors** on the [API](https://example.com) &amp; _web_") == "Errors on the API & web"
    assert plain(None) == ""


def test_plain_keeps_what_the_author_typed_as_text():
    text = plain("We saw <script>alert(1)</script> in logs")

    assert text == "We saw <script>alert(1)</script> in logs"
    # Text, not HTML: whoever shows it in HTML must escape it, as Jinja does.
    assert "<p>" not in text
