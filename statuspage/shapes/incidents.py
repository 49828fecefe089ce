"""Incidents and maintenance, their updates, and incident templates."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import Field, with_config
from typing_extensions import TypedDict

from statuspage.models import (
    Component,
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    Page,
    UpdateStatus,
)
from statuspage.postmortems.document import export_markdown
from statuspage.shapes.base import CLOSED, AlwaysNull, Id, NullableTimestamp, Timestamp, at
from statuspage.shapes.components import ComponentJson, component_json
from statuspage.timefmt import iso


@with_config(CLOSED)
class AffectedComponentJson(TypedDict):
    """A component an update changed, with its status before and after."""

    code: Id
    name: str
    old_status: ComponentStatus
    new_status: ComponentStatus


@with_config(CLOSED)
class NoComponentsJson(TypedDict):
    """Statuspage's one entry saying that an update affected no component."""

    name: Literal["No components were affected by this update."]


NO_COMPONENTS: list[AffectedComponentJson | NoComponentsJson] = [
    {"name": "No components were affected by this update."}]


class _UpdateFields(TypedDict):
    id: Id
    status: Annotated[UpdateStatus, Field(description="The status this update set.")]
    body: str
    incident_id: Id
    created_at: Timestamp
    updated_at: Timestamp
    display_at: Annotated[Timestamp, Field(description="The time readers see; may be set back.")]
    affected_components: Annotated[list[AffectedComponentJson | NoComponentsJson], Field(min_length=1)]
    deliver_notifications: bool
    custom_tweet: AlwaysNull
    tweet_id: AlwaysNull


@with_config(CLOSED)
class UpdateJson(_UpdateFields):
    """An incident update as public v2 shows it."""


@with_config(CLOSED)
class ManagedUpdateJson(_UpdateFields):
    """An incident update as the management API shows it."""

    twitter_updated_at: AlwaysNull
    wants_twitter_update: Annotated[Literal[False], Field(description="We do not post to Twitter.")]


