"""Typed SQLAlchemy 2.0 models: data and invariants only, one module per area.

Public ids are opaque 12-character codes (as Statuspage's); integer keys
stay internal. Every status is a StrEnum stored as its string value.
"""

from statuspage.models.alerts import AlertChannel, AlertEvent, AlertKind
from statuspage.models.base import DESCRIPTION_MAX, NAME_MAX, ComponentStatus, Role, StrEnumType, new_code
from statuspage.models.core import (
    ApiToken,
    AuditEntry,
    Component,
    ComponentGroup,
    Page,
    PageAsset,
    SignInThrottle,
    StatusChange,
    User,
)
from statuspage.models.incidents import (
    Impact,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    IncidentTemplate,
    IncidentUpdate,
    MaintenanceStatus,
    UpdateStatus,
)
from statuspage.models.notify import (
    CHAT_MODES,
    SUBSCRIBER_MODES,
    Delivery,
    DeliveryStatus,
    EventKind,
    OutboxEvent,
    PhoneCode,
    Subscriber,
    SubscriberMode,
    Subscription,
    subscriber_mode,
)
from statuspage.models.postmortems import ActionItem, ActionStatus, Postmortem, PostmortemRevision
from statuspage.models.probes import (
    AutoIncident,
    Check,
    CheckRollup,
    DraftState,
    IncidentDraft,
    Probe,
    ProbeKind,
    ProbeState,
)
from statuspage.models.snapshot import SnapshotEntry, SnapshotLease

__all__ = [
    "ActionItem", "ActionStatus", "Postmortem", "PostmortemRevision",
    "AutoIncident", "Check", "DraftState", "CheckRollup", "Delivery", "DeliveryStatus", "EventKind", "IncidentDraft",
    "OutboxEvent", "Probe", "ProbeKind", "ProbeState", "Subscriber", "SubscriberMode", "Subscription",
    "CHAT_MODES", "SUBSCRIBER_MODES", "subscriber_mode", "PhoneCode", "AlertChannel", "AlertEvent", "AlertKind",
    "DESCRIPTION_MAX", "NAME_MAX", "ApiToken", "AuditEntry", "SignInThrottle", "Component", "ComponentGroup",
    "ComponentStatus", "Impact", "Incident", "IncidentComponent", "IncidentKind", "IncidentStatus",
    "IncidentTemplate", "IncidentUpdate", "MaintenanceStatus", "Page", "PageAsset", "Role", "SnapshotEntry",
    "SnapshotLease",
    "StatusChange",
    "StrEnumType", "UpdateStatus", "User", "new_code",
]
