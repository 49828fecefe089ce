"""What every model module shares: public codes, the StrEnum column type, limits."""

from __future__ import annotations

import secrets
import string
from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_CODE_ALPHABET = string.ascii_lowercase + string.digits
NAME_MAX = 255
DESCRIPTION_MAX = 2000


def new_code() -> str:
    """A random public id in Statuspage's style (12 lowercase letters and digits)."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


class Role(StrEnum):
    ADMIN = "admin"
    RESPONDER = "responder"


class StrEnumType(TypeDecorator[StrEnum]):
    """Stores a StrEnum as VARCHAR and reads it back as the enum member."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], length: int = 32) -> None:
        super().__init__()
        self.impl = String(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum_class(value)


class StrEnumUnionType(TypeDecorator[StrEnum]):
    """Stores a member of one of several StrEnums as VARCHAR and reads it back as that enum's member.

    The enums' values must be disjoint, so a stored value names its enum: an incident's status is an
    IncidentStatus or a MaintenanceStatus, and reads back as the one it was.
    """

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_classes: tuple[type[StrEnum], ...], length: int = 32) -> None:
        super().__init__()
        values = [member.value for enum_class in enum_classes for member in enum_class]
        if len(values) != len(set(values)):
            raise ValueError("StrEnumUnionType needs enums whose values are disjoint")
        self.impl = String(length)
        self.enum_classes = enum_classes

    def _member(self, value: str) -> StrEnum:
        for enum_class in self.enum_classes:
            if value in enum_class.__members__.values():
                return enum_class(value)
        names = " or ".join(enum_class.__name__ for enum_class in self.enum_classes)
        raise ValueError(f"{value!r} is not a {names}")

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self._member(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self._member(value)
