"""RSS 2.0 and Atom 1.0 feeds of incidents and maintenance, built with feedgen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator
from lxml import etree
from markupsafe import escape

from statuspage.markdown import render
from statuspage.models import Component, Incident, Page
from statuspage.postmortems.document import export_markdown
from statuspage.timefmt import local

FEED_SIZE = 100
ATOM = "http://www.w3.org/2005/Atom"
LOCAL_FORMAT = "%b %d, %Y %H:%M %Z"


def last_change(incident: Incident) -> datetime:
    """When an entry last changed: its newest update, or its postmortem's publication or revision."""
    postmortem = incident.postmortem
    moments = [incident.updated_at]
    if postmortem is not None and postmortem.published_at is not None:
        moments += [postmortem.published_at, postmortem.revised_at or postmortem.published_at]
    return max(moments)


def window_html(maintenance: Incident, time_zone: str) -> str:
    """A maintenance window in the page's time zone and in UTC, so a reader anywhere knows when it is."""
    start, end = maintenance.scheduled_for, maintenance.scheduled_until
    if start is None or end is None:
        return ""
    shown = f"{local(start, time_zone):{LOCAL_FORMAT}} – {local(end, time_zone):{LOCAL_FORMAT}}"
    in_utc = f"{local(start, 'UTC'):{LOCAL_FORMAT}} – {local(end, 'UTC'):{LOCAL_FORMAT}}"
    return f"<p><strong>Scheduled window:</strong> {escape(shown)} <small>({escape(in_utc)})</small></p>"


def entry_html(incident: Incident, time_zone: str) -> str:
    """A maintenance's window, then every update of the entry, newest first, as sanitized HTML."""
    parts = [window_html(incident, time_zone)] if incident.is_maintenance else []
    postmortem = incident.postmortem
    if postmortem is not None and postmortem.published_at is not None:
        text = export_markdown(incident, postmortem, time_zone, public=True, items=incident.action_items)
        parts.append(f"{render(text)}<hr>")
    for update in incident.updates:
        when = local(update.display_at, time_zone).strftime(LOCAL_FORMAT)
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
    """A feed with one entry per incident or maintenance, its updated time the newest update's.

    The page is every entry's author: Atom's <author>, and RSS's dc:creator, since RSS's own
    <author> must be an email address. The channel's <link> is the status page; the feed's own
    address is only its rel=self link.
    """
    feed = FeedGenerator()
    feed.load_extension("dc", atom=False, rss=True)
    author = {"name": page.name, "uri": f"{base_url}/"}
    # Names are escaped as HTML: many readers show RSS titles as HTML, and Atom's are typed "html"
    # (atom_bytes), so a name like "<b>API</b>" reads as itself everywhere instead of running as markup.
    title = escape(f"{page.name} status" + (f": {component.name}" if component else ""))
    feed.id(f"{base_url}/history" + (f"?component={component.code}" if component else ""))
    feed.title(title)
    feed.description(escape(f"Incidents and maintenance on the {page.name} status page."))
    feed.author(author)
    feed.dc.dc_creator(page.name)
    # feedgen takes the last link as RSS's channel <link>: the page's, after the feed's own.
    feed.link(href=self_url, rel="self")
    feed.link(href=f"{base_url}/", rel="alternate")
    feed.language("en")
    feed.updated(max((last_change(i) for i in incidents), default=page.updated_at))
    for incident in incidents:
        url = f"{base_url}/incidents/{incident.code}"
        entry = feed.add_entry(order="append")
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(escape(incident.name))
        entry.link(href=url)
        entry.author(author)
        entry.dc.dc_creator(page.name)
        entry.published(incident.created_at)
        entry.updated(last_change(incident))
        html = entry_html(incident, page.time_zone)
        # description() first: it also sets Atom's content, untyped; content() then marks it HTML.
        entry.description(html)
        entry.content(html, type="html")
    return feed


def rss_bytes(feed: FeedGenerator) -> bytes:
    """The feed as RSS 2.0."""
    return bytes(feed.rss_str(pretty=False))


def atom_bytes(feed: FeedGenerator) -> bytes:
    """The feed as Atom 1.0, its titles and subtitle typed "html" since they hold escaped HTML."""
    root = etree.fromstring(feed.atom_str(pretty=False))
    for element in root.iter(f"{{{ATOM}}}title", f"{{{ATOM}}}subtitle"):
        element.set("type", "html")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
