"""Subscribers (Statuspage's subset): request bodies, answers, query parameters and operations.

Whether an address or URL is acceptable depends on what kind of subscriber it makes, and which
subscribers a bulk call names on the endpoint's default state, so `notify.subscribers` and the
views check those; the rest is checked here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from statuspage.api.schemas.base import Body, Wrapped, checked_in_domain, rule, table_model
from statuspage.api.schemas.fields import Ids, Ignored
from statuspage.api.schemas.operations import READ, WITH_BODY, Operation, Paging, Query, Section
from statuspage.errors import InvalidInput
from statuspage.inputs import UNSET
from statuspage.models import SubscriberMode
from statuspage.notify.subscribers import ENDPOINT_MAX, clean_flag
from statuspage.shapes import SubscriberJson

# Statuspage's subscriber types. We keep email and webhook subscribers only, so a filter on any
# other type finds no one (an empty list, counts of 0) rather than an error.
TYPES = ("email", "sms", "webhook", "slack", "teams", "integration_partner")
# Our modes that are Statuspage types: the counts and the type filter answer in Statuspage's types only.
MODES = tuple(m.value for m in SubscriberMode if m.value in TYPES)
STATES = ("active", "unconfirmed", "quarantined")


def _no_sms(value: Any, _field: str) -> None:
    if value:
        raise InvalidInput("SMS subscribers are not supported; use email or a webhook endpoint.", "phone_number")


NoSms = Annotated[str | None, Field(max_length=0, description="SMS is not offered."), rule(_no_sms)]
Email = Annotated[str | None, Field(json_schema_extra={"format": "email"})]
TypeFilter = Annotated[str, Field(json_schema_extra={"enum": [*TYPES, ""]})]


class SubscriberCreate(Body):
    """A new subscriber: with `endpoint` a webhook, else an email subscriber."""

    phone_number: NoSms = None
    phone_country: NoSms = None
    skip_confirmation_notification: Annotated[bool, rule(clean_flag), Field(
        description="Email: subscribe at once, without the confirmation mail (an admin's key only: 403 for a "
                    "responder's).")] = False
    email: Annotated[Any, checked_in_domain(Email), Field(
        description="An email subscriber's address; for a webhook, an optional contact address.")] = None
    endpoint: Annotated[Any, checked_in_domain(Annotated[str | None, Field(
        max_length=ENDPOINT_MAX, json_schema_extra={"format": "uri"})]), Field(
        description="An http(s) URL: makes a webhook subscriber (confirmed at once).")] = None
    component_ids: Annotated[Any, checked_in_domain(Annotated[Ids | None, Field(min_length=1)]), Field(
        description="The components to hear about; leave it out (or null) for every component.")] = None
    page_access_user: Ignored = None


class SubscriberComponents(Body):
    """Statuspage's PATCH body is not wrapped."""

    component_ids: Annotated[Any, checked_in_domain(Ids | None), Field(
        description="The components to hear about; empty, null or left out means every one.")] = UNSET


class SubscriberReactivate(Body):
    """The subscribers a bulk call names."""

    subscribers: Annotated[Any, checked_in_domain(Literal["all"] | Annotated[Ids, Field(min_length=1)]), Field(
        description='A list of subscriber ids, or "all" (narrowed by `type` and `state`).')]
    type: Annotated[Any, checked_in_domain(TypeFilter | None), Field(
        description='With "all": only this type (types we do not offer match no one).')] = UNSET


class SubscriberBulk(SubscriberReactivate):
    """The subscribers a bulk call names, and how."""

    state: Annotated[Any, checked_in_domain(Annotated[str, Field(json_schema_extra={"enum": [*STATES, "all"]})]),
                     Field(description='With "all": only this state (unsubscribe: default active; resend: default '
                                       'unconfirmed, and only unconfirmed email subscribers are sent one).')] = UNSET
    skip_unsubscription_notification: Annotated[bool, rule(clean_flag), Field(
        description="Accepted (true or false) and ignored: no mail is sent on unsubscribing either way.")] = False


