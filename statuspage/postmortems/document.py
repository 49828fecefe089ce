"""What a postmortem says: its sections and template, which text is still only the template's
scaffolding, the public view every channel shares, and the Markdown export.

The public page, the feeds, the email, the management API's `postmortem_body` and the static
export all read `public_sections`, so a section, a timeline line or an action item shows the same
everywhere, in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from statuspage.errors import InvalidInput
from statuspage.incidents.rules import BODY_MAX
from statuspage.markdown import plain
from statuspage.models import ActionItem, ActionStatus, Incident, Postmortem

SECTIONS: list[tuple[str, str]] = [
    ("summary", "Summary"),
    ("timeline", "Timeline of events"),
    ("root_cause", "Root cause"),
    ("impact", "Impact"),
    ("resolution", "Resolution and recovery"),
    ("lessons", "Lessons learned"),
    ("action_items", "Action items"),
    ("conclusion", "Conclusion"),
]
SECTION_KEYS = [key for key, _title in SECTIONS]
TITLES = dict(SECTIONS)
# The timeline and action items are drafted or tracked apart; these must be written by a person.
REQUIRED = ("summary", "root_cause", "impact", "resolution", "conclusion")
FIGURES_HEADING = "Figures recorded by the status page:"
# Prompts to answer; a section holding only these (or nothing) is empty.
TEMPLATE = {
    "root_cause": "",
    "impact": "1. Users: \n2. Business: \n3. Systems: ",
    "resolution": "- Immediate actions: \n- Long-term actions: ",
    "lessons": "1. Monitoring: \n2. Incident response: \n3. Testing: ",
    "action_items": "",
    "conclusion": "We apologize for the inconvenience caused and appreciate the understanding and patience "
                  "of our users during this incident.",
}
ITEM_STATUS_WORDS = {ActionStatus.OPEN: "Open", ActionStatus.IN_PROGRESS: "In progress", ActionStatus.DONE: "Done"}

_LIST_MARKER = re.compile(r"^(?:[-*+]|\d+[.)])\s*")
_EMPHASIS = re.compile(r"[*_]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>])")


# --- the template's scaffolding ---------------------------------------------------------------------


def _is_prompt(line: str) -> bool:
    """A lead-in like `1. **Users**:` or `Immediate actions:` with nothing written after it."""
    text = _EMPHASIS.sub("", _LIST_MARKER.sub("", line)).strip()
    return text.endswith(":") and 0 < len(text) <= 80 and text.count(":") == 1


def is_skeleton(text: str | None) -> bool:
    """True when a section holds nothing a person wrote: only headings, unanswered prompts and
    the figures the system drafted into Impact. Such a section counts as empty."""
    in_figures = False
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == FIGURES_HEADING:
            in_figures = True
            continue
        if in_figures and line.startswith("- "):
            continue
        in_figures = False
        if line.startswith("#") or _is_prompt(line):
            continue
        return False
    return True


def unwritten_required(sections: dict[str, str]) -> list[str]:
    """The titles of required sections that are empty or still only the template's prompts."""
    return [TITLES[key] for key in REQUIRED if is_skeleton(sections.get(key))]


def require_written(sections: dict[str, str], what: str) -> None:
    """Refuse (naming the sections) when a required section is empty or still the template."""
    missing = unwritten_required(sections)
    if missing:
        raise InvalidInput(f"{what}: {', '.join(missing)} (empty, or still only the template's prompts).",
                           "sections")


# --- the drafted summary ---------------------------------------------------------------------------


