"""The component catalog: components and groups, their order on the page, lookups and history.

Status changes go through `status_rules.set_status`, the only writer of a component's status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from statuspage import audit
from statuspage.audit import Actor
from statuspage.components.status_rules import parse_status, set_status, worst_status
from statuspage.db import utcnow
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.inputs import UNSET, Flag, Unset, Whole, clean_description, clean_name, parse_bool
from statuspage.models import Component, ComponentGroup, ComponentStatus, StatusChange
from statuspage.page.record import bump_version


def parse_start_date(value: object, field: str = "start_date") -> date | None:
    """An ISO date (YYYY-MM-DD) or none."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidInput("start_date must be a date like 2024-08-14.", field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("start_date must be a date like 2024-08-14.", field) from None


def parse_position(value: object, field: str = "position") -> int:
    """A position from 1 up, as Statuspage counts."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput("position must be a whole number from 1.", field)
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput("position must be a whole number from 1.", field) from None
    if not 1 <= number <= 100_000:
        raise InvalidInput("position must be a whole number from 1.", field)
    return number


# --- lookups ---------------------------------------------------------------------------------


def get_component(session: Session, code: str) -> Component:
    """The component with this public id, or NotFound."""
    component = session.scalars(select(Component).where(Component.code == code)).first()
    if component is None:
        raise NotFound(f"No component with id {code!r}.", "component_id")
    return component


def get_group(session: Session, code: str, field: str = "group_id") -> ComponentGroup:
    """The group with this public id, or NotFound."""
    group = session.scalars(select(ComponentGroup).where(ComponentGroup.code == code)).first()
    if group is None:
        raise NotFound(f"No component group with id {code!r}.", field)
    return group


def all_components(session: Session) -> list[Component]:
    """Every component, in display order within its group."""
    return list(
        session.scalars(
            select(Component).order_by(Component.group_id, Component.position, Component.id)
        )
    )


def all_groups(session: Session) -> list[ComponentGroup]:
    """Every group with its components loaded, in display order."""
    return list(
        session.scalars(
            select(ComponentGroup)
            .options(selectinload(ComponentGroup.components))
            .order_by(ComponentGroup.position, ComponentGroup.id)
        )
    )


@dataclass
class TreeItem:
    """One top-level row of the page: a group with its components, or a lone component."""

    group: ComponentGroup | None
    components: list[Component]

    @property
    def position(self) -> int:
        return self.group.position if self.group else self.components[0].position

    @property
    def status(self) -> ComponentStatus:
        return worst_status(c.status for c in self.components)


def component_tree(session: Session) -> list[TreeItem]:
    """Groups and ungrouped components in one top-level order."""
    groups = all_groups(session)
    loose = session.scalars(
        select(Component)
        .where(Component.group_id.is_(None))
        .order_by(Component.position, Component.id)
    )
    items = [TreeItem(g, list(g.components)) for g in groups]
    items += [TreeItem(None, [c]) for c in loose]
    items.sort(key=lambda item: (item.position, item.group is None))
    return items


# --- groups ----------------------------------------------------------------------------------


def _next_top_position(session: Session) -> int:
    top_components = session.scalar(
        select(func.max(Component.position)).where(Component.group_id.is_(None))
    )
    top_groups = session.scalar(select(func.max(ComponentGroup.position)))
    return max(top_components or 0, top_groups or 0) + 1


def _check_unique_group_name(session: Session, name: str, exclude_id: int | None = None) -> None:
    query = select(ComponentGroup.id).where(func.lower(ComponentGroup.name) == name.lower())
    if exclude_id is not None:
        query = query.where(ComponentGroup.id != exclude_id)
    if session.scalar(query) is not None:
        raise Conflict(f"A group named {name!r} already exists.", "name")


def create_group(
    session: Session,
    actor: Actor,
    name: str,
    description: str | None = None,
    component_codes: Sequence[str] = (),
) -> ComponentGroup:
    """Create a group at the end of the page, optionally moving components into it."""
    name = clean_name(name)
    _check_unique_group_name(session, name)
    group = ComponentGroup(
        name=name,
        description=clean_description(description),
        position=_next_top_position(session),
    )
    session.add(group)
    session.flush()
    _set_group_members(session, group, component_codes)
    audit.record(session, actor, "group.create", "component_group", group.code, {"name": name})
    bump_version(session)
    return group


def _set_group_members(session: Session, group: ComponentGroup, codes: Sequence[str]) -> bool:
    """Make exactly these components the group's members; whether any moved."""
    if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
        raise InvalidInput("components must be a list of component ids.", "components")
    wanted = [get_component(session, code) for code in dict.fromkeys(codes)]
    moved = False
    for component in list(group.components):
        if component not in wanted:
            _move_component(session, component, None)
            moved = True
    for component in wanted:
        if component.group_id != group.id:
            _move_component(session, component, group)
            moved = True
    return moved