def update_json(update: IncidentUpdate, incident: Incident, page: Page) -> UpdateJson:
    tz = page.time_zone
    affected = cast(list[AffectedComponentJson | NoComponentsJson], [dict(a) for a in update.affected_components])
    return {
        "id": update.code,
        "status": update.status,
        "body": update.body,
        "incident_id": incident.code,
        "created_at": at(update.created_at, tz),
        "updated_at": at(update.updated_at, tz),
        "display_at": at(update.display_at, tz),
        "affected_components": affected or NO_COMPONENTS,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def managed_update_json(update: IncidentUpdate, incident: Incident, page: Page) -> ManagedUpdateJson:
    """An update as the management API shows it: the public one plus Statuspage's Twitter fields."""
    return {**update_json(update, incident, page), "twitter_updated_at": None, "wants_twitter_update": False}


class _IncidentFields(TypedDict):
    id: Id
    name: str
    status: UpdateStatus
    created_at: Timestamp
    updated_at: Timestamp
    monitoring_at: NullableTimestamp
    resolved_at: Annotated[NullableTimestamp, Field(description="When it was resolved (maintenance: completed).")]
    impact: Annotated[Impact, Field(description="Derived from the worst component status an incident set, unless "
                                                "overridden; maintenance is always `maintenance`.")]
    shortlink: Annotated[str, Field(description="The incident's public page.")]
    started_at: Annotated[Timestamp, Field(description="When the trouble began, or when the maintenance started "
                                                       "(its scheduled start until then).")]
    page_id: Id
    components: Annotated[list[ComponentJson], Field(description="The affected components.")]


class IncidentJson(_IncidentFields):
    """An incident as public v2 shows it."""

    incident_updates: list[UpdateJson]


class MaintenanceJson(IncidentJson):
    """A maintenance as public v2 shows it: an incident with its window."""

    scheduled_for: str | None
    scheduled_until: str | None


Maintenance = Annotated[bool, Field(description="Maintenance that moves itself at the window's edges; always false "
                                                "for incidents.")]


@with_config(CLOSED)
class ManagedIncidentJson(_IncidentFields):
    """An incident or maintenance as the management API shows it: the public one plus what managers set."""

    incident_updates: Annotated[list[ManagedUpdateJson], Field(description="Newest first.")]
    scheduled_for: Annotated[NullableTimestamp, Field(description="Maintenance only: the window's start.")]
    scheduled_until: Annotated[NullableTimestamp, Field(description="Maintenance only: the window's end.")]
    impact_override: Impact | None
    metadata: Annotated[dict[str, Any], Field(max_length=0, description="Always empty: metadata is not kept.")]
    incident_impacts: Annotated[list[Any], Field(max_length=0)]
    postmortem_body: Annotated[str | None, Field(description="The published postmortem as Markdown.")]
    postmortem_body_last_updated_at: NullableTimestamp
    postmortem_ignored: Literal[False]
    postmortem_notified_subscribers: bool
    postmortem_notified_twitter: Literal[False]
    postmortem_published_at: NullableTimestamp
    scheduled_remind_prior: Literal[False]
    scheduled_reminded_at: AlwaysNull
    scheduled_auto_in_progress: Maintenance
    scheduled_auto_completed: Maintenance
    auto_transition_to_maintenance_state: Maintenance
    auto_transition_to_operational_state: Maintenance
    auto_transition_deliver_notifications_at_start: Annotated[bool, Field(
        description="Whether the automatic move at the window's start notifies subscribers: it always does, so "
                    "this is true exactly when the maintenance moves itself.")]
    auto_transition_deliver_notifications_at_end: bool
    reminder_intervals: AlwaysNull


def _incident_fields(incident: Incident, page: Page, base_url: str) -> _IncidentFields:
    tz = page.time_zone
    return {
        "id": incident.code,
        "name": incident.name,
        "status": incident.status,
        "created_at": at(incident.created_at, tz),
        "updated_at": at(incident.updated_at, tz),
        "monitoring_at": iso(incident.monitoring_at, tz),
        "resolved_at": iso(incident.resolved_at, tz),
        "impact": incident.impact,
        "shortlink": f"{base_url}/incidents/{incident.code}",
        "started_at": at(incident.started_at, tz),
        "page_id": page.code,
        "components": [component_json(c, page) for c in incident.components],
    }


def incident_json(incident: Incident, page: Page, base_url: str) -> IncidentJson | MaintenanceJson:
    """An incident or maintenance as public v2 shows it."""
    tz = page.time_zone
    body: IncidentJson = {**_incident_fields(incident, page, base_url),
                          "incident_updates": [update_json(u, incident, page) for u in incident.updates]}
    if incident.is_maintenance:
        return {**body, "scheduled_for": iso(incident.scheduled_for, tz),
                "scheduled_until": iso(incident.scheduled_until, tz)}
    return body


def managed_incident_json(incident: Incident, page: Page, base_url: str) -> ManagedIncidentJson:
    """The management API's incident: the public one plus what managers set."""
    tz = page.time_zone
    auto = incident.is_maintenance and incident.auto_transition
    return {
        **_incident_fields(incident, page, base_url),
        "incident_updates": [managed_update_json(u, incident, page) for u in incident.updates],
        "impact_override": incident.impact_override,
        "metadata": {},
        "incident_impacts": [],
        **postmortem_fields(incident, page),
        "scheduled_for": iso(incident.scheduled_for, tz),
        "scheduled_until": iso(incident.scheduled_until, tz),
        "scheduled_remind_prior": False,
        "scheduled_reminded_at": None,
        "scheduled_auto_in_progress": auto,
        "scheduled_auto_completed": auto,
        "auto_transition_to_maintenance_state": auto,
        "auto_transition_to_operational_state": auto,
        # Our automatic moves always notify subscribers.
        "auto_transition_deliver_notifications_at_start": auto,
        "auto_transition_deliver_notifications_at_end": auto,
        "reminder_intervals": None,
    }


class PostmortemFields(TypedDict):
    """The management incident's postmortem_* fields."""

    postmortem_body: str | None
    postmortem_body_last_updated_at: str | None
    postmortem_ignored: Literal[False]
    postmortem_notified_subscribers: bool
    postmortem_notified_twitter: Literal[False]
    postmortem_published_at: str | None


def postmortem_fields(incident: Incident, page: Page) -> PostmortemFields:
    """The management incident's postmortem_* fields, from our structured postmortem."""
    postmortem = incident.postmortem
    published_at = postmortem.published_at if postmortem is not None else None
    body = export_markdown(incident, postmortem, page.time_zone, public=True,
                           items=incident.action_items) if postmortem is not None and published_at is not None else None
    return {
        "postmortem_body": body,
        "postmortem_body_last_updated_at": iso(postmortem.updated_at, page.time_zone) if postmortem else None,
        "postmortem_ignored": False,
        "postmortem_notified_subscribers": bool(postmortem and postmortem.notified_subscribers),
        "postmortem_notified_twitter": False,
        "postmortem_published_at": iso(published_at, page.time_zone),
    }


# --- templates -----------------------------------------------------------------------------------


@with_config(CLOSED)
class IncidentTemplateJson(TypedDict):
    """A saved message that fills in a common incident update."""

    id: Id
    name: str
    title: Annotated[str, Field(description="The incident name it suggests; empty for none.")]
    body: str
    update_status: Annotated[str, Field(json_schema_extra={"enum": [*(s.value for s in IncidentStatus), "scheduled"]})]
    group_id: AlwaysNull
    should_tweet: Literal[False]
    should_send_notifications: Annotated[bool, Field(description="Whether an update made from it notifies by "
                                                                 "default.")]
    components: Annotated[list[ComponentJson], Field(
        description="The components an incident made from it affects (those that still exist).")]
    component_ids: Annotated[list[str], Field(description="Ours: the ids of `components`.")]


def template_json(template: IncidentTemplate, page: Page, components: list[Component]) -> IncidentTemplateJson:
    """A saved message; `components` are those of its `component_ids` that still exist."""
    return {
        "id": template.code,
        "name": template.name,
        "title": template.title,
        "body": template.body,
        "update_status": template.update_status,
        "group_id": None,
        "should_tweet": False,
        "should_send_notifications": template.should_send_notifications,
        "components": [component_json(c, page) for c in components],
        "component_ids": [c.code for c in components],
    }
