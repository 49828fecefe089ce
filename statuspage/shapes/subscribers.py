"""Subscribers, as Statuspage's management API shows them."""

from __future__ import annotations

from typing import Annotated, Literal

import phonenumbers
from pydantic import Field, with_config
from typing_extensions import TypedDict

from statuspage.models import Page, Subscriber, SubscriberMode
from statuspage.shapes.base import CLOSED, AlwaysNull, Id, NullableTimestamp, Timestamp, at
from statuspage.timefmt import iso


@with_config(CLOSED)
class SubscriberJson(TypedDict):
    """A subscriber as Statuspage's management API shows it."""

    id: Id
    mode: SubscriberMode
    email: Annotated[str | None, Field(description="The address (webhooks: an optional contact).")]
    endpoint: Annotated[str | None, Field(description=(
        "Webhooks and chat services (slack, mattermost, teams, discord): the URL messages are POSTed to."))]
    phone_number: Annotated[str | None, Field(pattern=r"^\+[1-9][0-9]{6,14}$", description=(
        "SMS: the number texts go to, in E.164 (`+14155550100`)."))]
    phone_country: Annotated[str | None, Field(pattern="^[A-Z]{2}$", description=(
        "SMS: the number's country (ISO 3166-1 alpha-2, such as `US`)."))]
    display_phone_number: Annotated[str | None, Field(description=(
        "SMS: the number as people write it internationally (`+1 415-555-0100`)."))]
    obfuscated_channel_name: AlwaysNull
    workspace_name: AlwaysNull
    quarantined_at: Annotated[NullableTimestamp, Field(description="When deliveries kept failing and stopped.")]
    purge_at: AlwaysNull
    components: Annotated[list[Id], Field(description="The ids of the components chosen; empty means every "
                                                      "component.")]
    page_access_user_id: AlwaysNull
    created_at: Timestamp
    skip_confirmation_notification: Annotated[bool, Field(
        description="Whether the confirmation (a mail, a chat message or a text) was skipped: true only in the "
                    "answer to a creation that skipped it.")]
    confirmed_at: NullableTimestamp
    state: Literal["active", "unconfirmed", "quarantined"]


def subscriber_json(subscriber: Subscriber, page: Page) -> SubscriberJson:
    """A subscriber as Statuspage's management API shows it."""
    tz = page.time_zone
    return {
        "id": subscriber.code,
        "mode": subscriber.mode,
        "email": subscriber.email,
        "endpoint": subscriber.endpoint,
        "phone_number": subscriber.phone_number,
        "phone_country": subscriber.phone_country,
        "display_phone_number": _display(subscriber.phone_number),
        "obfuscated_channel_name": None,
        "workspace_name": None,
        "quarantined_at": iso(subscriber.quarantined_at, tz),
        "purge_at": None,
        "components": [c.code for c in subscriber.components],
        "page_access_user_id": None,
        "created_at": at(subscriber.created_at, tz),
        "skip_confirmation_notification": False,
        "confirmed_at": iso(subscriber.confirmed_at, tz),
        "state": ("quarantined" if subscriber.quarantined_at else
                  "active" if subscriber.confirmed_at else "unconfirmed"),
    }


def _display(e164: str | None) -> str | None:
    """A stored E.164 number in the international format people read."""
    if not e164:
        return None
    return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