def update_group(
    session: Session,
    actor: Actor,
    group: ComponentGroup,
    name: str | Unset = UNSET,
    description: str | None | Unset = UNSET,
    position: Whole | Unset = UNSET,
    component_codes: Sequence[str] | Unset = UNSET,
) -> ComponentGroup:
    """Rename, describe, reorder or change the members of a group; a no-op records nothing."""
    changed: dict[str, Any] = {}
    if name is not UNSET:
        name = clean_name(name)
        if name != group.name:
            if name.lower() != group.name.lower():
                _check_unique_group_name(session, name, exclude_id=group.id)
            group.name = changed["name"] = name
    if description is not UNSET:
        description = clean_description(description)
        if description != group.description:
            group.description = changed["description"] = description
    if component_codes is not UNSET and _set_group_members(session, group, component_codes):
        changed["components"] = list(component_codes)
    if position is not UNSET and _place(session, group, parse_position(position)):
        changed["position"] = group.position
    if not changed:
        return group  # nothing to record, and no reason to turn over the public cache
    group.updated_at = utcnow()
    audit.record(session, actor, "group.update", "component_group", group.code, changed)
    bump_version(session)
    return group


def delete_group(session: Session, actor: Actor, group: ComponentGroup) -> None:
    """Delete a group; its components stay, moved to the top level."""
    for component in list(group.components):
        _move_component(session, component, None)
    audit.record(session, actor, "group.delete", "component_group", group.code, {"name": group.name})
    session.delete(group)
    bump_version(session)


# --- components ------------------------------------------------------------------------------


def _check_unique_component_name(
    session: Session, name: str, group: ComponentGroup | None, exclude_id: int | None = None
) -> None:
    query = select(Component.id).where(func.lower(Component.name) == name.lower())
    query = query.where(
        Component.group_id == group.id if group else Component.group_id.is_(None)
    )
    if exclude_id is not None:
        query = query.where(Component.id != exclude_id)
    if session.scalar(query) is not None:
        where = f"group {group.name!r}" if group else "the top level"
        raise Conflict(f"A component named {name!r} already exists in {where}.", "name")


def _next_position_in(session: Session, group: ComponentGroup | None) -> int:
    if group is None:
        return _next_top_position(session)
    last = session.scalar(select(func.max(Component.position)).where(Component.group_id == group.id))
    return (last or 0) + 1


def _move_component(session: Session, component: Component, group: ComponentGroup | None) -> None:
    _check_unique_component_name(session, component.name, group, exclude_id=component.id)
    component.position = _next_position_in(session, group)
    component.group = group
    component.group_id = group.id if group else None
    session.flush()


def _siblings(session: Session, item: Component | ComponentGroup) -> list[Component | ComponentGroup]:
    """The items sharing `item`'s ordering space, in order."""
    if isinstance(item, Component) and item.group_id is not None:
        return list(
            session.scalars(
                select(Component)
                .where(Component.group_id == item.group_id)
                .order_by(Component.position, Component.id)
            )
        )
    return [entry.group or entry.components[0] for entry in component_tree(session)]


def _place(session: Session, item: Component | ComponentGroup, position: int) -> bool:
    """Move `item` to 1-based `position` among its siblings and renumber them; whether it moved."""
    current = _siblings(session, item)
    siblings = [s for s in current if s is not item]
    index = min(max(position, 1), len(siblings) + 1) - 1
    siblings.insert(index, item)
    if siblings == current:
        return False  # already there: the page looks the same, so nothing to write
    for number, sibling in enumerate(siblings, start=1):
        sibling.position = number
    session.flush()
    return True


def move(session: Session, actor: Actor, item: Component | ComponentGroup, offset: int) -> None:
    """Move an item up (-1) or down (+1) among its siblings; at either end nothing happens."""
    siblings = _siblings(session, item)
    index = siblings.index(item) + 1
    if not _place(session, item, index + offset):
        return
    if isinstance(item, Component):
        action, kind = "component.move", "component"
    else:
        action, kind = "group.move", "component_group"
    audit.record(session, actor, action, kind, item.code, {"position": item.position})
    bump_version(session)


