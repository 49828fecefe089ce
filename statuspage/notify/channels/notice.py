"""What a chat or SMS message says, before any service's markup: one `Notice` per delivery.

Each chat channel turns a Notice into its own payload and escapes every
piece of text a person wrote (names, updates) by its service's rules, so the
text is shown and never read as markup, a mention or a link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from statuspage.markdown import plain
from statuspage.models import Delivery, EventKind, OutboxEvent
from statuspage.notify.channels.base import Batch
from statuspage.notify.emails import personal_links
from statuspage.outbox.alerts import SEVERITY_IMPACT


@dataclass(frozen=True)
class Notice:
    """A message in plain words: channels render it, escaping all of it."""

    kind: EventKind
    # The incident's name ("Checkout fails"), or what a confirmation asks.
    title: str
    # "Identified", "Scheduled", "Postmortem"; empty for confirmations.
    status: str
    # Statuspage's impact (none, minor, major, critical, or maintenance), for colours.
    impact: str
    # The update as plain text (Markdown rendered, then tags dropped).
    text: str
    # The page the title links to: the incident, or the confirmation.
    url: str
    # When it was posted, in the page's time zone ("Dec 06, 2026 14:05 CET"); empty if not dated.
    when: str = ""
    # (component, its new status in words) of the update.
    components: list[tuple[str, str]] = field(default_factory=list)
    # The subscriber's own signed links: confirm, manage, unsubscribe.
    links: dict[str, str] = field(default_factory=dict)
    # The six-digit code of an SMS confirmation.
    code: str = ""
    page_name: str = ""


def words(value: object) -> str:
    """A status as people read it: `major_outage` -> `Major outage`."""
    return str(value or "").replace("_", " ").capitalize()


def notice(batch: Batch, delivery: Delivery) -> Notice:
    """The Notice of one delivery: the event in plain words (made once per event and batch), with the
    subscriber's own links."""
    links = personal_links(batch.mail, delivery.subscriber, delivery.event)
    shared: Notice = batch.once(("notice", delivery.event_id), lambda: _event_notice(batch, delivery.event))
    if delivery.event.kind in (EventKind.CONFIRMATION, EventKind.MANAGE_LINK):
        first = "confirm" if delivery.event.kind == EventKind.CONFIRMATION else "manage"
        return replace(shared, url=links.get(first, ""), links=links)
    return replace(shared, links=links)


def _event_notice(batch: Batch, event: OutboxEvent) -> Notice:
    payload = event.payload
    page_name, updates = batch.mail.page_name, f"{batch.mail.status_name} updates"  # never "Status status"
    if event.kind == EventKind.CONFIRMATION:
        return Notice(event.kind, f"Confirm {updates} here", "", "none",
                      f"Someone asked for {updates} to be sent here. Nothing more is sent "
                      "until the link is followed and confirmed; if you did not ask for this, ignore it.",
                      "", code=str(payload.get("sms_code", "")), page_name=page_name)
    if event.kind == EventKind.ALERT:
        return alert_notice(batch, event)
    if event.kind == EventKind.MANAGE_LINK:
        return Notice(event.kind, f"{updates} already come here", "", "none",
                      "Follow the link to choose components or unsubscribe.", "", page_name=page_name)
    is_postmortem = event.kind == EventKind.POSTMORTEM
    text = str(payload.get("text") or "") if is_postmortem and payload.get("text") else plain(payload.get("body"))
    impact = "maintenance" if event.kind == EventKind.MAINTENANCE else str(payload.get("impact") or "none")
    return Notice(
        event.kind, str(payload.get("name") or ""), "Postmortem" if is_postmortem else words(payload.get("status")),
        impact, text, f"{batch.mail.base_url}/incidents/{payload.get('incident', '')}",
        when=_local(payload.get("display_at"), batch.mail.time_zone),
        components=[(str(a.get("name", "")), words(a.get("new_status"))) for a in payload.get("affected") or []
                    if isinstance(a, dict)],
        page_name=page_name,
    )


def alert_notice(batch: Batch, event: OutboxEvent) -> Notice:
    """An alert to responders in plain words: what happened, and the admin link to act on it."""
    payload = event.payload
    return Notice(event.kind, str(payload.get("title") or ""), words(payload.get("message") or payload.get("event")),
                  SEVERITY_IMPACT.get(str(payload.get("severity")), "none"), str(payload.get("text") or ""),
                  f"{batch.mail.base_url}{payload.get('link') or '/admin/'}",
                  when=_local(payload.get("at"), batch.mail.time_zone), page_name=batch.mail.page_name)


def _local(at: object, time_zone: str) -> str:
    if not isinstance(at, str) or not at:
        return ""
    return datetime.fromisoformat(at).astimezone(ZoneInfo(time_zone)).strftime("%b %d, %Y %H:%M %Z")


def clip(text: str, limit: int, more: str = "…") -> str:
    """`text` cut to at most `limit` characters, ending in `more` when cut."""
    return text if len(text) <= limit else text[: max(limit - len(more), 0)].rstrip() + more


# An @ that starts a word starts a mention in most chat services (@everyone, @channel, @here, @all).
_MENTION = re.compile(r"(?<![\w.+-])@")
WORD_JOINER = "\u2060"


def unmentioned(text: str) -> str:
    """`text` with a word joiner after every @ that starts a word, so no service reads a mention in it
    (addresses such as ops@example.com are left as they are)."""
    return _MENTION.sub("@" + WORD_JOINER, text)


def link_row(notice: Notice) -> list[tuple[str, str]]:
    """(label, URL) of the subscriber's own links a message ends with: confirm or manage, and unsubscribe."""
    first = ("confirm", "Confirm") if notice.kind == EventKind.CONFIRMATION else ("manage", "Manage subscription")
    return [(label, notice.links[key]) for key, label in (first, ("unsubscribe", "Unsubscribe"))
            if notice.links.get(key)]
