"""Import from Atlassian Statuspage's public v2 JSON (`summary.json`, `incidents.json`,
`scheduled-maintenances.json`): components and groups, incidents with their updates, maintenances.

Statuspage's ids have our format, so they are kept: clients and links keep working, and a second
run finds what the first one made and adds only what is new. Every value is checked against the
same rules as the admin and the API (statuses, names unique within their group, positions), and
the whole import is one transaction: one bad record imports nothing.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor

# The name and position rules of create_component/create_group; the importer cannot call those
# two because it keeps Statuspage's ids and times.
from statuspage.components.catalog import (
    _check_unique_component_name,
    _check_unique_group_name,
    _next_position_in,
    _next_top_position,
    parse_start_date,
)
from statuspage.components.status_rules import parse_status
from statuspage.db import utcnow
from statuspage.errors import DomainError, InvalidInput
from statuspage.incidents.rules import clean_body, parse_impact, parse_time
from statuspage.inputs import clean_description, clean_name, parse_bool
from statuspage.models import (
    Component,
    ComponentGroup,
    ComponentStatus,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceStatus,
    StatusChange,
    UpdateStatus,
)
from statuspage.page.record import bump_version

CODE = re.compile(r"[a-z0-9]{12}")
FILES = ("summary.json", "components.json", "incidents.json", "scheduled-maintenances.json")
POSITION_MAX = 100_000
STATUSES = {
    IncidentKind.INCIDENT: {s.value for s in IncidentStatus},
    IncidentKind.MAINTENANCE: {s.value for s in MaintenanceStatus},
}


def _status(kind: IncidentKind, value: str) -> UpdateStatus:
    """A status already checked against STATUSES[kind], as its enum member."""
    return MaintenanceStatus(value) if kind == IncidentKind.MAINTENANCE else IncidentStatus(value)


def load(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file name, parsed JSON) for a file, or for every known file in a folder."""
    paths = [path / name for name in FILES if (path / name).is_file()] if path.is_dir() else [path]
    if not paths:
        raise InvalidInput(f"No Statuspage JSON ({', '.join(FILES)}) in {path}.", "path")
    documents = []
    for file in paths:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{file.name}: not readable JSON ({exc}).", "path") from None
        if not isinstance(data, dict) or not isinstance(data.get("page"), dict) or not (
                {"components", "incidents", "scheduled_maintenances"} & set(data)):
            raise InvalidInput(f"{file.name}: not Statuspage v2 JSON (needs 'page' and 'components', "
                               "'incidents' or 'scheduled_maintenances').", "path")
        documents.append((file.name, data))
    return documents


