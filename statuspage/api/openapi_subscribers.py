"""OpenAPI 3.1 paths and schemas of the subscriber endpoints (statuspage/api/v1_subscribers.py).

Plain dicts built with openapi_blocks.py, like openapi_probes.py: statuspage/api/openapi.py
includes `TAG`, `TAG_DESCRIPTION`, `PATHS` and `SCHEMAS` as one `Section`.
"""

from __future__ import annotations

from statuspage.api.openapi_blocks import (
                   ID,
                   IGNORED,
                   NULL,
                   NULLABLE_TIMESTAMP,
                   PAGE_ID,
                   READ,
                   STRING_IDS,
                   TIMESTAMP,
                   WITH_BODY,
                   Schema,
                   array_of,
                   body,
                   operation,
                   paging,
                   path_parameter,
                   query_parameter,
                   ref,
                   request_object,
                   response_object,
                   wrapped,
)
from statuspage.models import SubscriberMode
from statuspage.notify.subscribers import ENDPOINT_MAX

TAG = "Subscribers"
TAG_DESCRIPTION = ("People (email) and systems (webhook) that hear about incidents and maintenance. Email "
                   "subscribers confirm by a link unless the confirmation is skipped; webhooks are confirmed "
                   "at once and sign their deliveries with a secret shown when created.")

MODES = [m.value for m in SubscriberMode]
# Statuspage's types; those we do not offer (SMS, Slack, Teams, partners) always count 0.
TYPES = ["email", "sms", "webhook", "slack", "teams", "integration_partner"]
STATES = ["active", "unconfirmed", "quarantined", "all"]
SUBSCRIBER_ID = path_parameter("subscriber_id", "The subscriber's id.")

PROPERTIES: dict[str, Schema] = {
    "id": ID,
    "mode": {"type": "string", "enum": MODES},
    "email": {"type": ["string", "null"], "description": "The address (webhooks: an optional contact)."},
    "endpoint": {"type": ["string", "null"], "description": "Webhooks: the URL deliveries are POSTed to."},
    "phone_number": NULL,
    "phone_country": NULL,
    "display_phone_number": NULL,
    "obfuscated_channel_name": NULL,
    "workspace_name": NULL,
    "quarantined_at": {**NULLABLE_TIMESTAMP, "description": "When deliveries kept failing and stopped."},
    "purge_at": NULL,
    "components": {"type": "array", "items": ID,
                   "description": "The ids of the components chosen; empty means every component."},
    "page_access_user_id": NULL,
    "created_at": TIMESTAMP,
    "skip_confirmation_notification": {"type": "boolean",
                                       "description": "Whether the confirmation mail was skipped (true only in "
                                                      "the answer to its creation)."},
    "confirmed_at": NULLABLE_TIMESTAMP,
    "state": {"type": "string", "enum": STATES[:3]},
}
SUBSCRIBER = response_object(PROPERTIES)
# A webhook's secret is shown once, in the answer to its creation.
CREATED = {
    **response_object({**PROPERTIES, "webhook_secret": {
        "type": "string", "pattern": "^[0-9a-f]{64}$",
        "description": "Webhooks only, shown this once: the key of the deliveries' HMAC signature."}}),
    "required": list(PROPERTIES),
    "if": {"properties": {"mode": {"const": SubscriberMode.WEBHOOK.value}}},
    "then": {"required": ["webhook_secret"]},
    "else": {"not": {"required": ["webhook_secret"]}},
}

CREATE = request_object({
    "email": {"type": ["string", "null"], "format": "email",
              "description": "An email subscriber's address; for a webhook, an optional contact address."},
    "endpoint": {"type": ["string", "null"], "maxLength": ENDPOINT_MAX, "format": "uri",
                 "description": "An http(s) URL: makes a webhook subscriber (confirmed at once)."},
    "component_ids": {**STRING_IDS, "type": ["array", "null"], "minItems": 1,
                      "description": "The components to hear about; leave it out (or null) for every component."},
    "skip_confirmation_notification": {"type": "boolean",
                                       "description": "Email: subscribe at once, without the confirmation mail "
                                                      "(an admin's key only: 403 for a responder's)."},
    "phone_country": {"type": ["string", "null"], "maxLength": 0, "description": "SMS is not offered."},
    "phone_number": {"type": ["string", "null"], "maxLength": 0, "description": "SMS is not offered."},
    "page_access_user": IGNORED,
})

