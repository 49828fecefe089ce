"""Alert channels (our extension): routes that alert responders, their bodies, answers and operations.

Whether a target is acceptable depends on the kind and on the operator's outbound policy (the
probes', not the subscribers': responders choose these targets), so `notify.alert_routes` checks it;
the kind and the events are checked here by the same domain rules.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, with_config

from statuspage.api.schemas.base import Body, Wrapped, checked_in_domain, patch_of, rule
from statuspage.api.schemas.fields import Name
from statuspage.api.schemas.operations import READ, Operation, Section, resource
from statuspage.api.schemas.subscribers import QueuedJson
from statuspage.models import AlertEvent, AlertKind
from statuspage.notify.alert_routes import ALL_EVENTS, parse_events, parse_kind
from statuspage.shapes import AlertChannelJson

TARGET_MAX = 2000


def _kind(value: Any, _field: str) -> AlertKind:
    return parse_kind(value)


def _events(value: Any, _field: str) -> list[str]:
    return parse_events(value)


Events = Annotated[Annotated[list[AlertEvent], Field(min_length=1)] | None, rule(_events), Field(
    description=f"What the route is told, any of: {', '.join(f'`{e}`' for e in ALL_EVENTS)}. Left out or null: "
                "all of them; an empty list or an unknown event is refused.")]


class AlertChannelCreate(Body):
    """A new alert route."""

    name: Annotated[Name, Field(description="What responders call this route, e.g. `On-call Slack`.")]
    kind: Annotated[AlertKind, rule(_kind), Field(description=(
        "`email`, `webhook` (signed JSON), `slack`, `teams`, `discord` (the service's incoming webhook) or "
        "`pagerduty` (Events API v2)."))]
    target: Annotated[Any, checked_in_domain(Annotated[str, Field(min_length=1, max_length=TARGET_MAX)]), Field(
        description="email: a responder's address. webhook, slack, teams, discord: the URL alerts are POSTed to, "
                    "under the probes' address policy (private and loopback addresses allowed, link-local and "
                    "cloud metadata refused); chat URLs must be https and not another service's. pagerduty: the "
                    "32-character integration (routing) key of an Events API v2 integration.")]
    events: Events = None


AlertChannelUpdate = patch_of(AlertChannelCreate, "AlertChannelUpdate",
                              "Any of a route's fields; those left out keep their value. A new `kind` needs its "
                              "`target` too.")
ALERT_CHANNEL_CREATE = Wrapped("alert_channel", AlertChannelCreate)
ALERT_CHANNEL_UPDATE = Wrapped("alert_channel", AlertChannelUpdate)


@with_config(ConfigDict(extra="forbid", json_schema_extra={
    "if": {"required": ["secret"]},
    "then": {"properties": {"kind": {"const": AlertKind.WEBHOOK.value}}},
}))
class AlertChannelWrittenJson(AlertChannelJson):
    """The route after a create or an update; a webhook's new signing secret with it, shown this once."""

    secret: NotRequired[Annotated[str, Field(pattern="^[0-9a-f]{64}$", description=(
        "Webhooks only, shown this once: when the route is created, or when a change makes it a webhook. The "
        "key of the alerts' HMAC-SHA256 signature (`X-Statuspage-Signature`, as on subscriber webhooks)."))]]


_ALL = "/pages/{page_id}/alert_channels"

ALERT_CHANNELS = Section(
    "Alert channels",
    "Our extension: routes that alert responders (not subscribers) when probes propose a draft, an incident opens, "
    "changes or resolves, a component's status moves, a delivery fails for good or an action item falls overdue. "
    "Responders' keys may read them and send a test alert; an admin's key manages them.",
    (*resource(
        collection=_ALL, item="alert_channel_id", noun="alert channel", names=("AlertChannel", "AlertChannels"),
        answer=AlertChannelJson, list_answer=list[AlertChannelJson], written_answer=AlertChannelWrittenJson,
        create=ALERT_CHANNEL_CREATE, update=ALERT_CHANNEL_UPDATE, order="by name",
        examples=({"alert_channel": {"name": "On-call PagerDuty", "kind": "pagerduty",
                                     "target": "0123456789abcdef0123456789abcdef",
                                     "events": ["draft_proposed", "incident_opened", "incident_resolved"]}},
                  {"alert_channel": {"events": ["incident_opened", "incident_resolved"]}}),
        notes={
            "list": "Any key may read them.",
            "create": "An admin's key only (403 for a responder's). A webhook route answers with its signing "
                      "secret, shown this once. 422 for an unknown kind or event, an empty events list, a target "
                      "its kind refuses (a malformed routing key, a cloud-metadata URL), or a missing name or "
                      "target.",
            "update": "An admin's key only. A new kind needs a target of that kind; becoming a webhook makes a "
                      "new signing secret, shown in this answer.",
            "delete": "An admin's key only. Alerts still waiting for this route are not sent.",
        }),
     Operation("post", _ALL + "/{alert_channel_id}/test", "testAlertChannel", "Send a test alert",
               (201, "Queued: the worker sends it to this route alone within seconds."), QueuedJson, READ,
               description="Any key may. The test goes through the outbox like any alert, so its outcome shows "
                           "among the admin's notifications."),
     ),
)
