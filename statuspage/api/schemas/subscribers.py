"""Subscribers (Statuspage's subset): request bodies, answers, query parameters and operations.

Which address fields a new subscriber's mode takes is checked here (`takes`); whether the address
itself is acceptable depends on the channel, and which subscribers a bulk call names on the
endpoint's default state, so `notify.subscribers` and the views check those.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, Self

from pydantic import ConfigDict, Field, model_validator, with_config
from typing_extensions import TypedDict

from statuspage.api.schemas.base import UNSET, Body, Wrapped, checked_in_domain, rule, table_model
from statuspage.api.schemas.fields import Ids, Ignored
from statuspage.api.schemas.operations import READ, WITH_BODY, Operation, Paging, Query, Section
from statuspage.errors import InvalidInput
from statuspage.models import SUBSCRIBER_MODES, SubscriberMode, subscriber_mode
from statuspage.notify.subscribers import ENDPOINT_MAX, clean_flag
from statuspage.shapes import SubscriberJson

# Statuspage's subscriber types (the `type` filter, the counts), then our modes it does not have (discord,
# mattermost). integration_partner is none of our modes, so it matches no one.
STATUSPAGE_TYPES = ("email", "sms", "webhook", "slack", "teams", "integration_partner")
TYPES = (*STATUSPAGE_TYPES, *(m.value for m in SUBSCRIBER_MODES if m.value not in STATUSPAGE_TYPES))
# The types that are our modes (every mode is a type).
MODES = tuple(m.value for m in SUBSCRIBER_MODES)
STATES = ("active", "unconfirmed", "quarantined")

# The fields that say where a subscriber's messages go; each mode takes its own and refuses the others.
ADDRESS_FIELDS = ("email", "endpoint", "phone_number", "phone_country")
# Beside its address (`SubscriberMode.address_column`): a webhook's contact, the country a number is written for.
_ALSO = {SubscriberMode.WEBHOOK: ("email",), SubscriberMode.SMS: ("phone_country",)}


def takes(mode: SubscriberMode) -> tuple[str, ...]:
    """The address fields a subscriber of `mode` is made from; the first is its address, required."""
    return (mode.address_column, *_ALSO.get(mode, ()))


def _given(value: Any) -> bool:
    return value not in (None, "")


def parse_mode(value: Any, field: str) -> SubscriberMode | None:
    """One of our modes; None (left out or empty) for Statuspage's default, chosen by `default_mode`."""
    if not _given(value):
        return None
    try:
        return subscriber_mode(value)
    except ValueError:
        raise InvalidInput(f"{field} must be one of: {', '.join(SUBSCRIBER_MODES)}.", field) from None


def default_mode(endpoint: Any, phone_number: Any) -> SubscriberMode:
    """Statuspage's reading of a subscriber without a mode: an endpoint is a webhook, a phone number SMS."""
    return (SubscriberMode.WEBHOOK if _given(endpoint) else
            SubscriberMode.SMS if _given(phone_number) else SubscriberMode.EMAIL)


def _fields_by_mode() -> dict[str, Any]:
    """`takes` as JSON Schema: with a mode, its address is required and the other address fields are left out."""
    return {"allOf": [
        {"if": {"required": ["mode"], "properties": {"mode": {"const": mode.value}}},
         "then": {"required": [takes(mode)[0]],
                  "properties": {name: {"enum": [None, ""]} for name in ADDRESS_FIELDS if name not in takes(mode)}}}
        for mode in SUBSCRIBER_MODES
    ]}


Email = Annotated[str | None, Field(json_schema_extra={"format": "email"})]
TypeFilter = Annotated[str, Field(json_schema_extra={"enum": [*TYPES, ""]})]


class SubscriberCreate(Body):
    """A new subscriber of any mode: its address in the field its mode takes."""

    model_config = ConfigDict(json_schema_extra=_fields_by_mode())

    mode: Annotated[SubscriberMode | None, rule(parse_mode), Field(
        description="How the subscriber is reached: `email`; `webhook` (Statuspage's signed JSON); `slack`, "
                    "`mattermost`, `teams` or `discord` (the service's incoming-webhook URL in `endpoint`); `sms` "
                    "(`phone_number`, 422 unless the operator set up texts). Left out: `webhook` with an "
                    "`endpoint` (Statuspage's meaning), `sms` with a `phone_number`, else `email`. An address "
                    "field the mode does not take is refused.")] = None
    email: Annotated[Any, checked_in_domain(Email), Field(
        description="`email`: the address. `webhook`: an optional contact, told when deliveries keep failing.")] = None
    endpoint: Annotated[Any, checked_in_domain(Annotated[str | None, Field(
        max_length=ENDPOINT_MAX, json_schema_extra={"format": "uri"})]), Field(
        description="`webhook` and the chat modes: the URL messages are POSTed to, which the outbound address "
                    "guard allows. Chat URLs must be https and not on another service's well-known host (a "
                    "`discord.com` URL is no Slack webhook).")] = None
    phone_number: Annotated[str | None, Field(
        description="`sms`: a mobile number, written for `phone_country` or starting with + and its country "
                    "code; kept in E.164.")] = None
    phone_country: Annotated[str | None, Field(
        json_schema_extra={"pattern": "^[A-Za-z]{2}$"},
        description="`sms`: the country the number is written for (ISO 3166-1 alpha-2, such as `US`).")] = None
    skip_confirmation_notification: Annotated[bool, rule(clean_flag), Field(
        description="Subscribe at once, without the confirmation: the mail (email), the message with a confirm "
                    "link (chat) or the text with one (SMS). An admin's key only: 403 for a responder's. Webhooks "
                    "are confirmed at once either way.")] = False
    component_ids: Annotated[Any, checked_in_domain(Annotated[Ids | None, Field(min_length=1)]), Field(
        description="The components to hear about; leave it out (or null) for every component.")] = None
    page_access_user: Ignored = None

    @model_validator(mode="after")
    def _fields_of_its_mode(self) -> Self:
        """The mode chosen (Statuspage's default when left out); address fields it does not take refused."""
        mode = self.mode or default_mode(self.endpoint, self.phone_number)
        for name in ADDRESS_FIELDS:
            if _given(getattr(self, name)) and name not in takes(mode):
                raise InvalidInput(f"{name} does not go with mode {mode}, which takes {' and '.join(takes(mode))}.",
                                   name)
        self.mode = mode
        return self


