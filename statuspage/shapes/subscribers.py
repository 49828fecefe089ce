"""Subscribers, as Statuspage's management API shows them."""

from __future__ import annotations

from typing import Annotated, Literal

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
    endpoint: Annotated[str | None, Field(description="Webhooks: the URL deliveries are POSTed to.")]
    phone_number: AlwaysNull
    phone_country: AlwaysNull
    display_phone_number: AlwaysNull
    obfuscated_channel_name: AlwaysNull
    workspace_name: AlwaysNull
    quarantined_at: Annotated[NullableTimestamp, Field(description="When deliveries kept failing and stopped.")]
    purge_at: AlwaysNull
    components: Annotated[list[Id], Field(description="The ids of the components chosen; empty means every "
                                                      "component.")]
    page_access_user_id: AlwaysNull
    created_at: Timestamp
    skip_confirmation_notification: Annotated[bool, Field(
        description="Whether the confirmation mail was skipped (true only in the answer to its creation).")]
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
        "phone_number": None,
        "phone_country": None,
        "display_phone_number": None,
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
