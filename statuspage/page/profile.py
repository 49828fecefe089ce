"""The page's profile: name, address, time zone, subscriber switches and notification sender."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.accounts.users import clean_email
from statuspage.audit import Actor
from statuspage.errors import InvalidInput
from statuspage.inputs import UNSET, clean_name, parse_bool
from statuspage.models import Page
from statuspage.page.record import bump_version

PROFILE_SWITCHES = ("allow_page_subscribers", "allow_incident_subscribers", "allow_email_subscribers",
                    "allow_webhook_subscribers", "allow_rss_atom_feeds")
# Shown by GET, never changed by PATCH: a tool sending the whole page object back may include them.
READ_ONLY = frozenset({"id", "created_at", "updated_at", "activity_score"})

def status_title(name: str) -> str:
    """"Acme status", but never "Status status" or "Acme Status status" for a name that already says it."""
    return name if name.strip().lower().endswith("status") else f"{name} status"


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


def _colour(value: object) -> str | None:
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


def _url(value: object, key: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")) or len(value) > 255:
        raise InvalidInput("url must be an http(s) address of at most 255 characters.", key)
    return value


def _time_zone(value: object, key: str) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" (a folder), too long
        raise InvalidInput(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin).", key) from None
    return str(value)


def _optional_email(value: object, key: str) -> str | None:
    return clean_email(value, key) if value not in (None, "") else None


def _footer(value: object, key: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 2000):
        raise InvalidInput("The footer is text of at most 2,000 characters.", key)
    return value or None


# Every field a PATCH may change, with its parser: (value sent, field name) to the value stored, or
# InvalidInput; UNSET when it is accepted and nothing is stored. A change is audited under the field's name.
FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "name": clean_name,
    "url": _url,
    "time_zone": _time_zone,
    **dict.fromkeys(PROFILE_SWITCHES, parse_bool),
    "allow_sms_subscribers": parse_bool,  # not stored: it follows the server's SMS settings (_parse_changes)
    "notifications_from_email": _optional_email,
    "owner_email": _optional_email,
    "notifications_email_footer": _footer,
}
EDITABLE = frozenset(FIELDS)


def _check_kept(page: Page, key: str, value: Any, fixed: dict[str, Any]) -> None:
    """A read-only or fixed field may be sent, with the value the API shows for it."""
    if key == "id" and value != page.code:
        raise InvalidInput(f"id is the page's own ({page.code!r}) and cannot be changed.", key)
    if key in fixed and not _unchanged(key, value, fixed[key]):
        raise InvalidInput(f"{key} cannot be changed here (it stays {fixed[key]!r}): {FIXED_BECAUSE[key]}.", key)


def _parse_changes(page: Page, changes: dict[str, Any], base_url: str, sms_offered: bool) -> dict[str, Any]:
    """The values a PATCH stores, each checked by its parser; InvalidInput for the first one refused."""
    fixed = fixed_fields(base_url)
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in READ_ONLY or key in fixed:
            _check_kept(page, key, value, fixed)
            continue
        if key not in FIELDS:
            raise InvalidInput(f"Unknown page field {key!r}.", key)
        parsed = FIELDS[key](value, key)
        if key == "allow_sms_subscribers":
            if parsed != sms_offered:
                raise InvalidInput("SMS sign-up follows the server's SMS settings (STATUSPAGE_SMS_PROVIDER): it "
                                   f"stays {str(sms_offered).lower()}.", key)
            continue
        if key == "url" and page.url is None and parsed == base_url:
            continue  # the address shown while none is set: sent back unchanged
        if parsed is not UNSET:
            clean[key] = parsed
    return clean


def update_profile(session: Session, actor: Actor, page: Page, changes: dict[str, Any],
                   base_url: str = "", sms_offered: bool = False) -> Page:
    """Edit the page's profile (Statuspage's page fields); all validated before any is written.

    Fields we do not offer are accepted when they keep the value the API shows (a tool sending
    the whole page object back), and refused with the reason when they would change it.
    """
    clean = _parse_changes(page, changes, base_url, sms_offered)
    changed = {key: value for key, value in clean.items() if getattr(page, key) != value}
    if not changed:
        return page  # the same values again: nothing to record, the public cache stays
    for key, value in changed.items():
        setattr(page, key, value)
    audit.record(session, actor, "page.update", "page", page.code, {k: str(v) for k, v in changed.items()})
    bump_version(session)
    return page