def create_component(
    session: Session,
    actor: Actor,
    name: str,
    description: str | None = None,
    status: ComponentStatus | str = ComponentStatus.OPERATIONAL,
    group_code: str | None = None,
    showcase: Flag = True,
    only_show_if_degraded: Flag = False,
    start_date: date | str | None = None,
) -> Component:
    """Create a component at the end of its group (or of the page) with its first history row."""
    name = clean_name(name)
    group = get_group(session, group_code) if group_code else None
    _check_unique_component_name(session, name, group)
    component = Component(
        name=name,
        description=clean_description(description),
        group=group,
        position=_next_position_in(session, group),
        showcase=parse_bool(showcase, "showcase"),
        only_show_if_degraded=parse_bool(only_show_if_degraded, "only_show_if_degraded"),
        start_date=parse_start_date(start_date),
    )
    first = parse_status(status)
    session.add(component)
    session.flush()
    component.status = first
    session.add(StatusChange(component=component, from_status=None, to_status=first,
                             user_id=actor.user_id, source=actor.source, cause=actor.label))
    audit.record(session, actor, "component.create", "component", component.code,
                 {"name": name, "status": first.value})
    bump_version(session)
    return component


def update_component(
    session: Session,
    actor: Actor,
    component: Component,
    name: str | Unset = UNSET,
    description: str | None | Unset = UNSET,
    status: ComponentStatus | str | Unset = UNSET,
    group_code: str | None | Unset = UNSET,
    position: Whole | Unset = UNSET,
    showcase: Flag | Unset = UNSET,
    only_show_if_degraded: Flag | Unset = UNSET,
    start_date: date | str | None | Unset = UNSET,
    cause: str | None = None,
) -> Component:
    """Apply any of the given changes; all are validated before any is written."""
    changed: dict[str, Any] = {}
    new_name = clean_name(name) if name is not UNSET else component.name
    new_status = parse_status(status) if status is not UNSET else None
    new_group = component.group
    if group_code is not UNSET:
        if group_code is not None and not isinstance(group_code, str):
            raise InvalidInput("group_id must be a component group id or null.", "group_id")
        new_group = get_group(session, group_code) if group_code else None
    flags = {
        key: parse_bool(value, key)
        for key, value in (("showcase", showcase), ("only_show_if_degraded", only_show_if_degraded))
        if value is not UNSET
    }
    new_start = parse_start_date(start_date) if start_date is not UNSET else UNSET
    new_description = clean_description(description) if description is not UNSET else UNSET
    new_position = parse_position(position) if position is not UNSET else None
    # Only a new name or a new group can clash: a status change on a twin made before the
    # unique index existed must still go through during an incident.
    if new_name.lower() != component.name.lower() or new_group is not component.group:
        _check_unique_component_name(session, new_name, new_group, exclude_id=component.id)

    if new_name != component.name:
        component.name = changed["name"] = new_name
    if new_description is not UNSET and new_description != component.description:
        component.description = changed["description"] = new_description
    if new_group is not component.group:
        _move_component(session, component, new_group)
        changed["group_id"] = new_group.code if new_group else None
    for key, value in flags.items():
        if getattr(component, key) != value:
            setattr(component, key, value)
            changed[key] = value
    if new_start is not UNSET and new_start != component.start_date:
        component.start_date = new_start
        changed["start_date"] = new_start.isoformat() if new_start else None
    if new_position is not None and _place(session, component, new_position):
        changed["position"] = component.position
    if new_status is not None and new_status != component.status:
        changed["status"] = {"from": component.status.value, "to": new_status.value}
        set_status(session, component, new_status, actor, cause=cause)
    if not changed:
        return component  # nothing to record, and no reason to turn over the public cache
    component.updated_at = utcnow()
    audit.record(session, actor, "component.update", "component", component.code, changed)
    bump_version(session)
    return component


def delete_component(session: Session, actor: Actor, component: Component) -> None:
    """Delete a component and its history; the audit log keeps the record."""
    audit.record(session, actor, "component.delete", "component", component.code,
                 {"name": component.name, "status": component.status.value})
    session.delete(component)
    bump_version(session)


def history(session: Session, component: Component, limit: int = 100) -> list[StatusChange]:
    """The newest status changes of a component."""
    return list(
        session.scalars(
            select(StatusChange)
            .where(StatusChange.component_id == component.id)
            .order_by(StatusChange.at.desc(), StatusChange.id.desc())
            .limit(limit)
        )
    )
