"""Components and component groups: their request bodies, the uptime answer and their operations."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from statuspage.api.schemas.base import UNSET, Body, Wrapped, checked_in_domain, patch_of, rule
from statuspage.api.schemas.fields import Description, Flag, Ids, Name, Position
from statuspage.api.schemas.operations import READ, Operation, Query, Section, resource
from statuspage.components.catalog import parse_start_date
from statuspage.components.status_rules import parse_status
from statuspage.errors import InvalidInput
from statuspage.models import ComponentStatus
from statuspage.shapes import ComponentGroupJson, ComponentJson, Day, Id, Timestamp


def _group_id(value: Any, field: str) -> Any:
    if value is not None and not isinstance(value, str):
        raise InvalidInput("group_id must be a component group id or null.", field)
    return value


def _start_date(value: Any, field: str) -> Any:
    parse_start_date(value, field)
    return value


class ComponentCreate(Body):
    """A new component; the fields left out take the defaults shown."""

    name: Annotated[Name, Field(description="Unique (ignoring case) within its group, or among ungrouped ones.")]
    description: Description = None
    status: Annotated[ComponentStatus, rule(parse_status)] = ComponentStatus.OPERATIONAL
    group_id: Annotated[str | None, Field(description="The id of the group to put it in; null or empty for the "
                                                      "top level."), rule(_group_id)] = None
    showcase: Annotated[Flag, Field(description="Show uptime bars for it.")] = True
    only_show_if_degraded: Annotated[Flag, Field(description="Hide it while it is operational.")] = False
    start_date: Annotated[Day | None, Field(description="When uptime counting starts (YYYY-MM-DD); null or empty "
                                                        "for none."), rule(_start_date)] = None
    position: Position = UNSET


ComponentUpdate = patch_of(ComponentCreate, "ComponentUpdate", "Any of a component's fields; those left out keep "
                                                                "their value.")


class ComponentGroupCreate(Body):
    """A new group."""

    name: Annotated[Name, Field(description="Unique (ignoring case) among groups.")]
    description: Description = None
    components: Annotated[Any, checked_in_domain(Ids), Field(
        description="The ids of the components in the group, in the order to add them. On update, components left "
                    "out move to the top level.")] = []
    position: Position = UNSET


ComponentGroupUpdate = patch_of(ComponentGroupCreate, "ComponentGroupUpdate",
                                "Any of a group's fields; those left out keep their value.")


class GroupDescriptionBeside(Body):
    """Statuspage puts a group's description beside the wrapped object."""

    description: Annotated[Description, Field(description="The group's description (Statuspage's place for it); "
                                                          "used unless the object has one.")] = UNSET


COMPONENT_CREATE = Wrapped("component", ComponentCreate)
COMPONENT_UPDATE = Wrapped("component", ComponentUpdate)
GROUP_CREATE = Wrapped("component_group", ComponentGroupCreate, beside=GroupDescriptionBeside)
GROUP_UPDATE = Wrapped("component_group", ComponentGroupUpdate, beside=GroupDescriptionBeside)


# --- uptime ----------------------------------------------------------------------------------------


@with_config(ConfigDict(extra="forbid"))
class RelatedIncidentJson(TypedDict):
    id: Id
    name: str
    started_at: Timestamp
    resolved_at: Timestamp | None


@with_config(ConfigDict(extra="forbid"))
class RelatedEventsJson(TypedDict):
    incidents: Annotated[list[RelatedIncidentJson], Field(
        description="Incidents and maintenance that touched it in the range.")]


@with_config(ConfigDict(extra="forbid"))
class ComponentUptimeJson(TypedDict):
    """A component's uptime over a range of UTC days (both included)."""

    id: Id
    name: str
    range_start: Day
    range_end: Day
    uptime_percentage: Annotated[float | None, Field(ge=0, le=100, description=(
        "Weighted as on the public page (a partial outage counts less than a major one); null when the range "
        "holds no time to measure."))]
    major_outage: Annotated[int, Field(ge=0, description="Seconds in major outage.")]
    partial_outage: Annotated[int, Field(ge=0, description="Seconds in partial outage.")]
    warnings: Annotated[list[str], Field(description="Why the figure covers less than asked, e.g. the component "
                                                     "began later.")]
    related_events: RelatedEventsJson


# --- operations --------------------------------------------------------------------------------------

COMPONENTS = Section(
    "Components", "The parts of the service whose status customers follow.",
    (*resource(
        collection="/pages/{page_id}/components", item="component_id", noun="component",
        names=("Component", "Components"), answer=ComponentJson, list_answer=list[ComponentJson],
        create=COMPONENT_CREATE, update=COMPONENT_UPDATE,
        examples=({"component": {"name": "API", "status": "operational"}},
                  {"component": {"status": "partial_outage"}}),
        notes={
            "list": "Grouped components follow their group's position; each group's in its own order.",
            "create": "A new component goes last in its group (or on the page) unless `position` says otherwise; "
                      "its first status is kept in its history.",
            "update": "Any key (admin or responder) may change any field. A status change is kept in the "
                      "component's history and the audit log.",
            "delete": "The component's history goes with it; the audit log keeps a record.",
        }),
     Operation("get", "/pages/{page_id}/components/{component_id}/uptime", "getComponentUptime",
               "Get a component's uptime", (200, "The component's uptime over the range (UTC days, both included)."),
               ComponentUptimeJson, (400, *READ),
               description="400 when a date is malformed, `end` is before `start` or in the future, or the range "
                           "is longer than a year.",
               query=(Query("start", Day, "The first day (YYYY-MM-DD); default the component's start date, else "
                                          "89 days ago."),
                      Query("end", Day, "The last day; default today (UTC)."))),
     ),
)

COMPONENT_GROUPS = Section(
    "Component groups", "Named sets of components shown together.",
    resource(
        collection="/pages/{page_id}/component-groups", item="group_id", noun="component group",
        names=("ComponentGroup", "ComponentGroups"), answer=ComponentGroupJson, list_answer=list[ComponentGroupJson],
        create=GROUP_CREATE, update=GROUP_UPDATE,
        examples=({"component_group": {"name": "Backend", "components": []}, "description": "Servers"},
                  {"component_group": {"name": "Core services"}}),
        notes={
            "create": "The group goes last on the page; listed components move into it.",
            "update": "Any key (admin or responder) may change any field.",
            "delete": "Its components stay, moved to the top level.",
        }),
)
