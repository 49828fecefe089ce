"""Small builders for postmortem tests: an outage told by its status changes, a written postmortem,
and the fields a browser would send back from a rendered form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import lifecycle
from statuspage.postmortems import editing

ACTOR = Actor.system("admin", "responder@example.com")
ZONE = "Europe/Berlin"
T0 = datetime(2024, 8, 14, 12, 30, tzinfo=UTC)  # 14:30 in Berlin

WRITTEN = {"summary": "The database cluster failed.", "root_cause": "A connection pool bug.",
           "impact": "All users.", "resolution": "Restarted and patched.", "conclusion": "We apologize."}


def outage(session, steps, names=("Database cluster",), resolve_at=timedelta(hours=4), name="Elevated error rates"):
    """An incident opened at T0 + 10 min whose components change as `steps` say:
    `[(minutes after T0, {component name: status})]`, the first step opening it; resolved at `resolve_at`."""
    made = {n: catalog.create_component(session, ACTOR, n) for n in names}

    def statuses(step):
        return {made[n].code: status for n, status in step.items()}

    (first_minutes, first_step), *rest = steps
    incident = lifecycle.open_incident(
        session, ACTOR, name=name, body="We are investigating.", started_at=T0,
        component_statuses=statuses(first_step), now=T0 + timedelta(minutes=first_minutes))
    for minutes, step in rest:
        lifecycle.post_update(session, ACTOR, incident, status="identified", body=f"Step at {minutes} min.",
                              component_statuses=statuses(step), now=T0 + timedelta(minutes=minutes))
    lifecycle.post_update(session, ACTOR, incident, status="resolved", body="Verified.", now=T0 + resolve_at)
    session.commit()
    return incident


def written(session, incident, **sections):
    """The incident's postmortem with its required sections written (the others as the template left them)."""
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={**WRITTEN, **sections})
    return postmortem


def timeline_texts(postmortem) -> list[str]:
    return [line["text"] for line in postmortem.timeline if not line.get("removed")]


class _FormFields(HTMLParser):
    """The fields a browser submits from the form whose class contains `css_class`."""

    def __init__(self, css_class: str):
        super().__init__(convert_charrefs=True)
        self.css_class = css_class
        self.inside = False
        self.textarea: str | None = None
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.inside = self.css_class in (attributes.get("class") or "").split()
        elif self.inside and tag == "input" and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind == "checkbox" and "checked" not in attributes:
                return
            self.fields.append((attributes["name"], attributes.get("value") or ("on" if kind == "checkbox" else "")))
        elif self.inside and tag == "textarea":
            self.textarea = attributes["name"]
            self.fields.append((self.textarea, ""))

    def handle_data(self, data):
        if self.textarea is not None:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self.textarea is not None:
            # Browsers send a textarea's line breaks as CRLF.
            name, value = self.fields[-1]
            self.fields[-1] = (name, value.replace("\r\n", "\n").replace("\n", "\r\n"))
            self.textarea = None
        elif tag == "form":
            self.inside = False


def form_fields(html: str, css_class: str = "postmortem-form") -> dict[str, str]:
    """What the browser would post from that form, unchanged (checked boxes only, textareas with CRLF)."""
    parser = _FormFields(css_class)
    parser.feed(html)
    return dict(parser.fields)