def duration_words(minutes: int) -> str:
    """`4 hours`, `1 hour 30 minutes`, `45 minutes`: a duration as a sentence says it."""
    hours, minutes = divmod(max(minutes, 0), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def _names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def drafted_summary(incident: Incident, end: datetime, zone: str) -> str:
    """The summary's first sentences, from what was recorded: when, what, how long."""
    tz = ZoneInfo(zone)
    start, finish = incident.started_at.astimezone(tz), end.astimezone(tz)
    names = [c.name for c in incident.components]
    who = f"{_names(names)} {'were' if len(names) > 1 else 'was'}" if names else "our service was"
    until = finish.strftime("%H:%M %Z")
    if finish.date() != start.date():
        until += f" on {finish.strftime('%B')} {finish.day}"
    minutes = int((end - incident.started_at).total_seconds() // 60)
    return (f"On {start.strftime('%B')} {start.day}, {start.year}, at approximately {start.strftime('%H:%M %Z')}, "
            f"{who} affected by the incident “{incident.name}”. The issue lasted approximately "
            f"{duration_words(minutes)} and was resolved at {until}; normal operations have since resumed.")


# --- the public view ---------------------------------------------------------------------------------


def md_text(value: str) -> str:
    """Text shown as written when read as Markdown (no emphasis, links or HTML of its own)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def ordered_items(items: Iterable[ActionItem], public: bool) -> list[ActionItem]:
    """Action items as every channel lists them: the soonest due first, undated last, then as added."""
    chosen = [item for item in items if item.public or not public]
    return sorted(chosen, key=lambda i: (i.due_date is None, i.due_date or date.min, i.id or 0))


def item_line(item: ActionItem, public: bool, markdown: bool = True) -> str:
    """One action item as a list line (Markdown, or plain text for an email's text part): title
    (linked), status, due date; the owner only in the responders' own export, never publicly."""
    title = md_text(item.title) if markdown else item.title
    if item.link:
        title = f"[{title}](<{item.link}>)" if markdown else f"{title} <{item.link}>"
    details = [ITEM_STATUS_WORDS[item.status]]
    if item.due_date:
        details.append(f"due {item.due_date.strftime('%b')} {item.due_date.day}, {item.due_date.year}")
    if not public:
        if item.owner:
            details.append(f"owner {md_text(item.owner) if markdown else item.owner}")
        if not item.public:
            details.append("not public")
    return f"- {title} — {', '.join(details)}"


def timeline_line(line: dict[str, Any], zone: str, markdown: bool = True) -> str:
    when = datetime.fromisoformat(line["at"]).astimezone(ZoneInfo(zone)).strftime("%H:%M %Z")
    return f"- {when}: {md_text(line['text']) if markdown else line['text']}"


@dataclass(frozen=True)
class PublicSection:
    """One section as customers read it: Markdown, plain text (an email's text part), and the
    timeline's lines for the page's `<time>` elements."""

    key: str
    title: str
    markdown: str
    text: str
    lines: list[dict[str, Any]] = field(default_factory=list)


def _section(key: str, postmortem: Postmortem, items: Sequence[ActionItem], zone: str,
             public: bool) -> PublicSection | None:
    written = (postmortem.sections.get(key) or "").strip()
    if public and is_skeleton(written):
        written = ""
    lines: list[dict[str, Any]] = []
    if key == "timeline":
        lines = [line for line in postmortem.timeline if not line.get("removed")]
        markdown = "\n".join(timeline_line(line, zone) for line in lines)
        text = "\n".join(timeline_line(line, zone, markdown=False) for line in lines)
    elif key == "action_items":
        listed = ordered_items(items, public)
        markdown = "\n\n".join(part for part in (written, "\n".join(item_line(i, public) for i in listed)) if part)
        text = "\n\n".join(part for part in (plain(written),
                                              "\n".join(item_line(i, public, markdown=False) for i in listed)) if part)
    else:
        markdown, text = written, plain(written)
    if not markdown:
        return None
    return PublicSection(key, TITLES[key], markdown, text, lines)


def shown_sections(postmortem: Postmortem, items: Sequence[ActionItem], zone: str,
                   public: bool = True) -> list[PublicSection]:
    """The sections with something to say, in order. `public` leaves out the template's
    unanswered prompts, internal action items and owners."""
    found = (_section(key, postmortem, items, zone, public) for key, _title in SECTIONS)
    return [section for section in found if section is not None]


def public_sections(incident: Incident, zone: str) -> list[PublicSection]:
    """What customers read of a published postmortem (the page, the feeds, the API, the email)."""
    postmortem = incident.postmortem
    if postmortem is None or postmortem.published_at is None:
        return []
    return shown_sections(postmortem, incident.action_items, zone)


def export_markdown(incident: Incident, postmortem: Postmortem, zone: str, public: bool = False,
                    items: Sequence[ActionItem] = (), heading: bool = True) -> str:
    """The whole postmortem as one Markdown document (`public`: as customers read it)."""
    parts = [f"# Postmortem: {incident.name}", ""] if heading else []
    for section in shown_sections(postmortem, items, zone, public):
        parts += [f"## {section.title}", "", section.markdown, ""]
    return "\n".join(parts).rstrip() + "\n"


def export_text(incident: Incident, postmortem: Postmortem, zone: str, items: Sequence[ActionItem]) -> str:
    """The public postmortem as plain text, for the text part of the email (its title is the subject's)."""
    parts = []
    for section in shown_sections(postmortem, items, zone):
        parts += [section.title, "-" * len(section.title), section.text, ""]
    return "\n".join(parts).rstrip() + "\n"


def sections_from_markdown(text: object, items: Sequence[ActionItem] = ()) -> dict[str, str]:
    """Split a Markdown draft by `## <section title>` headings into our sections (Statuspage's body_draft).

    Text before the first known heading, or under an unknown one, goes to the summary; a
    `Timeline of events` heading is ignored here because the timeline is kept as lines, and the
    lines the export wrote for `items` are dropped because the items are kept as rows: a draft
    read from the API and sent back unchanged changes nothing.
    """
    if not isinstance(text, str):
        raise InvalidInput("body_draft must be Markdown text.", "body_draft")
    if len(text) > BODY_MAX * 4:
        raise InvalidInput("The postmortem is too long.", "body_draft")
    titles = {title.lower(): key for key, title in SECTIONS}
    sections: dict[str, list[str]] = {}
    current = "summary"
    for line in text.splitlines():
        heading = line.strip().lstrip("#").strip().lower() if line.lstrip().startswith("#") else None
        if heading is not None and heading in titles:
            current = titles[heading]
            continue
        if heading is not None and heading.startswith("postmortem"):
            continue
        sections.setdefault(current, []).append(line)
    sections.pop("timeline", None)
    listed = {item_line(item, public=False) for item in items}
    if "action_items" in sections:
        sections["action_items"] = [line for line in sections["action_items"] if line.strip() not in listed]
    return {key: "\n".join(lines).strip() for key, lines in sections.items()}


# "A postmortem will follow." and its kin, as responders write it in a resolved update.
_PROMISE = re.compile(
    r"\s*\b(?:an?|the|our)\s+(?:full\s+)?post-?mortem\s+will\s+(?:follow|be\s+published)[^.!\n]*[.!]?",
    re.IGNORECASE)


def promise_kept(body: str, incident: Incident) -> str:
    """An update's text as the public page shows it: once the postmortem is published, the sentence promising
    it is left out (the postmortem is right there; the update itself is not changed)."""
    if incident.postmortem is None or incident.postmortem.published_at is None:
        return body
    return _PROMISE.sub("", body).strip()
