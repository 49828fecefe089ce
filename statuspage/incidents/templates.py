"""Saved messages ("templates") that fill the incident and update forms for common updates.

They keep the update's status, its components and whether it notifies, so a
responder in the middle of an outage posts "Fix deployed, monitoring" in one click.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.incidents.rules import clean_body, parse_component_codes
from statuspage.inputs import Flag, clean_name, parse_bool
from statuspage.models import IncidentStatus, IncidentTemplate, MaintenanceStatus, UpdateStatus

# A saved message starts an incident at one of these statuses, or a maintenance as scheduled.
INCIDENT_STATUSES = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING,
                     IncidentStatus.RESOLVED)
STATUSES: tuple[UpdateStatus, ...] = (*INCIDENT_STATUSES, MaintenanceStatus.SCHEDULED)


def parse_template_status(value: object, field: str = "update_status") -> UpdateStatus:
    """An incident status, or `scheduled` for a maintenance template; InvalidInput listing them otherwise."""
    for status in STATUSES:
        if value == status.value:
            return status
    raise InvalidInput(f"Unknown template status {value!r}; use one of: {', '.join(s.value for s in STATUSES)} "
                       "(scheduled: a maintenance).", field)


def is_maintenance(template: IncidentTemplate) -> bool:
    return template.update_status == MaintenanceStatus.SCHEDULED.value


def list_templates(session: Session, maintenance: bool | None = None) -> list[IncidentTemplate]:
    """Saved messages by name: all, or only those of incidents (False) or of maintenance (True)."""
    found = list(session.scalars(select(IncidentTemplate).order_by(IncidentTemplate.name)))
    return found if maintenance is None else [t for t in found if is_maintenance(t) == maintenance]


def get_template(session: Session, code: str) -> IncidentTemplate:
    template = session.scalars(select(IncidentTemplate).where(IncidentTemplate.code == code)).first()
    if template is None:
        raise NotFound(f"No template with id {code!r}.", "template_id")
    return template


def save_template(
    session: Session,
    actor: Actor,
    *,
    name: str | None,
    title: str | None,
    body: str | None,
    update_status: UpdateStatus | str = IncidentStatus.INVESTIGATING,
    component_ids: Sequence[str] | None = None,
    should_send_notifications: Flag = True,
    template: IncidentTemplate | None = None,
) -> IncidentTemplate:
    """Create or change a saved message, with the components it concerns and whether it notifies."""
    name = clean_name(name)
    title = clean_name(title, "title") if title not in (None, "") else ""
    body = clean_body(body, required=True)
    status = parse_template_status(update_status).value
    codes = _template_components(session, component_ids)
    notify = parse_bool(should_send_notifications, "should_send_notifications")
    clash = session.scalar(
        select(IncidentTemplate.id).where(func.lower(IncidentTemplate.name) == name.lower())
    )
    if clash is not None and (template is None or clash != template.id):
        raise Conflict(f"A template named {name!r} already exists.", "name")
    if template is None:
        template = IncidentTemplate()
        session.add(template)
    template.name, template.title, template.body, template.update_status = name, title, body, status
    template.component_ids, template.should_send_notifications = codes, notify
    session.flush()
    audit.record(session, actor, "template.save", "incident_template", template.code, {"name": name})
    return template


def _template_components(session: Session, codes: object) -> list[str]:
    """The component codes a template keeps; an unknown one is a mistake in the template (422)."""
    try:
        return [c.code for c in parse_component_codes(session, codes, "component_ids")]
    except NotFound as missing:
        raise InvalidInput(missing.message, "component_ids") from None


def delete_template(session: Session, actor: Actor, template: IncidentTemplate) -> None:
    audit.record(session, actor, "template.delete", "incident_template", template.code,
                 {"name": template.name})
    session.delete(template)


# Saved messages every new page starts with: (name, title, update status, message).
DEFAULT_TEMPLATES = [
    ("Investigating elevated error rates", "Elevated error rates", IncidentStatus.INVESTIGATING,
     "We are investigating elevated error rates and latency. We will post an update within 30 minutes."),
    ("Fix deployed, monitoring", "", IncidentStatus.MONITORING,
     "A fix has been deployed and we are monitoring the results."),
]


def seed_templates(session: Session, actor: Actor | None = None) -> int:
    """Create the default saved messages whose names are free; returns how many.

    Page creation seeds them without an actor (setup, not a responder's action,
    so no audit row); a command that asks for them passes itself and is audited.
    """
    taken = {t.name.lower() for t in list_templates(session)}
    created = 0
    for name, title, status, body in DEFAULT_TEMPLATES:
        if name.lower() in taken:
            continue
        if actor is None:
            session.add(IncidentTemplate(name=name, title=title, body=body, update_status=status.value))
        else:
            save_template(session, actor, name=name, title=title, body=body, update_status=status)
        created += 1
    session.flush()
    return created