COMPONENTS = request_object({
    "component_ids": {**STRING_IDS, "type": ["array", "null"],
                      "description": "The components to hear about; empty, null or left out means every one."},
})

SUBSCRIBERS_FIELD = {"oneOf": [{"type": "string", "const": "all"}, {**STRING_IDS, "minItems": 1}],
                     "description": 'A list of subscriber ids, or "all" (narrowed by `type` and `state`).'}
TYPE_FIELD = {"type": ["string", "null"], "enum": [*TYPES, "", None],
              "description": 'With "all": only this type (types we do not offer match no one).'}
BULK = request_object({
    "subscribers": SUBSCRIBERS_FIELD,
    "type": TYPE_FIELD,
    "state": {"type": "string", "enum": STATES,
              "description": 'With "all": only this state (unsubscribe: default active; resend: default '
                             'unconfirmed, and only unconfirmed email subscribers are sent one).'},
    "skip_unsubscription_notification": {"type": ["boolean", "string"],
                                         "description": "Accepted (true or false) and ignored: no mail is sent "
                                                        "on unsubscribing either way."},
}, required=("subscribers",))
REACTIVATE = request_object({"subscribers": SUBSCRIBERS_FIELD, "type": TYPE_FIELD}, required=("subscribers",))
BY_STATE = response_object({state: {"type": "integer", "minimum": 0} for state in [*STATES[:3], "total"]})

FILTERS = [
    query_parameter("q", {"type": "string"}, "Only those whose email or endpoint contains this (any case); "
                                             "400 if it holds NUL."),
    query_parameter("state", {"type": "string", "enum": STATES, "default": "active"}, "Which state."),
    query_parameter("type", {"type": "string", "enum": [*TYPES, ""]},
                    "Only this type; empty for every type. Types we do not offer match no one."),
]

ONE = (200, "The subscriber.", ref("Subscriber"))
BULK_BODY = body(ref("SubscriberBulk"), example={"subscribers": ["s1x2y3z4w5v6"]})
ADMIN_WITH_BODY = (*WITH_BODY, 403)
FORM_NOTE = " As a form: `subscribers[]=<id>` per id, or `subscribers=all`."

