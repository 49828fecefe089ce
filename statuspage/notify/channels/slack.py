"""Slack incoming webhooks (Block Kit), and Mattermost, which takes the same payload.

Slack's rules for text: `&`, `<` and `>` become entities, so nothing a person
wrote can form a link, a mention (`<!channel>`, `<@U123>`) or a date; Slack
has no escape for `*` or `_`, which can only make text bold or italic.
Mattermost reads the same payload's `text` as Markdown and turns Slack's
`<!channel>` into `@channel`, so its text is also Markdown-escaped and every
`@` that starts a word is broken with a word joiner.
Limits honoured: a section's text at most 3,000 characters, at most 50 blocks.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from statuspage.models import SubscriberMode
from statuspage.notify.channels.chat import ChatChannel
from statuspage.notify.channels.notice import Notice, clip, link_row, unmentioned

SECTION_MAX = 3000
# What can make Markdown of a person's text: emphasis, code, links and images, tables, headings, strikes.
_MARKDOWN = re.compile(r"([\\`*_\[\]()#!|~])")


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_escape(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally: `&`, `<`, `>` as entities; no @ that can mention."""
    return unmentioned(_entities(text))


def mattermost_escape(text: str) -> str:
    """Text as Mattermost's Markdown shows it literally: Slack's entities, then Markdown punctuation
    backslashed (after, so no backslash lands inside an entity)."""
    return unmentioned(_MARKDOWN.sub(r"\\\1", _entities(text)))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_MAX)}}


class SlackChannel(ChatChannel):
    """A Slack incoming webhook: a Block Kit message, and the same as plain `text` for notifications."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.SLACK
    label: ClassVar[str] = "Slack"
    escape = staticmethod(slack_escape)

    def payload(self, notice: Notice) -> dict[str, Any]:
        esc = self.escape
        title = f"*<{notice.url}|{esc(notice.title)}>*"
        lines = [title]
        if notice.status:
            lines.append(" · ".join(esc(part) for part in (notice.status, notice.when) if part))
        blocks = [_section("\n".join(lines))]
        if notice.components:
            blocks.append(_section("\n".join(f"• {esc(name)}: {esc(status)}" for name, status in notice.components)))
        if notice.text:
            blocks.append(_section(esc(notice.text)))
        footer = _links(notice)
        if footer:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
        text = "\n\n".join(block["text"]["text"] for block in blocks if block["type"] == "section")
        return {"text": "\n\n".join(filter(None, (text, footer))), "blocks": blocks,
                "unfurl_links": False, "unfurl_media": False}


def _links(notice: Notice) -> str:
    """The subscriber's own links, in Slack's link syntax (our URLs: nothing to escape)."""
    return " · ".join(f"<{url}|{label}>" for label, url in link_row(notice))


class MattermostChannel(SlackChannel):
    """A Mattermost (or Rocket.Chat) incoming webhook: Slack's payload, with Markdown-safe text."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.MATTERMOST
    label: ClassVar[str] = "Mattermost"
    escape = staticmethod(mattermost_escape)
