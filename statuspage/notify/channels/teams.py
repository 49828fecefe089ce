"""Microsoft Teams workflow webhooks: one Adaptive Card in the `attachments` array, as Teams' workflows expect.

Every piece of text a person wrote goes in a `TextRun` of a `RichTextBlock`,
which Adaptive Cards never read as Markdown; a `${` that card templating
could expand and an @ that starts a word are broken with a word joiner. The
card's JSON is built as data and serialised once, so no text can add
elements, actions or properties.
"""

from __future__ import annotations

from typing import Any, ClassVar

from statuspage.models import SubscriberMode
from statuspage.notify.channels.chat import ChatChannel
from statuspage.notify.channels.notice import WORD_JOINER, Notice, clip, link_row, unmentioned

CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
TEXT_MAX = 4000
COLOURS = {"critical": "Attention", "major": "Attention", "minor": "Warning", "maintenance": "Accent"}


def teams_text(text: str) -> str:
    """Text a card shows as it is: no template expression, no mention."""
    return unmentioned(text.replace("${", "$" + WORD_JOINER + "{"))


def _runs(*runs: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(runs)}


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": teams_text(text), **style}


class TeamsChannel(ChatChannel):
    """A Teams workflow ("Post to a channel when a webhook request is received")."""

    mode: ClassVar[SubscriberMode] = SubscriberMode.TEAMS
    label: ClassVar[str] = "Microsoft Teams"

    def payload(self, notice: Notice) -> dict[str, Any]:
        body = [_runs(_run(notice.title, size="Large", weight="Bolder",
                           color=COLOURS.get(notice.impact, "Default"),
                           selectAction={"type": "Action.OpenUrl", "url": notice.url}))]
        status = " · ".join(part for part in (notice.status, notice.when) if part)
        if status:
            body.append(_runs(_run(status, isSubtle=True)))
        if notice.components:
            body.append({"type": "FactSet", "facts": [{"title": teams_text(name), "value": teams_text(state)}
                                                      for name, state in notice.components]})
        if notice.text:
            body.append(_runs(_run(clip(notice.text, TEXT_MAX))))
        actions = [{"type": "Action.OpenUrl", "title": "View incident", "url": notice.url}] if notice.status else []
        actions += [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in link_row(notice)]
        card = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body, "actions": actions,
                "msteams": {"width": "Full"}}
        return {"type": "message",
                "attachments": [{"contentType": CARD, "contentUrl": None, "content": card}]}
