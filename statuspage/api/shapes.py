"""Statuspage's JSON shapes for our objects (public v2 and management v1)."""

from __future__ import annotations

from typing import Any

from ..components import TreeItem, page_indicator, worst_status
from ..models import Component, ComponentGroup, Page
from ..timefmt import iso, iso_date


def page_json(page: Page, base_url: str) -> dict[str, Any]:
    return {
        "id": page.code,
        "name": page.name,
        "url": page.url or base_url,
        "time_zone": page.time_zone,
        "updated_at": iso(page.updated_at, page.time_zone),
    }


def status_json(indicator: str, description: str) -> dict[str, str]:
    return {"indicator": indicator, "description": description}


def component_json(component: Component, page: Page) -> dict[str, Any]:
    tz = page.time_zone
    return {
        "id": component.code,
        "name": component.name,
        "status": component.status.value,
        "created_at": iso(component.created_at, tz),
        "updated_at": iso(component.updated_at, tz),
        "position": component.position,
        "description": component.description,
        "showcase": component.showcase,
        "start_date": iso_date(component.start_date),
        "group_id": component.group.code if component.group else None,
        "page_id": page.code,
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def group_as_component_json(group: ComponentGroup, page: Page) -> dict[str, Any]:
    """A group as v2 shows it: a component with `group: true` and its children's ids."""
    tz = page.time_zone
    return {
        "id": group.code,
        "name": group.name,
        "status": worst_status(c.status for c in group.components).value,
        "created_at": iso(group.created_at, tz),
        "updated_at": iso(group.updated_at, tz),
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


def group_json(group: ComponentGroup, page: Page) -> dict[str, Any]:
    """A group as the management API shows it."""
    tz = page.time_zone
    return {
        "id": group.code,
        "page_id": page.code,
        "name": group.name,
        "description": group.description,
        "components": [c.code for c in group.components],
        "position": group.position,
        "created_at": iso(group.created_at, tz),
        "updated_at": iso(group.updated_at, tz),
    }


def tree_json(tree: list[TreeItem], page: Page) -> list[dict[str, Any]]:
    """Every component and group in page order, each group before its children."""
    result: list[dict[str, Any]] = []
    for item in tree:
        if item.group is not None:
            result.append(group_as_component_json(item.group, page))
        result.extend(component_json(c, page) for c in item.components)
    return result


def overall_status(tree: list[TreeItem], incident_impacts: list[str]) -> dict[str, str]:
    statuses = [c.status for item in tree for c in item.components]
    return status_json(*page_indicator(statuses, incident_impacts))