def _list(data: dict[str, Any], key: str, name: str) -> list[dict[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInput(f"{name}: '{key}' must be a list of objects.", key)
    return value


def _code(value: Any, name: str) -> str:
    if not isinstance(value, str) or not CODE.fullmatch(value):
        raise InvalidInput(f"{name}: {value!r} is not a Statuspage id.", "id")
    return value


def _when(value: Any, field: str, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_time(value, field)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.message}", field) from None


def _position(item: dict[str, Any], where: str) -> int | None:
    """The export's position (an order key only: ours are renumbered from 1), or None."""
    value = item.get("position")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= POSITION_MAX:
        raise InvalidInput(f"{where} has position {value!r}; it must be a whole number "
                           f"from 0 to {POSITION_MAX}.", "position")
    return value


def _checked(where: str, rule, *args, **kwargs):
    """Apply a domain rule, naming the record in its error."""
    try:
        return rule(*args, **kwargs)
    except DomainError as exc:
        raise InvalidInput(f"{where}: {exc.message}", exc.field) from None


class Importer:
    """Applies Statuspage documents to our data in one session; counts what it made."""

    def __init__(self, session: Session, actor: Actor, now: datetime | None = None) -> None:
        self.session = session
        self.actor = actor
        self.now = now or utcnow()
        self.counts = {"groups": 0, "components": 0, "incidents": 0, "maintenances": 0, "updates": 0}
        # Ids met in earlier files: summary.json and components.json list the same components.
        self.component_codes: set[str] = set()

    def _find(self, model, code: str):
        return self.session.scalars(select(model).where(model.code == code)).first()

    # --- components and groups ----------------------------------------------------------------

    def components(self, items: list[dict[str, Any]], name: str) -> None:
        """Create the groups and components not imported yet; existing ones are left as they are."""
        codes: set[str] = set()
        fresh: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(items):
            code = _code(item.get("id"), name)
            if code in codes:
                raise InvalidInput(f"{name}: the id {code} appears twice.", "id")
            codes.add(code)
            if code not in self.component_codes:
                fresh.append((index, item))
        self.component_codes |= codes

        is_group = {item["id"]: _checked(f"{name}: component {item['id']}", parse_bool,
                                         item.get("group", False), "group") for _, item in fresh}
        listed_in = {child: item["id"] for _, item in fresh if is_group[item["id"]]
                     for child in (item.get("components") or []) if isinstance(child, str)}
        top: list[tuple[int, int, dict[str, Any]]] = []
        grouped: list[tuple[str, int, int, dict[str, Any]]] = []
        for index, item in fresh:
            code = item["id"]
            where = f"{name}: {'group' if is_group[code] else 'component'} {code}"
            order = _position(item, where)
            key = POSITION_MAX + 1 if order is None else order
            if is_group[code]:
                top.append((key, index, item))
                continue
            group_code = item.get("group_id")
            if group_code is None:
                # Some exports leave group_id empty but list the child in its group's components.
                group_code = listed_in.get(code)
            else:
                group_code = _code(group_code, name)
                if not is_group.get(group_code) and self._find(ComponentGroup, group_code) is None:
                    raise InvalidInput(f"{where} names group {group_code}, which is neither in the "
                                       "export nor on this page.", "group_id")
            if group_code is None:
                top.append((key, index, item))
            else:
                grouped.append((group_code, key, index, item))

        for _key, _index, item in sorted(top, key=lambda entry: entry[:2]):
            if is_group[item["id"]]:
                self._group(item, name)
            else:
                self._component(item, None, name)
        for group_code, _key, _index, item in sorted(grouped, key=lambda entry: entry[:3]):
            self._component(item, self._find(ComponentGroup, group_code), name)

    def _group(self, item: dict[str, Any], name: str) -> None:
        code = item["id"]
        where = f"{name}: group {code}"
        if self._find(ComponentGroup, code) is not None:
            return
        if self._find(Component, code) is not None:
            raise InvalidInput(f"{where}: this id is already a component here.", "id")
        group_name = _checked(where, clean_name, item.get("name"))
        _checked(where, _check_unique_group_name, self.session, group_name)
        created = _when(item.get("created_at"), "created_at", name) or self.now
        group = ComponentGroup(code=code, name=group_name, position=_next_top_position(self.session),
                               description=_checked(where, clean_description, item.get("description")),
                               created_at=created,
                               updated_at=_when(item.get("updated_at"), "updated_at", name) or created)
        self.session.add(group)
        self.session.flush()
        self.counts["groups"] += 1

    def _component(self, item: dict[str, Any], group: ComponentGroup | None, name: str) -> None:
        code = item["id"]
        where = f"{name}: component {code}"
        if self._find(Component, code) is not None:
            return  # its live status belongs to this page now: a second run leaves it alone
        if self._find(ComponentGroup, code) is not None:
            raise InvalidInput(f"{where}: this id is already a component group here.", "id")
        component_name = _checked(where, clean_name, item.get("name"))
        _checked(where, _check_unique_component_name, self.session, component_name, group)
        status = _checked(where, parse_status, item.get("status") or "operational")
        created = _when(item.get("created_at"), "created_at", name) or self.now
        changed = max(_when(item.get("updated_at"), "updated_at", name) or created, created)
        component = Component(
            code=code, name=component_name, group=group, status=status,
            position=_next_position_in(self.session, group),
            description=_checked(where, clean_description, item.get("description")),
            showcase=_checked(where, parse_bool, item.get("showcase", True), "showcase"),
            only_show_if_degraded=_checked(where, parse_bool, item.get("only_show_if_degraded", False),
                                           "only_show_if_degraded"),
            start_date=_checked(where, parse_start_date, item.get("start_date")),
            created_at=created, updated_at=changed,
        )
        self.session.add(component)
        self.session.flush()
        # The export knows only the status now: operational from creation, the current status
        # from the last change (updated_at), so uptime is not counted as down for years.
        first = ComponentStatus.OPERATIONAL if changed > created else status
        self.session.add(StatusChange(component=component, from_status=None, to_status=first, at=created,
                                      source="import", cause="Statuspage import"))
        if first != status:
            self.session.add(StatusChange(component=component, from_status=first, to_status=status,
                                          at=changed, source="import", cause="Statuspage import"))
        self.counts["components"] += 1

    # --- incidents and maintenances -----------------------------------------------------------

    def incidents(self, items: list[dict[str, Any]], name: str, kind: IncidentKind) -> None:
        """Create new incidents (or maintenances), refresh those the export has newer, add new updates."""
        for item in items:
            code = _code(item.get("id"), name)
            status = item.get("status")
            own = kind
            if kind == IncidentKind.INCIDENT and (item.get("scheduled_for") or status in STATUSES[
                    IncidentKind.MAINTENANCE] and status not in STATUSES[IncidentKind.INCIDENT]):
                own = IncidentKind.MAINTENANCE  # incidents.json lists maintenances too
            where = f"{name}: {'maintenance' if own == IncidentKind.MAINTENANCE else 'incident'} {code}"
            if status not in STATUSES[own]:
                raise InvalidInput(f"{where} has status {status!r}; use one of: "
                                   f"{', '.join(sorted(STATUSES[own]))}.", "status")
            if own == IncidentKind.MAINTENANCE and not item.get("scheduled_for"):
                raise InvalidInput(f"{where} has no scheduled_for.", "scheduled_for")
            self._incident(item, code, status, own, where, name)

    def _incident(self, item: dict[str, Any], code: str, status: str, kind: IncidentKind, where: str,
                  name: str) -> None:
        created = _when(item.get("created_at"), "created_at", name) or _when(
            item.get("started_at"), "started_at", name)
        if created is None:
            raise InvalidInput(f"{where} has no created_at.", "created_at")
        updated = _when(item.get("updated_at"), "updated_at", name) or created
        impact = _checked(where, parse_impact, item.get("impact") or "none", "impact") or Impact.NONE
        start = _when(item.get("scheduled_for"), "scheduled_for", name)
        end = _when(item.get("scheduled_until"), "scheduled_until", name)
        if kind == IncidentKind.MAINTENANCE and (end is None or start is None or end <= start):
            raise InvalidInput(f"{where} must have a scheduled_until after its scheduled_for.",
                               "scheduled_until")
        incident = self._find(Incident, code)
        if incident is not None and incident.kind != kind:
            raise InvalidInput(f"{where} is already a {incident.kind.value} here.", "id")
        if incident is None:
            incident = Incident(code=code, kind=kind, created_at=created, updated_at=created)
            self.session.add(incident)
            self.counts["maintenances" if kind == IncidentKind.MAINTENANCE else "incidents"] += 1
        elif updated <= incident.updated_at:
            self._updates(incident, _list(item, "incident_updates", name), where, name)
            return  # nothing newer than what this page has
        incident.name = _checked(where, clean_name, item.get("name"))
        incident.status = _status(kind, status)
        incident.impact = Impact.MAINTENANCE if kind == IncidentKind.MAINTENANCE else impact
        incident.started_at = _when(item.get("started_at"), "started_at", name) or start or created
        incident.updated_at = updated
        incident.monitoring_at = _when(item.get("monitoring_at"), "monitoring_at", name)
        incident.resolved_at = _when(item.get("resolved_at"), "resolved_at", name)
        incident.scheduled_for = start
        incident.scheduled_until = end
        # A window still ahead (or under way) moves on its own as on Statuspage; past windows are
        # history and must not be replayed by the worker.
        incident.auto_transition = bool(kind == IncidentKind.MAINTENANCE and end is not None and end > self.now
                                        and status != MaintenanceStatus.COMPLETED)
        self.session.flush()
        linked = [self._find(Component, c["id"]) for c in _list(item, "components", name)
                  if isinstance(c.get("id"), str)]
        incident.components = [c for c in linked if c is not None]
        self._updates(incident, _list(item, "incident_updates", name), where, name)

    def _updates(self, incident: Incident, items: list[dict[str, Any]], where: str, name: str) -> None:
        known = {u.code for u in incident.updates}
        for item in items:
            code = _code(item.get("id"), name)
            if code in known:
                continue
            known.add(code)
            other = self._find(IncidentUpdate, code)
            if other is not None:
                raise InvalidInput(f"{where}: update {code} already belongs to "
                                   f"{other.incident.kind.value} {other.incident.code}.", "id")
            status = item.get("status") or incident.status
            if status not in STATUSES[incident.kind]:
                raise InvalidInput(f"{where}: update {code} has status {status!r}; use one of: "
                                   f"{', '.join(sorted(STATUSES[incident.kind]))}.", "status")
            display = _when(item.get("display_at"), "display_at", name) or _when(
                item.get("created_at"), "created_at", name) or incident.created_at
            affected = [
                {"code": _code(a.get("code"), name),
                 "name": _checked(f"{where}: update {code}", clean_name, a.get("name")),
                 "old_status": a.get("old_status"), "new_status": a.get("new_status")}
                for a in (item.get("affected_components") or []) if isinstance(a, dict) and a.get("code")
            ]
            for entry in affected:
                for key in ("old_status", "new_status"):
                    if entry[key] not in {s.value for s in ComponentStatus}:
                        entry[key] = ComponentStatus.OPERATIONAL.value
            update = IncidentUpdate(code=code, status=_status(incident.kind, status),
                                    body=_checked(f"{where}: update {code}", clean_body, item.get("body")),
                                    display_at=display,
                                    created_at=_when(item.get("created_at"), "created_at", name) or display,
                                    updated_at=_when(item.get("updated_at"), "updated_at", name) or display,
                                    deliver_notifications=False, affected_components=affected)
            incident.updates.append(update)
            self.counts["updates"] += 1


def run(session: Session, actor: Actor, path: Path, now: datetime | None = None) -> dict[str, int]:
    """Import every document found at `path`; raises InvalidInput (nothing saved) on bad data."""
    documents = load(path)
    importer = Importer(session, actor, now)
    for name, data in sorted(documents, key=lambda d: FILES.index(d[0]) if d[0] in FILES else 0):
        if "components" in data:
            importer.components(_list(data, "components", name), name)
    for name, data in documents:
        if "incidents" in data:
            importer.incidents(_list(data, "incidents", name), name, IncidentKind.INCIDENT)
        if "scheduled_maintenances" in data:
            importer.incidents(_list(data, "scheduled_maintenances", name), name, IncidentKind.MAINTENANCE)
    session.flush()
    audit.record(session, actor, "import.statuspage", "page", None, dict(importer.counts))
    bump_version(session)
    return importer.counts
