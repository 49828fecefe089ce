"""Discord webhooks: one embed coloured by impact, with mentions switched off.

`"allowed_mentions": {"parse": []}` means nothing in the message can ping
`@everyone`, a role or a user; the text is also Markdown-escaped (so no
masked link or formatting of a person's own) with `<` escaped and every @
that starts a word broken. Discord's limits: title 256, description 4,096,
field name 256 and value 1,024, at most 25 fields, 6,000 characters in all,
at most 10 embeds (we send one). A 429 carries `retry_after` (seconds) in
its JSON body; Discord answers a good POST with 204.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, ClassVar

from statuspage.models import SubscriberMode
from statuspage.notify.channels.chat import ChatChannel
from statuspage.notify.channels.hooks import DEFAULT_RETRY_AFTER, retry_after
from statuspage.notify.channels.notice import Notice, clip, link_row, unmentioned
from statuspage.outbound.http import HttpResponse

TITLE_MAX, DESCRIPTION_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX, FIELDS_MAX, TOTAL_MAX = 256, 4096, 256, 1024, 25, 6000
# Characters of the update's text kept when many components compete with it for the 6,000.
TEXT_KEPT = 1000
COLOURS = {"none": 0x2FB344, "minor": 0xF1C40F, "major": 0xE67E22, "critical": 0xE03E2D, "maintenance": 0x3498DB}
_MARKDOWN = re.compile(r"([\\`*_~|>#\-\[\]()<])")


def discord_escape(text: str) -> str:
    """Text Discord shows literally: Markdown punctuation and `<` backslashed, no @ that can mention."""
    return unmentioned(_MARKDOWN.sub(r"\\\1", text))


def _fields(components: list[tuple[str, str]], budget: int) -> list[tuple[str, str]]:
    """(name, value) fields of the components that fit in `budget` characters (and Discord's 25); the
    last says how many more there are when some are left out."""
    pairs = [(clip(discord_escape(name), FIELD_NAME_MAX), clip(discord_escape(state), FIELD_VALUE_MAX))
             for name, state in components]
    kept: list[tuple[str, str]] = []
    used = 0
    for index, (name, value) in enumerate(pairs):
        rest = len(pairs) - index
        if len(kept) == FIELDS_MAX - 1 and rest > 1 or used + len(name) + len(value) > budget - 40:
            kept.append(("…", f"and {rest} more on the page"))
            break
        kept.append((name, value))
        used += len(name) + len(value)
    return kept


class DiscordChannel(ChatChannel):
    """A Discord channel webhook."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.DISCORD
    label: ClassVar[str] = "Discord"

    def payload(self, notice: Notice) -> dict[str, Any]:
        title = clip(discord_escape(notice.title), TITLE_MAX)
        status = discord_escape(" · ".join(part for part in (notice.status, notice.when) if part))
        links = " · ".join(f"[{label}]({url})" for label, url in link_row(notice))
        pairs = _fields(notice.components, TOTAL_MAX - len(title) - len(status) - len(links) - TEXT_KEPT)
        fields = [{"name": name, "value": value, "inline": True} for name, value in pairs]
        fixed = len(title) + sum(len(name) + len(value) for name, value in pairs)
        room = min(DESCRIPTION_MAX, TOTAL_MAX - fixed) - len(status) - len(links) - 4
        text = clip(discord_escape(notice.text), max(room, 0))
        description = "\n\n".join(part for part in (status, text, links) if part)
        embed = {"title": title, "url": notice.url, "description": description,
                 "color": COLOURS.get(notice.impact, COLOURS["none"]), "fields": fields}
        return {"allowed_mentions": {"parse": []}, "embeds": [embed]}

    def wait_asked(self, response: HttpResponse) -> timedelta:
        """Discord's `retry_after` (seconds, in the JSON body), else the Retry-After header."""
        try:
            seconds = json.loads(response.body or b"{}").get("retry_after")
        except (ValueError, AttributeError):
            seconds = None
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            return retry_after(str(seconds)) or DEFAULT_RETRY_AFTER
        return super().wait_asked(response)
