"""The Settings page: what an admin sets about the page's look and voice, checked before anything is kept.

The profile fields the API also edits (name, address, time zone, sender address, email footer)
go through the profile's own parsers; the rest (brand colour, sender name, footer text, the
refresh policy, the logo and favicon) are the Settings page's. Everything is validated first and
written together, audited field by field, and the page version moves so the public page, feeds,
widget and emails show it within a second. The environment (`STATUSPAGE_PAGE_NAME`,
`STATUSPAGE_TIMEZONE`, `STATUSPAGE_MAIL_FROM`) only seeds the first values (tools/setup.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.errors import InvalidInput
from statuspage.inputs import clean_name
from statuspage.models import Page, PageAsset
from statuspage.page.profile import FIELDS as PROFILE_FIELDS
from statuspage.page.record import bump_version

ASSET_KINDS = ("logo", "favicon")
MAX_BYTES = {"logo": 512 * 1024, "favicon": 100 * 1024}
# Raster formats by their first bytes. SVG is refused: it can carry script and external references.
SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
]
REFRESH_CHOICES = (0, 30, 60, 120, 300)
# The built-in theme's colour: choosing it (a colour picker always sends one) means "no brand colour".
THEME_COLOUR = "#24292f"
FOOTER_MAX = 500
PROFILE_KEYS = ("name", "url", "time_zone", "notifications_from_email", "notifications_email_footer")


@dataclass(frozen=True)
class Upload:
    """A file an admin sent: its bytes and the name their browser gave it (for messages only)."""

    data: bytes
    filename: str = ""


def image_type(data: bytes, kind: str) -> str:
    """The MIME type of an uploaded logo or favicon, or InvalidInput saying why it is refused."""
    if not data:
        raise InvalidInput(f"The {kind} file is empty.", kind)
    if len(data) > MAX_BYTES[kind]:
        raise InvalidInput(f"The {kind} must be at most {MAX_BYTES[kind] // 1024} KB.", kind)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        raise InvalidInput(f"SVG is not accepted for the {kind} (it can carry script): upload a PNG, JPEG, "
                           "GIF, WebP or ICO.", kind)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, mimetype in SIGNATURES:
        if data.startswith(signature):
            return mimetype
    raise InvalidInput(f"The {kind} must be a PNG, JPEG, GIF, WebP or ICO image.", kind)


def _relative_luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _brand_color(value: object, key: str) -> str | None:
    """#rrggbb, dark enough for white text on it (WCAG AA, 4.5:1), or nothing for the built-in theme."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        raise InvalidInput("The brand colour must be a colour like #1b7f3b.", key)
    colour = value.strip().lower()
    if colour == THEME_COLOUR:
        return None
    contrast = 1.05 / (_relative_luminance(colour) + 0.05)
    if contrast < 4.5:
        raise InvalidInput(f"The brand colour {colour} is too light for white text on it "
                           f"(contrast {contrast:.1f}:1, at least 4.5:1 is needed); choose a darker one.", key)
    return colour


def _sender_name(value: object, key: str) -> str | None:
    return None if value in (None, "") or (isinstance(value, str) and not value.strip()) \
        else clean_name(value, key)


def _footer_text(value: object, key: str) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > FOOTER_MAX):
        raise InvalidInput(f"The footer text is at most {FOOTER_MAX} characters.", key)
    return (value or "").strip() or None


def _refresh_seconds(value: object, key: str) -> int:
    try:
        seconds = int(str(value))
    except ValueError:
        raise InvalidInput("Choose how often the page refreshes.", key) from None
    if seconds not in REFRESH_CHOICES:
        raise InvalidInput(f"The refresh interval is one of {', '.join(map(str, REFRESH_CHOICES))} seconds.", key)
    return seconds


SETTINGS_FIELDS: dict[str, Callable[[object, str], object]] = {
    **{key: PROFILE_FIELDS[key] for key in PROFILE_KEYS},
    "brand_color": _brand_color,
    "sender_name": _sender_name,
    "footer_text": _footer_text,
    "refresh_seconds": _refresh_seconds,
}


def asset(session: Session, kind: str) -> PageAsset | None:
    return session.scalars(select(PageAsset).where(PageAsset.kind == kind)).first()


def digests(session: Session) -> dict[str, str]:
    """Each image the page has, by kind, with its digest: what every page's header needs, without the bytes."""
    return {kind: digest for kind, digest in session.execute(select(PageAsset.kind, PageAsset.digest))}


def _store_asset(session: Session, kind: str, data: bytes, mimetype: str) -> None:
    found = asset(session, kind) or PageAsset(kind=kind)
    found.body, found.mimetype, found.updated_at = data, mimetype, utcnow()
    found.digest = hashlib.sha256(data).hexdigest()
    session.add(found)


def update_settings(session: Session, actor: Actor, page: Page, fields: Mapping[str, object],
                    uploads: Mapping[str, Upload | None], remove: frozenset[str] = frozenset()) -> list[str]:
    """Check every field and file, then keep them all and audit each change; the names of what changed.

    `uploads` maps "logo"/"favicon" to a new file (None: keep); `remove` names images to drop.
    """
    clean = {key: SETTINGS_FIELDS[key](value, key) for key, value in fields.items() if key in SETTINGS_FIELDS}
    images = {kind: (upload.data, image_type(upload.data, kind))
              for kind, upload in uploads.items() if upload is not None and kind in ASSET_KINDS}
    changed = []
    for key, value in clean.items():
        if getattr(page, key) != value:
            audit.record(session, actor, "page.settings", "page", page.code,
                         {"field": key, "from": getattr(page, key), "to": value})
            setattr(page, key, value)
            changed.append(key)
    for kind, (data, mimetype) in images.items():
        _store_asset(session, kind, data, mimetype)
        audit.record(session, actor, "page.settings", "page", page.code,
                     {"field": kind, "to": f"{mimetype}, {len(data)} bytes"})
        changed.append(kind)
    for kind in sorted(remove - set(images)):
        found = asset(session, kind)
        if found is not None:
            session.delete(found)
            audit.record(session, actor, "page.settings", "page", page.code, {"field": kind, "to": None})
            changed.append(kind)
    if changed:
        page.updated_at = utcnow()
        bump_version(session)
    return changed