class SubscriberComponents(Body):
    """Statuspage's PATCH body is not wrapped."""

    component_ids: Annotated[Any, checked_in_domain(Ids | None), Field(
        description="The components to hear about; empty, null or left out means every one.")] = UNSET


class SubscriberReactivate(Body):
    """The subscribers a bulk call names."""

    subscribers: Annotated[Any, checked_in_domain(Literal["all"] | Annotated[Ids, Field(min_length=1)]), Field(
        description='A list of subscriber ids, or "all" (narrowed by `type` and `state`).')]
    type: Annotated[Any, checked_in_domain(TypeFilter | None), Field(
        description='With "all": only this type (`integration_partner` matches no one).')] = UNSET


class SubscriberBulk(SubscriberReactivate):
    """The subscribers a bulk call names, and how."""

    state: Annotated[Any, checked_in_domain(Annotated[str, Field(json_schema_extra={"enum": [*STATES, "all"]})]),
                     Field(description='With "all": only this state (unsubscribe: default active; resend: default '
                                       'unconfirmed, and only unconfirmed email and chat subscribers are sent '
                                       'one).')] = UNSET
    skip_unsubscription_notification: Annotated[bool, rule(clean_flag), Field(
        description="Accepted (true or false) and ignored: nothing is sent on unsubscribing either way.")] = False


SUBSCRIBER_CREATE = Wrapped("subscriber", SubscriberCreate)
SUBSCRIBER_COMPONENTS = Wrapped(None, SubscriberComponents, required=False)
BULK = Wrapped(None, SubscriberBulk)
REACTIVATE = Wrapped(None, SubscriberReactivate)

SUBSCRIBER_PAGING = Paging(default_limit=100, max_limit=1000, first=0)
# Unsubscribed subscribers are not kept: the list is always empty, its paging still checked.
UNSUBSCRIBED_PAGING = Paging(default_limit=100, max_limit=100, first=0, limit_name="per_page")
FILTERS = (
    Query("q", str, "Only those whose email, endpoint or phone number contains this (any case); 400 if it holds "
                    "NUL."),
    Query("state", Annotated[str, Field(json_schema_extra={"enum": [*STATES, "all"], "default": "active"})],
          "Which state."),
    Query("type", TypeFilter, "Only this type (a mode; `discord` and `mattermost` are ours beside Statuspage's "
                              "types; `integration_partner` matches no one); empty for every type."),
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
    "People and systems that hear about incidents and maintenance: by email, Statuspage's signed webhook, a chat "
    "service's incoming webhook (Slack, Mattermost, Microsoft Teams, Discord) or SMS. Email, chat and SMS "
    "subscribers confirm by a link sent to that address unless the confirmation is skipped; webhooks are "
    "confirmed at once and sign their deliveries with a secret shown when created.",
    (
        Operation("get", _ALL, "listSubscribers", "List subscribers", (200, "The newest first."), list[SubscriberJson],
                  (400, 401, 404, 422, 429), query=FILTERS, paging=SUBSCRIBER_PAGING,
                  description="Active ones unless `state` says otherwise; pages are numbered from 0 as on "
                              "Statuspage; 422 for an unknown state or type, 400 for paging out of range."),
        Operation("post", _ALL, "createSubscriber", "Create a subscriber",
                  (201, "The new subscriber (webhooks: with their secret)."), SubscriberCreatedJson,
                  (*_ADMIN_WITH_BODY, 409), body=SUBSCRIBER_CREATE,
                  example={"subscriber": {"mode": "slack",
                                          "endpoint": "https://hooks.slack.com/services/T000/B000/XXXX"}},
                  description="`mode` says which kind; left out, an `endpoint` makes a webhook, a `phone_number` "
                              "an SMS subscriber, else `email` an email subscriber. All but webhooks are sent a "
                              "confirmation link (a mail, a chat message, a text) and hear nothing else until it "
                              "is followed, unless `skip_confirmation_notification`. 409 when the address, URL or "
                              "number is already subscribed; 404 for unknown component ids; 422 for bad input, an "
                              "address field the mode does not take, or SMS when texts are not set up; 403 when a "
                              "responder's key asks to skip the confirmation."),
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
                  description="Lifts the quarantine of webhooks and chat subscribers whose deliveries kept "
                              "failing; listed subscribers "
                              "that are not quarantined are left as they are; \"all\" means every quarantined one."
                              + _FORM_NOTE),
        Operation("post", _ALL + "/resend_confirmation", "resendConfirmations", "Resend confirmations",
                  (201, "How many confirmations were queued."), ResentJson, WITH_BODY, body=BULK,
                  example={"subscribers": ["s1x2y3z4w5v6"]},
                  description="Queues the confirmation again for those that are unconfirmed email or chat "
                              "subscribers; others are skipped (an SMS subscriber asks the public page for a code)."
                              + _FORM_NOTE),
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
                  description="For an unconfirmed email or chat subscriber; 422 when the subscriber is confirmed "
                              "already or is a webhook or SMS subscriber."),
    ),
)
