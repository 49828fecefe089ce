"""Markdown for messages: markdown-it-py renders, nh3 sanitizes.

Raw HTML is disabled in the parser and anything that slips through is
removed by nh3, so scripts, event handlers and `javascript:` links never
reach a page, a feed or an email.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}


@lru_cache(maxsize=4096)
def render(text: str | None) -> Markup:
    """Safe HTML for a Markdown message (memoized: a resolved update's text never changes, and the
    feeds and history render hundreds of them on every cache miss)."""
    html = _md.render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)


_ORDERED = re.compile(r"<ol(?: start=\"(\d+)\")?>(.*?)</ol>", re.S)


def _numbered(match: re.Match[str]) -> str:
    number = int(match.group(1) or 1)
    items = match.group(2).split("<li>")
    return items[0] + "".join(f"<li>{number + i}. {item}" for i, item in enumerate(items[1:]))


def plain(text: str | None) -> str:
    """The message as plain text (for emails' text part and feed summaries); list items keep a "- " or
    their number, so a list still reads as one."""
    rendered = _ORDERED.sub(_numbered, _md.render(text or "")).replace("<li>", "<li>- ")
    rendered = re.sub(r"<li>- (\d+\. )", r"<li>\1", rendered)
    rendered = re.sub(r"(<li>(?:- |\d+\. ))\s*<p>", r"\1", rendered)  # items of a loose list
    return html.unescape(nh3.clean(rendered, tags=set())).strip()
