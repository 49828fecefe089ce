"""Import from Atlassian Statuspage's public v2 JSON (`summary.json`, `incidents.json`,
`scheduled-maintenances.json`): components and groups, incidents with their updates, maintenances.

Statuspage's ids have our format, so they are kept: clients and links keep working, and a second
run finds what the first one made (idempotent). The whole import is one transaction.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .audit import Actor
from .components import clean_description, clean_name, parse_status, set_status
from .errors import InvalidInput
from .incidents import clean_body, parse_impact, parse_time
from .models import (
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
)
from .page import bump_version

CODE = re.compile(r"^[a-z0-9]{12}$")
FILES = ("summary.json", "components.json", "incidents.json", "scheduled-maintenances.json")


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
    if not isinstance(value, str) or not CODE.match(value):
        raise InvalidInput(f"{name}: {value!r} is not a Statuspage id.", "id")
    return value


def _when(value: Any, field: str, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_time(value, field)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.message}", field) from None


class Importer:
    """Applies Statuspage documents to our data in one session; counts what it made."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.counts = {"groups": 0, "components": 0, "incidents": 0, "maintenances": 0, "updates": 0}

    def _find(self, model, code: str):
        return self.session.scalars(select(model).where(model.code == code)).first()

    def components(self, items: list[dict[str, Any]], name: str) -> None:
        groups = [c for c in items if c.get("group")]
        for position, item in enumerate(groups, start=1):
            code = _code(item.get("id"), name)
            group = self._find(ComponentGroup, code)
            if group is None:
                group = ComponentGroup(code=code, position=item.get("position") or position,
                                       name=clean_name(item.get("name")))
                self.session.add(group)
                self.counts["groups"] += 1
            group.description = clean_description(item.get("description"))
        self.session.flush()
        for position, item in enumerate([c for c in items if not c.get("group")], start=1):
            code = _code(item.get("id"), name)
            group = self._find(ComponentGroup, _code(item["group_id"], name)) if item.get("group_id") else None
            status = parse_status(item.get("status") or "operational")
            component = self._find(Component, code)
            if component is None:
                component = Component(code=code, name=clean_name(item.get("name")), status=status,
                                      position=item.get("position") or position, group=group)
                created = _when(item.get("created_at"), "created_at", name)
                if created:
                    component.created_at = component.updated_at = created
                self.session.add(component)
                self.session.flush()
                self.session.add(StatusChange(component=component, from_status=None, to_status=status,
                                              at=component.created_at, source="import", cause="Statuspage import"))
                self.counts["components"] += 1
            else:
                set_status(self.session, component, status, self.actor, cause="Statuspage import")
            component.description = clean_description(item.get("description"))
            component.showcase = bool(item.get("showcase", True))
            component.only_show_if_degraded = bool(item.get("only_show_if_degraded", False))

    def incidents(self, items: list[dict[str, Any]], name: str, kind: IncidentKind) -> None:
        for item in items:
            code = _code(item.get("id"), name)
            status = item.get("status")
            allowed = MaintenanceStatus if kind == IncidentKind.MAINTENANCE else IncidentStatus
            if status not in {s.value for s in allowed}:
                raise InvalidInput(f"{name}: incident {code} has status {status!r}.", "status")
            incident = self._find(Incident, code)
            created = _when(item.get("created_at"), "created_at", name) or _when(
                item.get("started_at"), "started_at", name)
            if created is None:
                raise InvalidInput(f"{name}: incident {code} has no created_at.", "created_at")
            if incident is None:
                incident = Incident(code=code, kind=kind, created_at=created)
                self.session.add(incident)
                self.counts["maintenances" if kind == IncidentKind.MAINTENANCE else "incidents"] += 1
            incident.name = clean_name(item.get("name"))
            incident.status = status
            impact = parse_impact(item.get("impact") or "none", "impact")
            incident.impact = Impact.MAINTENANCE if kind == IncidentKind.MAINTENANCE else (impact or Impact.NONE)
            incident.started_at = _when(item.get("started_at"), "started_at", name) or created
            incident.updated_at = _when(item.get("updated_at"), "updated_at", name) or created
            incident.monitoring_at = _when(item.get("monitoring_at"), "monitoring_at", name)
            incident.resolved_at = _when(item.get("resolved_at"), "resolved_at", name)
            incident.scheduled_for = _when(item.get("scheduled_for"), "scheduled_for", name)
            incident.scheduled_until = _when(item.get("scheduled_until"), "scheduled_until", name)
            # Imported history is history: the worker must not move old windows again.
            incident.auto_transition = False
            self.session.flush()
            linked = [self._find(Component, c["id"]) for c in _list(item, "components", name)
                      if isinstance(c.get("id"), str)]
            incident.components = [c for c in linked if c is not None]
            self._updates(incident, _list(item, "incident_updates", name), name)

    def _updates(self, incident: Incident, items: list[dict[str, Any]], name: str) -> None:
        known = {u.code for u in incident.updates}
        for item in items:
            code = _code(item.get("id"), name)
            if code in known:
                continue
            display = _when(item.get("display_at"), "display_at", name) or _when(
                item.get("created_at"), "created_at", name) or incident.created_at
            affected = [
                {"code": a.get("code"), "name": a.get("name"), "old_status": a.get("old_status"),
                 "new_status": a.get("new_status")}
                for a in (item.get("affected_components") or []) if isinstance(a, dict) and a.get("code")
            ]
            for entry in affected:
                for key in ("old_status", "new_status"):
                    if entry[key] not in {s.value for s in ComponentStatus}:
                        entry[key] = ComponentStatus.OPERATIONAL.value
            update = IncidentUpdate(code=code, status=str(item.get("status") or incident.status),
                                    body=clean_body(item.get("body")), display_at=display,
                                    created_at=_when(item.get("created_at"), "created_at", name) or display,
                                    updated_at=_when(item.get("updated_at"), "updated_at", name) or display,
                                    deliver_notifications=False, affected_components=affected)
            incident.updates.append(update)
            self.counts["updates"] += 1


def run(session: Session, actor: Actor, path: Path) -> dict[str, int]:
    """Import every document found at `path`; raises InvalidInput (nothing saved) on bad data."""
    documents = load(path)
    importer = Importer(session, actor)
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
