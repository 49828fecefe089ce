"""RSS 2.0 and Atom 1.0 feeds of incidents and maintenance, built with feedgen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator
from markupsafe import escape

from .markdown import render
from .models import Component, Incident, Page
from .postmortems import export_markdown
from .timefmt import local

FEED_SIZE = 100


def last_change(incident: Incident) -> datetime:
    """When an entry last changed: its newest update, or its postmortem's publication or revision."""
    postmortem = incident.postmortem
    moments = [incident.updated_at]
    if postmortem is not None and postmortem.published_at is not None:
        moments += [postmortem.published_at, postmortem.revised_at or postmortem.published_at]
    return max(moments)


def entry_html(incident: Incident, time_zone: str) -> str:
    """Every update of an incident, newest first, as sanitized HTML."""
    parts = []
    postmortem = incident.postmortem
    if postmortem is not None and postmortem.published_at is not None:
        text = export_markdown(incident, postmortem, time_zone, public=True, items=incident.action_items)
        parts.append(f"{render(text)}<hr>")
    for update in incident.updates:
        when = local(update.display_at, time_zone).strftime("%b %d, %Y %H:%M %Z")
        status = update.status.replace("_", " ").title()
        parts.append(f"<p><small>{escape(when)}</small><br><strong>{escape(status)}</strong></p>"
                     f"{render(update.body)}")
    return "\n".join(parts)


def build_feed(
    page: Page,
    base_url: str,
    incidents: Sequence[Incident],
    self_url: str,
    component: Component | None = None,
) -> FeedGenerator:
    """A feed with one entry per incident or maintenance, its updated time the newest update's."""
    feed = FeedGenerator()
    title = f"{page.name} status" + (f": {component.name}" if component else "")
    feed.id(f"{base_url}/history" + (f"?component={component.code}" if component else ""))
    feed.title(title)
    feed.description(f"Incidents and maintenance on the {page.name} status page.")
    feed.link(href=f"{base_url}/", rel="alternate")
    feed.link(href=self_url, rel="self")
    feed.language("en")
    feed.updated(max((last_change(i) for i in incidents), default=page.updated_at))
    for incident in incidents:
        url = f"{base_url}/incidents/{incident.code}"
        entry = feed.add_entry(order="append")
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(incident.name)
        entry.link(href=url)
        entry.published(incident.created_at)
        entry.updated(last_change(incident))
        html = entry_html(incident, page.time_zone)
        # description() first: it also sets Atom's content, untyped; content() then marks it HTML.
        entry.description(html)
        entry.content(html, type="html")
    return feed