SUBSCRIBER_CREATE = Wrapped("subscriber", SubscriberCreate)
SUBSCRIBER_COMPONENTS = Wrapped(None, SubscriberComponents, required=False)
BULK = Wrapped(None, SubscriberBulk)
REACTIVATE = Wrapped(None, SubscriberReactivate)

SUBSCRIBER_PAGING = Paging(default_limit=100, max_limit=1000, first=0)
# Unsubscribed subscribers are not kept: the list is always empty, its paging still checked.
UNSUBSCRIBED_PAGING = Paging(default_limit=100, max_limit=100, first=0, limit_name="per_page")
FILTERS = (
    Query("q", str, "Only those whose email or endpoint contains this (any case); 400 if it holds NUL."),
    Query("state", Annotated[str, Field(json_schema_extra={"enum": [*STATES, "all"], "default": "active"})],
          "Which state."),
    Query("type", TypeFilter, "Only this type; empty for every type. Types we do not offer match no one."),
)


# --- answers -------------------------------------------------------------------------------------

_CLOSED = ConfigDict(extra="forbid")
Count = Annotated[int, Field(ge=0)]


@with_config(ConfigDict(extra="forbid", json_schema_extra={
    "if": {"properties": {"mode": {"const": SubscriberMode.WEBHOOK.value}}},
    "then": {"required": ["webhook_secret"]},
    "else": {"not": {"required": ["webhook_secret"]}},
}))
class SubscriberCreatedJson(SubscriberJson):
    """The new subscriber; a webhook's with its secret, shown this once."""

    webhook_secret: NotRequired[Annotated[str, Field(pattern="^[0-9a-f]{64}$", description=(
        "Webhooks only, shown this once: the key of the deliveries' HMAC signature."))]]


CountsJson = table_model("SubscriberCountsJson", __name__, {kind: (Count, ...) for kind in TYPES})
ByStateJson = table_model("SubscribersByStateJson", __name__, {state: (Count, ...) for state in (*STATES, "total")})
HistogramJson = table_model("SubscriberHistogramJson", __name__, {kind: (ByStateJson, ...) for kind in TYPES})


@with_config(_CLOSED)
class UnsubscribedJson(TypedDict):
    unsubscribed: Count


@with_config(_CLOSED)
class ReactivatedJson(TypedDict):
    reactivated: Count


@with_config(_CLOSED)
class ResentJson(TypedDict):
    resent: Count


@with_config(_CLOSED)
class QueuedJson(TypedDict):
    """Nothing to say but that it is queued."""


# --- operations ------------------------------------------------------------------------------------

_ALL = "/pages/{page_id}/subscribers"
_ONE = _ALL + "/{subscriber_id}"
_FORM_NOTE = " As a form: `subscribers[]=<id>` per id, or `subscribers=all`."
_ADMIN_WITH_BODY = (*WITH_BODY, 403)

