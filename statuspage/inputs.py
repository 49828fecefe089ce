"""Rules for what people and machines type, shared by every edge: names, descriptions, booleans, storable text.

The admin, the API, the importer and the CLI all call these, so one input gets one answer everywhere.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final, TypeVar

from statuspage.errors import InvalidInput
from statuspage.models import DESCRIPTION_MAX, NAME_MAX


class Unset(enum.Enum):
    """A field the caller left out, which is not None (None is a value: "clear it").

    One member, so `value is not UNSET` narrows `str | Unset` to `str` for the type checker.
    """

    UNSET = "unset"


UNSET: Final = Unset.UNSET

# What the edges hand the domain's writers: JSON values from the API, text from forms and files. The
# writers' signatures say which to expect; their parsers still check at run time, since a JSON body can
# hold anything and the edges pass it on as sent (one check, one message, whichever edge it came from).
Flag = bool | str  # a JSON boolean, or a form's "on", "true", "0", ...
Whole = int | str  # a JSON number, or a form's digits
Moment = datetime | str  # a datetime, or ISO 8601 text

E = TypeVar("E", bound=enum.Enum)


def member_of(kind: type[E], value: object) -> E | None:
    """The member of a text-valued enum that this value is or names; None for anything else."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            return None
    return None


# C0 controls and DEL: a name is one line, and it reaches email headers and feeds.
_CONTROL_CHARACTERS = frozenset(chr(code) for code in (*range(0x20), 0x7F))


def clean_name(value: object, field: str = "name") -> str:
    """A trimmed, non-empty, single-line name of at most 255 characters without control characters."""
    label = field.replace("_", " ").capitalize()
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{label} is required.", field)
    value = value.strip()
    if len(value) > NAME_MAX:
        raise InvalidInput(f"{label} must be at most {NAME_MAX} characters.", field)
    if not _CONTROL_CHARACTERS.isdisjoint(value):
        raise InvalidInput(
            f"{label} must be one line without control characters (line breaks, tabs, NUL).", field
        )
    if not is_unicode_text(value):
        raise InvalidInput(f"{label} must not contain unpaired surrogates (broken Unicode).", field)
    return value


def is_unicode_text(value: str) -> bool:
    """False for text holding a lone surrogate: no database stores it (UTF-8 cannot encode it)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_description(value: object, field: str = "description") -> str | None:
    """An optional description of at most 2,000 characters (empty means none)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("Description must be text.", field)
    value = value.strip()
    if len(value) > DESCRIPTION_MAX:
        raise InvalidInput(f"Description must be at most {DESCRIPTION_MAX} characters.", field)
    return value or None


def parse_bool(value: object, field: str) -> bool:
    """A JSON boolean (or the strings a form sends)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "on", "yes"}:
        return True
    if isinstance(value, str) and value.lower() in {"false", "0", "off", "no", ""}:
        return False
    raise InvalidInput(f"{field} must be true or false.", field)

def storable_text(value: str) -> bool:
    """Whether every database can store this text: no NUL (PostgreSQL refuses it), no lone surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