PATHS: dict[str, Schema] = {
    "/pages/{page_id}/subscribers": {
        "parameters": [PAGE_ID],
        "get": operation("listSubscribers", "List subscribers", tag=TAG, errors=(400, 401, 404, 422, 429),
                         parameters=[*FILTERS, *paging(1000, first=0)],
                         ok=(200, "The newest first.", array_of("Subscriber")),
                         description="Active ones unless `state` says otherwise; pages are numbered from 0 as "
                                     "on Statuspage; 422 for an unknown state or type, 400 for paging out of "
                                     "range."),
        "post": operation("createSubscriber", "Create a subscriber", tag=TAG, errors=(*ADMIN_WITH_BODY, 409),
                          ok=(201, "The new subscriber (webhooks: with their secret).", ref("SubscriberCreated")),
                          request=wrapped("subscriber", "SubscriberCreate",
                                          example={"subscriber": {"email": "ops@example.com"}}),
                          description="With `endpoint`, a webhook; else an email subscriber, who is sent a "
                                      "confirmation unless `skip_confirmation_notification`. 409 when the "
                                      "address or URL is already subscribed; 404 for unknown component ids; "
                                      "422 for SMS; 403 when a responder's key asks to skip the confirmation."),
    },
    "/pages/{page_id}/subscribers/count": {
        "parameters": [PAGE_ID],
        "get": operation("countSubscribers", "Count subscribers by type", tag=TAG, errors=(400, 401, 404, 422, 429),
                         parameters=FILTERS,
                         ok=(200, "How many match, by Statuspage's subscriber type.",
                             response_object({kind: {"type": "integer", "minimum": 0} for kind in TYPES}))),
    },
    "/pages/{page_id}/subscribers/histogram_by_state": {
        "parameters": [PAGE_ID],
        "get": operation("subscriberHistogram", "Count subscribers by type and state", tag=TAG, errors=READ,
                         ok=(200, "For each type, how many are active, unconfirmed, quarantined, and in all.",
                             response_object({kind: BY_STATE for kind in TYPES}))),
    },
    "/pages/{page_id}/subscribers/unsubscribed": {
        "parameters": [PAGE_ID],
        "get": operation("listUnsubscribed", "List unsubscribed subscribers", tag=TAG, errors=(400, 401, 404, 429),
                         parameters=paging(100, first=0, limit_name="per_page"),
                         ok=(200, "Always empty: unsubscribing removes a subscriber and their address.",
                             {"type": "array", "maxItems": 0})),
    },
    "/pages/{page_id}/subscribers/unsubscribe": {
        "parameters": [PAGE_ID],
        "post": operation("unsubscribeSubscribers", "Unsubscribe several subscribers", tag=TAG,
                          errors=ADMIN_WITH_BODY,
                          ok=(201, "How many were removed.",
                              response_object({"unsubscribed": {"type": "integer", "minimum": 0}})),
                          request=BULK_BODY,
                          description="An admin's key only (403 for a responder's). Removes them (no mail is "
                                      'sent); "all" takes active ones unless `state` says otherwise. 404 when a '
                                      "listed id is unknown." + FORM_NOTE),
    },
    "/pages/{page_id}/subscribers/reactivate": {
        "parameters": [PAGE_ID],
        "post": operation("reactivateSubscribers", "Reactivate quarantined subscribers", tag=TAG, errors=WITH_BODY,
                          ok=(201, "How many were quarantined and are active again.",
                              response_object({"reactivated": {"type": "integer", "minimum": 0}})),
                          request=body(ref("SubscriberReactivate"), example={"subscribers": "all"}),
                          description="Lifts the quarantine of webhooks whose deliveries kept failing; listed "
                                      'subscribers that are not quarantined are left as they are; "all" means '
                                      "every quarantined one." + FORM_NOTE),
    },
    "/pages/{page_id}/subscribers/resend_confirmation": {
        "parameters": [PAGE_ID],
        "post": operation("resendConfirmations", "Resend confirmations", tag=TAG, errors=WITH_BODY,
                          ok=(201, "How many confirmations were queued.",
                              response_object({"resent": {"type": "integer", "minimum": 0}})),
                          request=BULK_BODY,
                          description="Queues the confirmation mail again for those that are unconfirmed email "
                                      "subscribers; others are skipped." + FORM_NOTE),
    },
    "/pages/{page_id}/subscribers/{subscriber_id}": {
        "parameters": [PAGE_ID, SUBSCRIBER_ID],
        "get": operation("getSubscriber", "Get a subscriber", tag=TAG, errors=READ, ok=ONE),
        "patch": operation("updateSubscriber", "Choose a subscriber's components", tag=TAG, errors=WITH_BODY,
                           ok=(200, "The subscriber after the change.", ref("Subscriber")),
                           request=body(ref("SubscriberComponents"), required=False,
                                        example={"component_ids": ["k1x2y3z4w5v6"]}),
                           description="Statuspage's body is not wrapped: `{\"component_ids\": [...]}` (as a form, "
                                       "`component_ids[]=<id>` per id). No ids means every component."),
        "delete": operation("deleteSubscriber", "Unsubscribe a subscriber", tag=TAG, errors=(*READ, 403, 422),
                            parameters=[query_parameter("skip_unsubscription_notification",
                                                        {"type": "boolean"}, "Accepted and ignored: no mail is "
                                                                             "sent on unsubscribing.")],
                            ok=(200, "The removed subscriber, as it was.", ref("Subscriber")),
                            description="An admin's key only (403 for a responder's)."),
    },
    "/pages/{page_id}/subscribers/{subscriber_id}/resend_confirmation": {
        "parameters": [PAGE_ID, SUBSCRIBER_ID],
        "post": operation("resendConfirmation", "Resend a confirmation", tag=TAG, errors=(*READ, 422),
                          ok=(201, "Queued.", response_object({})),
                          description="422 when the subscriber is confirmed already or is not an email subscriber."),
    },
}

SCHEMAS: dict[str, Schema] = {
    "Subscriber": SUBSCRIBER,
    "SubscriberCreated": CREATED,
    "SubscriberCreate": CREATE,
    "SubscriberComponents": COMPONENTS,
    "SubscriberBulk": BULK,
    "SubscriberReactivate": REACTIVATE,
}