SUBSCRIBERS = Section(
    "Subscribers",
    "People (email) and systems (webhook) that hear about incidents and maintenance. Email subscribers confirm by "
    "a link unless the confirmation is skipped; webhooks are confirmed at once and sign their deliveries with a "
    "secret shown when created.",
    (
        Operation("get", _ALL, "listSubscribers", "List subscribers", (200, "The newest first."), list[SubscriberJson],
                  (400, 401, 404, 422, 429), query=FILTERS, paging=SUBSCRIBER_PAGING,
                  description="Active ones unless `state` says otherwise; pages are numbered from 0 as on "
                              "Statuspage; 422 for an unknown state or type, 400 for paging out of range."),
        Operation("post", _ALL, "createSubscriber", "Create a subscriber",
                  (201, "The new subscriber (webhooks: with their secret)."), SubscriberCreatedJson,
                  (*_ADMIN_WITH_BODY, 409), body=SUBSCRIBER_CREATE,
                  example={"subscriber": {"email": "ops@example.com"}},
                  description="With `endpoint`, a webhook; else an email subscriber, who is sent a confirmation "
                              "unless `skip_confirmation_notification`. 409 when the address or URL is already "
                              "subscribed; 404 for unknown component ids; 422 for SMS; 403 when a responder's key "
                              "asks to skip the confirmation."),
        Operation("get", _ALL + "/count", "countSubscribers", "Count subscribers by type",
                  (200, "How many match, by Statuspage's subscriber type."), CountsJson, (400, 401, 404, 422, 429),
                  query=FILTERS),
        Operation("get", _ALL + "/histogram_by_state", "subscriberHistogram", "Count subscribers by type and state",
                  (200, "For each type, how many are active, unconfirmed, quarantined, and in all."), HistogramJson,
                  READ),
        Operation("get", _ALL + "/unsubscribed", "listUnsubscribed", "List unsubscribed subscribers",
                  (200, "Always empty: unsubscribing removes a subscriber and their address."),
                  Annotated[list[Any], Field(max_length=0)], (400, 401, 404, 429), paging=UNSUBSCRIBED_PAGING),
        Operation("post", _ALL + "/unsubscribe", "unsubscribeSubscribers", "Unsubscribe several subscribers",
                  (201, "How many were removed."), UnsubscribedJson, _ADMIN_WITH_BODY, body=BULK,
                  example={"subscribers": ["s1x2y3z4w5v6"]},
                  description="An admin's key only (403 for a responder's). Removes them (no mail is sent); \"all\" "
                              "takes active ones unless `state` says otherwise. 404 when a listed id is unknown."
                              + _FORM_NOTE),
        Operation("post", _ALL + "/reactivate", "reactivateSubscribers", "Reactivate quarantined subscribers",
                  (201, "How many were quarantined and are active again."), ReactivatedJson, WITH_BODY,
                  body=REACTIVATE, example={"subscribers": "all"},
                  description="Lifts the quarantine of webhooks whose deliveries kept failing; listed subscribers "
                              "that are not quarantined are left as they are; \"all\" means every quarantined one."
                              + _FORM_NOTE),
        Operation("post", _ALL + "/resend_confirmation", "resendConfirmations", "Resend confirmations",
                  (201, "How many confirmations were queued."), ResentJson, WITH_BODY, body=BULK,
                  example={"subscribers": ["s1x2y3z4w5v6"]},
                  description="Queues the confirmation mail again for those that are unconfirmed email subscribers; "
                              "others are skipped." + _FORM_NOTE),
        Operation("get", _ONE, "getSubscriber", "Get a subscriber", (200, "The subscriber."), SubscriberJson, READ),
        Operation("patch", _ONE, "updateSubscriber", "Choose a subscriber's components",
                  (200, "The subscriber after the change."), SubscriberJson, WITH_BODY, body=SUBSCRIBER_COMPONENTS,
                  example={"component_ids": ["k1x2y3z4w5v6"]},
                  description="Statuspage's body is not wrapped: `{\"component_ids\": [...]}` (as a form, "
                              "`component_ids[]=<id>` per id). No ids means every component."),
        Operation("delete", _ONE, "deleteSubscriber", "Unsubscribe a subscriber",
                  (200, "The removed subscriber, as it was."), SubscriberJson, (*READ, 403, 422),
                  query=(Query("skip_unsubscription_notification", bool,
                               "Accepted and ignored: no mail is sent on unsubscribing."),),
                  description="An admin's key only (403 for a responder's)."),
        Operation("post", _ONE + "/resend_confirmation", "resendConfirmation", "Resend a confirmation",
                  (201, "Queued."), QueuedJson, (*READ, 422),
                  description="422 when the subscriber is confirmed already or is not an email subscriber."),
    ),
)
