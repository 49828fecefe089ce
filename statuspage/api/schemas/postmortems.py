"""Postmortems: Statuspage's draft, publish and revert bodies, our answer, and their operations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from statuspage.api.schemas.base import UNSET, Body, Wrapped, checked_in_domain, table_model
from statuspage.api.schemas.fields import Flag, Ignored
from statuspage.api.schemas.operations import READ, WITH_BODY, Operation, Section
from statuspage.errors import InvalidInput
from statuspage.incidents.rules import BODY_MAX
from statuspage.models import ActionStatus
from statuspage.postmortems.document import SECTIONS
from statuspage.postmortems.editing import TIMELINE_LINE_MAX
from statuspage.postmortems.recorded import Figures
from statuspage.shapes import Day, Id, Timestamp

# The sections a person writes (the timeline is kept as lines), and the figures the record gives.
SECTION_KEYS = [key for key, _title in SECTIONS if key != "timeline"]
FIGURES = [label for label, _value in Figures(datetime(2024, 1, 1, tzinfo=UTC), None, None, None, None, None).rows]
_CLOSED = ConfigDict(extra="forbid")


def _sections(value: Any, field: str) -> dict[str, Any]:
    sections = value or {}
    if not isinstance(sections, dict):
        raise InvalidInput("sections must map section names to Markdown.", field)
    return dict(sections)


class TimelineLineInput(TypedDict):
    """A line as edited: `key` keeps an existing line's identity, a new key makes a manual line."""

    key: NotRequired[str]
    at: Annotated[str, Field(json_schema_extra={"format": "date-time"}, description=(
        "ISO 8601 (no offset means the page's time zone); from a week before the incident started until now."))]
    text: Annotated[str, Field(min_length=1, max_length=TIMELINE_LINE_MAX, pattern=r"\S")]
    removed: NotRequired[bool]


SectionsInput = table_model("PostmortemSectionsInput", __name__, {
    key: (Annotated[str, Field(max_length=BODY_MAX)], UNSET) for key in SECTION_KEYS},
    doc="Sections to set, each Markdown; they win over `body_draft`.")


class PostmortemDraft(Body):
    """Changes to the draft."""

    body_draft: Annotated[Any, checked_in_domain(Annotated[str, Field(max_length=BODY_MAX * 4)]), Field(description=(
        "Markdown split into sections by `## <section title>` headings (`## Root cause`); text before the first one "
        "is the summary. The timeline is kept as lines."))] = UNSET
    sections: Annotated[Any, checked_in_domain(SectionsInput, _sections)] = UNSET
    timeline: Annotated[Any, checked_in_domain(list[TimelineLineInput]), Field(
        description="The whole timeline, replacing it.")] = UNSET


class PostmortemPublish(Body):
    """How to publish."""

    notify_subscribers: Annotated[Flag, Field(description="Tell subscribers (default true).")] = True
    notify_twitter: Ignored = None
    custom_tweet: Ignored = None


DRAFT = Wrapped("postmortem", PostmortemDraft,
                shape='The body must be {"postmortem": {"body_draft": "..."}} (or "sections" and "timeline").')
PUBLISH = Wrapped("postmortem", PostmortemPublish, required=False, shape="Unknown field in postmortem.")


# --- the answer ----------------------------------------------------------------------------------------


@with_config(_CLOSED)
class TimelineLineJson(TypedDict):
    key: Annotated[str, Field(description="Which recorded moment an `auto` line comes from.")]
    at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    text: str
    source: Annotated[Literal["auto", "manual"], Field(description=(
        "`auto`: drafted from what was recorded; `manual`: written by a person."))]
    removed: Annotated[bool, Field(description="Kept but left out of the postmortem.")]
    edited: NotRequired[Annotated[bool, Field(
        description="An `auto` line a person changed (drafting again keeps it).")]]


