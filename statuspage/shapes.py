"""Statuspage's JSON shapes for our objects (public v2 and management v1)."""

from __future__ import annotations

from typing import Any

from statuspage.components.catalog import TreeItem
from statuspage.components.status_rules import page_indicator, worst_status
from statuspage.models import Component, ComponentGroup, Incident, IncidentTemplate, IncidentUpdate, Page, Subscriber
from statuspage.page.profile import fixed_fields
from statuspage.postmortems.document import export_markdown
from statuspage.timefmt import iso, iso_date


def page_json(page: Page, base_url: str) -> dict[str, Any]:
    return {
        "id": page.code,
        "name": page.name,
        "url": page.url or base_url,
        "time_zone": page.time_zone,
        "updated_at": iso(page.updated_at, page.time_zone),
    }


def page_profile_json(page: Page, base_url: str) -> dict[str, Any]:
    """The page as the management API shows it: the public fields plus the profile and switches."""
    tz = page.time_zone
    return {
        **page_json(page, base_url),
        "created_at": iso(page.created_at, tz),
        "allow_page_subscribers": page.allow_page_subscribers,
        "allow_incident_subscribers": page.allow_incident_subscribers,
        "allow_email_subscribers": page.allow_email_subscribers,
        "allow_sms_subscribers": False,
        "allow_rss_atom_feeds": page.allow_rss_atom_feeds,
        "allow_webhook_subscribers": page.allow_webhook_subscribers,
        "notifications_from_email": page.notifications_from_email,
        "notifications_email_footer": page.notifications_email_footer,
        "owner_email": page.owner_email,
        "activity_score": 0,
        **fixed_fields(base_url),  # Statuspage's fields we do not offer (css_* colours, domain, ...)
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


NO_COMPONENTS = [{"name": "No components were affected by this update."}]


def update_json(update: IncidentUpdate, incident: Incident, page: Page) -> dict[str, Any]:
    tz = page.time_zone
    return {
        "id": update.code,
        "status": update.status.value,
        "body": update.body,
        "incident_id": incident.code,
        "created_at": iso(update.created_at, tz),
        "updated_at": iso(update.updated_at, tz),
        "display_at": iso(update.display_at, tz),
        "affected_components": [dict(a) for a in update.affected_components] or NO_COMPONENTS,
        "deliver_notifications": update.deliver_notifications,
        "custom_tweet": None,
        "tweet_id": None,
    }


def managed_update_json(update: IncidentUpdate, incident: Incident, page: Page) -> dict[str, Any]:
    """An update as the management API shows it: the public one plus Statuspage's Twitter fields."""
    return {**update_json(update, incident, page), "twitter_updated_at": None, "wants_twitter_update": False}


def incident_json(incident: Incident, page: Page, base_url: str) -> dict[str, Any]:
    """An incident or maintenance as public v2 shows it."""
    tz = page.time_zone
    body = {
        "id": incident.code,
        "name": incident.name,
        "status": incident.status.value,
        "created_at": iso(incident.created_at, tz),
        "updated_at": iso(incident.updated_at, tz),
        "monitoring_at": iso(incident.monitoring_at, tz),
        "resolved_at": iso(incident.resolved_at, tz),
        "impact": incident.impact.value,
        "shortlink": f"{base_url}/incidents/{incident.code}",
        "started_at": iso(incident.started_at, tz),
        "page_id": page.code,
        "incident_updates": [update_json(u, incident, page) for u in incident.updates],
        "components": [component_json(c, page) for c in incident.components],
    }
    if incident.is_maintenance:
        body["scheduled_for"] = iso(incident.scheduled_for, tz)
        body["scheduled_until"] = iso(incident.scheduled_until, tz)
    return body


def managed_incident_json(incident: Incident, page: Page, base_url: str) -> dict[str, Any]:
    """The management API's incident: the public one plus what managers set."""
    tz = page.time_zone
    body = incident_json(incident, page, base_url)
    body["incident_updates"] = [managed_update_json(u, incident, page) for u in incident.updates]
    body.update({
        "impact_override": incident.impact_override.value if incident.impact_override else None,
        "metadata": {},
        "incident_impacts": [],
        **postmortem_fields(incident, page),
        "scheduled_for": iso(incident.scheduled_for, tz),
        "scheduled_until": iso(incident.scheduled_until, tz),
        "scheduled_remind_prior": False,
        "scheduled_reminded_at": None,
        "scheduled_auto_in_progress": incident.is_maintenance and incident.auto_transition,
        "scheduled_auto_completed": incident.is_maintenance and incident.auto_transition,
        "auto_transition_to_maintenance_state": incident.is_maintenance and incident.auto_transition,
        "auto_transition_to_operational_state": incident.is_maintenance and incident.auto_transition,
        # Our automatic moves always notify subscribers.
        "auto_transition_deliver_notifications_at_start": incident.is_maintenance and incident.auto_transition,
        "auto_transition_deliver_notifications_at_end": incident.is_maintenance and incident.auto_transition,
        "reminder_intervals": None,
    })
    return body


def template_json(template: IncidentTemplate, page: Page, components: list[Component]) -> dict[str, Any]:
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


def subscriber_json(subscriber: Subscriber, page: Page) -> dict[str, Any]:
    """A subscriber as Statuspage's management API shows it."""
    tz = page.time_zone
    return {
        "id": subscriber.code,
        "mode": subscriber.mode.value,
        "email": subscriber.email,
        "endpoint": subscriber.endpoint,
        "phone_number": None,
        "phone_country": None,
        "display_phone_number": None,
        "obfuscated_channel_name": None,
        "workspace_name": None,
        "quarantined_at": iso(subscriber.quarantined_at, tz),
        "purge_at": None,
        "components": [c.code for c in subscriber.components],
        "page_access_user_id": None,
        "created_at": iso(subscriber.created_at, tz),
        "skip_confirmation_notification": False,
        "confirmed_at": iso(subscriber.confirmed_at, tz),
        "state": ("quarantined" if subscriber.quarantined_at else
                  "active" if subscriber.confirmed_at else "unconfirmed"),
    }


def postmortem_fields(incident: Incident, page: Page) -> dict[str, Any]:
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
