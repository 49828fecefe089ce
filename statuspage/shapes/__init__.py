"""Statuspage's JSON shapes for our objects (public v2 and management v1), each declared once.

Each shape is a `TypedDict` that its builder returns: mypy holds the builder to the declared keys,
and the management API's OpenAPI document (statuspage/api/openapi.py) reads the same declaration,
field types and descriptions, through pydantic. A new field is one line in the shape and one in
its builder. The API, the webhook sender and the exports share these.
"""

from statuspage.shapes.alerts import AlertChannelJson, alert_channel_json, masked_target
from statuspage.shapes.base import AlwaysNull, Day, Id, NullableTimestamp, Timestamp
from statuspage.shapes.components import (
    ComponentGroupJson,
    ComponentJson,
    GroupAsComponentJson,
    component_json,
    group_as_component_json,
    group_json,
    overall_status,
    tree_json,
)
from statuspage.shapes.incidents import (
    NO_COMPONENTS,
    IncidentJson,
    IncidentTemplateJson,
    MaintenanceJson,
    ManagedIncidentJson,
    ManagedUpdateJson,
    UpdateJson,
    incident_json,
    managed_incident_json,
    managed_update_json,
    postmortem_fields,
    template_json,
    update_json,
)
from statuspage.shapes.pages import PageJson, PageProfileJson, page_json, page_profile_json, status_json
from statuspage.shapes.subscribers import SubscriberJson, subscriber_json

__all__ = [
    "NO_COMPONENTS", "AlertChannelJson", "AlwaysNull", "ComponentGroupJson", "ComponentJson", "Day",
    "GroupAsComponentJson", "Id", "IncidentJson", "IncidentTemplateJson", "MaintenanceJson", "ManagedIncidentJson",
    "ManagedUpdateJson", "NullableTimestamp", "PageJson", "PageProfileJson", "SubscriberJson", "Timestamp",
    "UpdateJson", "alert_channel_json", "component_json", "group_as_component_json", "group_json", "incident_json",
    "managed_incident_json", "managed_update_json", "masked_target", "overall_status", "page_json",
    "page_profile_json", "postmortem_fields", "status_json", "subscriber_json", "template_json", "tree_json",
    "update_json",
]
