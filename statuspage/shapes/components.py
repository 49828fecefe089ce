"""Components and groups."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, with_config
from typing_extensions import TypedDict

from statuspage.components.catalog import TreeItem
from statuspage.components.status_rules import page_indicator, worst_status
from statuspage.models import Component, ComponentGroup, ComponentStatus, Page
from statuspage.shapes.base import CLOSED, Day, Id, Timestamp, at
from statuspage.shapes.pages import status_json
from statuspage.timefmt import iso_date


@with_config(CLOSED)
class ComponentJson(TypedDict):
    """A component."""

    id: Id
    name: str
    status: ComponentStatus
    created_at: Timestamp
    updated_at: Timestamp
    position: Annotated[int, Field(description="Order within its group, or among top-level items.")]
    description: str | None
    showcase: Annotated[bool, Field(description="Uptime bars are shown for it.")]
    start_date: Day | None
    group_id: Id | None
    page_id: Id
    group: Annotated[Literal[False], Field(description="Always false: groups have their own paths.")]
    only_show_if_degraded: Annotated[bool, Field(description="Hidden while it is operational.")]


class GroupAsComponentJson(TypedDict):
    """A group as v2 shows it: a component with `group: true` and its children's ids."""

    id: str
    name: str
    status: ComponentStatus
    created_at: str
    updated_at: str
    position: int
    description: str | None
    showcase: bool
    start_date: None
    group_id: None
    page_id: str
    group: Literal[True]
    only_show_if_degraded: bool
    components: list[str]


@with_config(CLOSED)
class ComponentGroupJson(TypedDict):
    """A named set of components shown together."""

    id: Id
    page_id: Id
    name: str
    description: str | None
    components: Annotated[list[Id], Field(description="Member ids, in their order.")]
    position: Annotated[int, Field(description="Order among top-level items (groups and components).")]
    created_at: Timestamp
    updated_at: Timestamp


def component_json(component: Component, page: Page) -> ComponentJson:
    tz = page.time_zone
    return {
        "id": component.code,
        "name": component.name,
        "status": component.status,
        "created_at": at(component.created_at, tz),
        "updated_at": at(component.updated_at, tz),
        "position": component.position,
        "description": component.description,
        "showcase": component.showcase,
        "start_date": iso_date(component.start_date),
        "group_id": component.group.code if component.group else None,
        "page_id": page.code,
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def group_as_component_json(group: ComponentGroup, page: Page) -> GroupAsComponentJson:
    tz = page.time_zone
    return {
        "id": group.code,
        "name": group.name,
        "status": worst_status(c.status for c in group.components),
        "created_at": at(group.created_at, tz),
        "updated_at": at(group.updated_at, tz),
        "position": group.position,
        "description": group.description,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": page.code,
        "group": True,
        "only_show_if_degraded": False,
        "components": [c.code for c in group.components],
    }


def group_json(group: ComponentGroup, page: Page) -> ComponentGroupJson:
    """A group as the management API shows it."""
    tz = page.time_zone
    return {
        "id": group.code,
        "page_id": page.code,
        "name": group.name,
        "description": group.description,
        "components": [c.code for c in group.components],
        "position": group.position,
        "created_at": at(group.created_at, tz),
        "updated_at": at(group.updated_at, tz),
    }


def tree_json(tree: list[TreeItem], page: Page) -> list[ComponentJson | GroupAsComponentJson]:
    """Every component and group in page order, each group before its children."""
    result: list[ComponentJson | GroupAsComponentJson] = []
    for item in tree:
        if item.group is not None:
            result.append(group_as_component_json(item.group, page))
        result.extend(component_json(c, page) for c in item.components)
    return result


def overall_status(tree: list[TreeItem], incident_impacts: list[str]) -> dict[str, str]:
    statuses = [c.status for item in tree for c in item.components]
    return status_json(*page_indicator(statuses, incident_impacts))
