"""Field types that several request bodies share, each with the rule that checks it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from statuspage.api.schemas.base import checked_in_domain, rule
from statuspage.components.catalog import parse_position
from statuspage.errors import InvalidInput
from statuspage.inputs import clean_description, clean_name, parse_bool
from statuspage.models import DESCRIPTION_MAX, NAME_MAX

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"\S",
                            description=f"Trimmed; at most {NAME_MAX} characters and not blank."), rule(clean_name)]
Description = Annotated[str | None, Field(max_length=DESCRIPTION_MAX, description=(
    f"At most {DESCRIPTION_MAX} characters; empty or null means none.")), rule(clean_description)]
Position = Annotated[int, Field(ge=1, le=100_000, description=(
    "1-based order among siblings; larger values move the item last.")), rule(parse_position)]
# A JSON boolean, or what a form sends for one ("true", "on", "0", ...).
Flag = Annotated[bool, rule(parse_bool)]
Ids = list[str]
# Statuspage's fields for what we do not offer, accepted and ignored.
Ignored = Annotated[Any, checked_in_domain(Any),
                    Field(description="Accepted for Statuspage compatibility and ignored.")]


def only_false(reason: str) -> BeforeValidator:
    """For a Statuspage switch we do not offer (`Annotated[bool, only_false(...)]`): false or null is
    fine, true is refused with `reason`."""

    def check(value: Any, field: str) -> bool:
        if value is not None and parse_bool(value, field):
            raise InvalidInput(f"{reason}; {field} may only be false.", field)
        return False

    return rule(check)

