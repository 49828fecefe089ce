"""What the shapes share: closed objects, timestamps, ids and Statuspage's always-null fields."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from pydantic import ConfigDict, Field, WithJsonSchema

from statuspage.timefmt import iso

# Closed objects: a key outside the declaration is a bug in a response (and refused in a request).
CLOSED = ConfigDict(extra="forbid")

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time",
                                           "description": "ISO 8601 with milliseconds, in the page's time zone."})]
NullableTimestamp = Timestamp | None
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
Id = Annotated[str, Field(description="An opaque public id (12 lowercase letters and digits).")]
AlwaysNull = Annotated[None, Field(description="Always null: Statuspage's field for something we do not offer.")]


def at(value: datetime, time_zone: str) -> str:
    """A time that is never null, as `iso` writes it."""
    return cast(str, iso(value, time_zone))
