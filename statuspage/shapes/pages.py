"""The page: as public v2 shows it, and as the management API shows its profile."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from statuspage.models import Page
from statuspage.page.profile import FIXED_BECAUSE, fixed_fields
from statuspage.shapes.base import CLOSED, Id, Timestamp, at


@with_config(CLOSED)
class PageJson(TypedDict):
    """The page as public v2 shows it."""

    id: Id
    name: str
    url: Annotated[str, Field(description="The public page's address.")]
    time_zone: Annotated[str, Field(description="IANA time zone name, e.g. `Europe/Berlin`; times are shown in it.")]
    updated_at: Timestamp


def _fixed_field_schemas(schema: dict[str, Any]) -> None:
    """Statuspage's page fields we do not offer (page/profile.py), each with the value GET always shows."""
    for name, value in fixed_fields("https://status.example.com").items():
        reason = FIXED_BECAUSE[name].capitalize() + "."
        if name == "domain":  # the one that follows STATUSPAGE_BASE_URL
            field: dict[str, Any] = {"type": "string", "description": "The host (and path) of `STATUSPAGE_BASE_URL`."}
        elif value is None:
            field = {"type": "null", "description": "Always null: Statuspage's field for something we do not offer."}
        else:
            field = {"type": "boolean" if isinstance(value, bool) else "string", "const": value, "description": reason}
        schema["properties"][name] = field
        schema["required"].append(name)


@with_config(ConfigDict(extra="forbid", json_schema_extra=lambda schema, _cls: _fixed_field_schemas(schema)))
class PageProfileJson(PageJson):
    """The page as the management API shows it: the public fields plus the profile and switches."""

    created_at: Timestamp
    allow_page_subscribers: bool
    allow_incident_subscribers: bool
    allow_email_subscribers: bool
    allow_sms_subscribers: Annotated[bool, Field(description=(
        "Whether readers can subscribe by SMS: true when the server has an SMS provider (STATUSPAGE_SMS_PROVIDER)."))]
    allow_rss_atom_feeds: bool
    allow_webhook_subscribers: bool
    notifications_from_email: Annotated[str | None, Field(description="The sender of notification mail, if set.")]
    notifications_email_footer: str | None
    owner_email: str | None
    activity_score: Literal[0]


def page_json(page: Page, base_url: str) -> PageJson:
    return {
        "id": page.code,
        "name": page.name,
        "url": page.url or base_url,
        "time_zone": page.time_zone,
        "updated_at": at(page.updated_at, page.time_zone),
    }


def page_profile_json(page: Page, base_url: str, sms_offered: bool = False) -> dict[str, Any]:
    """`PageProfileJson` and Statuspage's fields we do not offer (css_* colours, domain, ...)."""
    tz = page.time_zone
    profile: PageProfileJson = {
        **page_json(page, base_url),
        "created_at": at(page.created_at, tz),
        "allow_page_subscribers": page.allow_page_subscribers,
        "allow_incident_subscribers": page.allow_incident_subscribers,
        "allow_email_subscribers": page.allow_email_subscribers,
        "allow_sms_subscribers": sms_offered,
        "allow_rss_atom_feeds": page.allow_rss_atom_feeds,
        "allow_webhook_subscribers": page.allow_webhook_subscribers,
        "notifications_from_email": page.notifications_from_email,
        "notifications_email_footer": page.notifications_email_footer,
        "owner_email": page.owner_email,
        "activity_score": 0,
    }
    return {**profile, **fixed_fields(base_url)}


def status_json(indicator: str, description: str) -> dict[str, str]:
    return {"indicator": indicator, "description": description}
