"""The page's profile: name, address, time zone, subscriber switches and notification sender."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from . import audit
from .accounts import clean_email
from .audit import Actor
from .components import clean_name, parse_bool
from .errors import InvalidInput
from .models import Page
from .page import bump_version

PROFILE_SWITCHES = ("allow_page_subscribers", "allow_incident_subscribers", "allow_email_subscribers",
                    "allow_webhook_subscribers", "allow_rss_atom_feeds")


def update_profile(session: Session, actor: Actor, page: Page, changes: dict[str, Any]) -> Page:
    """Edit the page's profile (Statuspage's page fields); all validated before any is written."""
    clean: dict = {}
    for key, value in changes.items():
        if key == "name":
            clean[key] = clean_name(value)
        elif key == "url":
            if value in (None, ""):
                clean[key] = None
            elif not isinstance(value, str) or not value.startswith(("http://", "https://")) or len(value) > 255:
                raise InvalidInput("url must be an http(s) address of at most 255 characters.", "url")
            else:
                clean[key] = value
        elif key == "time_zone":
            try:
                ZoneInfo(str(value))
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" (a folder), too long
                raise InvalidInput(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin).", key) from None
            clean[key] = str(value)
        elif key in PROFILE_SWITCHES:
            clean[key] = parse_bool(value, key)
        elif key == "allow_sms_subscribers":
            if parse_bool(value, key):
                raise InvalidInput("SMS subscribers are not supported.", key)
        elif key in ("notifications_from_email", "owner_email"):
            clean[key] = clean_email(value, key) if value not in (None, "") else None
        elif key == "notifications_email_footer":
            if value is not None and (not isinstance(value, str) or len(value) > 2000):
                raise InvalidInput("The footer is text of at most 2,000 characters.", key)
            clean[key] = value or None
        else:
            raise InvalidInput(f"Unknown page field {key!r}.", key)
    for key, value in clean.items():
        setattr(page, key, value)
    audit.record(session, actor, "page.update", "page", page.code, {k: str(v) for k, v in clean.items()})
    bump_version(session)
    return page
