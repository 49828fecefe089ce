"""The page's profile: name, address, time zone, subscriber switches and notification sender."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.accounts.users import clean_email
from statuspage.audit import Actor
from statuspage.errors import InvalidInput
from statuspage.inputs import clean_name, parse_bool
from statuspage.models import Page
from statuspage.page.record import bump_version

PROFILE_SWITCHES = ("allow_page_subscribers", "allow_incident_subscribers", "allow_email_subscribers",
                    "allow_webhook_subscribers", "allow_rss_atom_feeds")
EDITABLE = frozenset({"name", "url", "time_zone", *PROFILE_SWITCHES, "allow_sms_subscribers",
                      "notifications_from_email", "notifications_email_footer", "owner_email"})
# Shown by GET, never changed by PATCH: a tool sending the whole page object back may include them.
READ_ONLY = frozenset({"id", "created_at", "updated_at", "activity_score"})

# The colours of the built-in theme (static/style.css), under Statuspage's css_* names.
CSS_COLOURS = {
    "css_body_background_color": "#ffffff", "css_font_color": "#1d1d1f", "css_light_font_color": "#5f6368",
    "css_greens": "#1b7f3b", "css_yellows": "#8a6d00", "css_oranges": "#b35900", "css_reds": "#b3261e",
    "css_blues": "#2a5db0", "css_border_color": "#e3e3e3", "css_graph_color": "#2a5db0",
    "css_link_color": "#1d1d1f", "css_no_data": "#f7f7f8",
}
# Why a Statuspage field keeps its value here; a PATCH may send it unchanged.
FIXED_BECAUSE = {
    "domain": "the page is served at STATUSPAGE_BASE_URL; change that setting",
    "subdomain": "there are no statuspage.io subdomains here",
    "branding": "there is one theme",
    "hidden_from_search": "search engines are steered by your own robots.txt",
    "viewers_must_be_team_members": "the page is public; audience-specific pages are not offered",
    "ip_restrictions": "restrict access in the proxy in front of the page",
    **dict.fromkeys(CSS_COLOURS, "colours come from the theme (static/style.css)"),
    **dict.fromkeys(("page_description", "headline", "twitter_username", "city", "state", "country",
                     "support_url", "favicon_logo", "transactional_logo", "hero_cover", "email_logo",
                     "twitter_logo"), "this page does not offer it"),
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def fixed_fields(base_url: str) -> dict[str, Any]:
    """Statuspage's page fields we do not offer, with the values the API always shows for them."""
    values: dict[str, Any] = dict.fromkeys(FIXED_BECAUSE)
    values.update(CSS_COLOURS, domain=base_url.split("://", 1)[-1], branding="basic",
                  hidden_from_search=False, viewers_must_be_team_members=False)
    return values


def _colour(value: Any) -> str | None:
    match = _HEX.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    digits = match.group(1).lower()
    return "#" + (digits if len(digits) == 6 else "".join(d * 2 for d in digits))


def _unchanged(key: str, sent: object, shown: object) -> bool:
    """Whether a PATCH's value for a fixed field is the one shown (spelled any way a client may)."""
    if isinstance(shown, bool):
        return parse_bool(sent, key) is shown
    if shown is None:
        return sent in (None, "")
    if key in CSS_COLOURS:
        return _colour(sent) == shown
    if key == "domain":
        return isinstance(sent, str) and sent.strip().lower().rstrip("/") == str(shown).lower()
    return sent == shown


def update_profile(session: Session, actor: Actor, page: Page, changes: dict[str, Any],
                   base_url: str = "") -> Page:
    """Edit the page's profile (Statuspage's page fields); all validated before any is written.

    Fields we do not offer are accepted when they keep the value the API shows (a tool sending
    the whole page object back), and refused with the reason when they would change it.
    """
    fixed = fixed_fields(base_url)
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in READ_ONLY:
            if key == "id" and value != page.code:
                raise InvalidInput(f"id is the page's own ({page.code!r}) and cannot be changed.", key)
        elif key in fixed:
            if not _unchanged(key, value, fixed[key]):
                raise InvalidInput(f"{key} cannot be changed here (it stays {fixed[key]!r}): "
                                   f"{FIXED_BECAUSE[key]}.", key)
        elif key == "name":
            clean[key] = clean_name(value)
        elif key == "url":
            if value in (None, ""):
                clean[key] = None
            elif not isinstance(value, str) or not value.startswith(("http://", "https://")) or len(value) > 255:
                raise InvalidInput("url must be an http(s) address of at most 255 characters.", "url")
            elif page.url is None and value == base_url:
                pass  # the address shown while none is set: sent back unchanged
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
    changed = {key: value for key, value in clean.items() if getattr(page, key) != value}
    if not changed:
        return page  # the same values again: nothing to record, the public cache stays
    for key, value in changed.items():
        setattr(page, key, value)
    audit.record(session, actor, "page.update", "page", page.code, {k: str(v) for k, v in changed.items()})
    bump_version(session)
    return page