@with_config(_CLOSED)
class ActionItemJson(TypedDict):
    id: Id
    title: str
    owner: str | None
    status: ActionStatus
    due_date: Day | None
    link: str | None
    public: bool


_SHOWN: dict[str, Any] = {
    "incident_id": (Id, ...),
    "body": (Annotated[str | None, Field(description="The published postmortem as Markdown (public items only); "
                                                     "null while unpublished.")], ...),
    "body_draft": (Annotated[str, Field(description="The current draft as Markdown.")], ...),
    "body_updated_at": (Timestamp, ...),
    "body_draft_updated_at": (Timestamp, ...),
    "published_at": (Timestamp | None, ...),
    "revised_at": (Annotated[Timestamp | None, Field(description="When a published postmortem was last edited.")],
                   ...),
    "notify_subscribers": (Annotated[bool, Field(description="Whether subscribers were told when it was published.")],
                           ...),
    "notify_twitter": (Literal[False], ...),
    "custom_tweet": (None, ...),
    "created_at": (Timestamp, ...),
    "updated_at": (Timestamp, ...),
    "sections": (table_model("PostmortemSectionsJson", __name__, {key: (str, ...) for key in SECTION_KEYS}), ...),
    "timeline": (list[TimelineLineJson], ...),
    "figures": (Annotated[table_model("PostmortemFiguresJson", __name__, {label: (str, ...) for label in FIGURES}),
                          Field(description="What the status page measured (durations like `1 h 5 min`, or `n/a`).")],
                ...),
    "action_items": (list[ActionItemJson], ...),
    "markdown": (Annotated[str, Field(description="The same as `body_draft`.")], ...),
}
# The answer (v1_postmortems.postmortem_json builds it): Statuspage's fields, then our sections, timeline,
# figures, action items and Markdown.
PostmortemJson = table_model("PostmortemJson", __name__, _SHOWN, doc="An incident's postmortem.")


# --- operations ----------------------------------------------------------------------------------------

_ONE = "/pages/{page_id}/incidents/{incident_id}/postmortem"

POSTMORTEMS = Section(
    "Postmortems",
    "An incident's postmortem: Statuspage's draft, publish and revert, over our structured sections, drafted "
    "timeline and measured figures.",
    (
        Operation("get", _ONE, "getPostmortem", "Get the postmortem", (200, "The postmortem."), PostmortemJson, READ,
                  description="Our extension: Statuspage's fields with the sections, timeline, figures, action items "
                              "and Markdown. 404 until one is started."),
        Operation("put", _ONE, "writePostmortem", "Write the postmortem draft",
                  (200, "The postmortem after the change."),
                  PostmortemJson, WITH_BODY, body=DRAFT,
                  example={"postmortem": {"body_draft": "## Root cause\n\nA full disk."}},
                  description="Starts the postmortem of a resolved incident (from the template, with a timeline "
                              "drafted from what was recorded) if there is none, then applies the changes. 422 for "
                              "maintenance and unresolved incidents. Editing a published postmortem keeps the old "
                              "text as a revision."),
        Operation("delete", _ONE, "deletePostmortem", "Delete the postmortem draft",
                  (200, "The deleted postmortem, as it was."), PostmortemJson, (*READ, 422),
                  description="422 while it is published: revert it first."),
        Operation("put", _ONE + "/publish", "publishPostmortem", "Publish the postmortem",
                  (200, "The published postmortem."), PostmortemJson, WITH_BODY, body=PUBLISH,
                  example={"postmortem": {"notify_subscribers": True}},
                  description="The incident becomes `postmortem` and the public page shows it. 422 when summary, "
                              "root cause, impact, resolution or conclusion is empty, or when it is already "
                              "published; 404 when there is none."),
        Operation("put", _ONE + "/revert", "revertPostmortem", "Unpublish the postmortem",
                  (200, "The postmortem, unpublished."), PostmortemJson, (*READ, 422),
                  description="The incident is `resolved` again. 422 when nothing is published."),
    ),
)
