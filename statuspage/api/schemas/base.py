"""How a request body is declared, and how a declaration reads a body.

A body is a `Body` model whose fields carry their rule: `rule(check)` runs the domain's own
check (`clean_name`, `parse_status`, ...), so a value gets the same 422, with the same message and
field, from the API as from every other edge; `checked_in_domain(T)` declares a field the domain
checks in context (a probe's options depend on its kind) and passes its value through as sent.
`Wrapped` reads Statuspage's `{"component": {...}}` around a model, refusing what the model does
not declare. The same declarations build /api/v1/openapi.json (statuspage/api/openapi.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic import create_model as _create_model

from statuspage.api.common import ApiError
from statuspage.inputs import UNSET as _UNSET

# The default of a field the client did not send, whatever the field's type (pydantic does not check
# defaults): typed Any here so that `name: Name = UNSET` type-checks in every declaration.
UNSET: Any = _UNSET


class Body(BaseModel):
    """A request object: closed (unknown fields are refused), each field checked by its rule."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # The fields the client sent, in the order it sent them (filled in by `Wrapped.parse`).
    _sent: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _check_required_through_their_rule(cls, data: Any) -> Any:
        """A required field left out is checked as null, so its rule answers ("Name is required.")."""
        if isinstance(data, dict):
            missing = [name for name, field in cls.model_fields.items() if field.is_required() and name not in data]
            if missing:
                return {**data, **dict.fromkeys(missing)}
        return data

    def sent(self) -> dict[str, Any]:
        """The fields the client sent, checked, in the order it sent them."""
        return {name: getattr(self, name) for name in self._sent}


M = TypeVar("M", bound=Body)
B = TypeVar("B", bound=Body)


def rule(check: Callable[[Any, str], Any]) -> BeforeValidator:
    """Check a field with `check(value, field name)`, which returns the value to keep or raises InvalidInput."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        return check(value, info.field_name or "")

    return BeforeValidator(validate)


def checked_in_domain(declared: Any, shape: Callable[[Any, str], Any] | None = None) -> PlainValidator:
    """For `Annotated[Any, checked_in_domain(T)]`: a field documented as `T` whose value the domain checks in
    context (a probe's options depend on its kind). `shape`, if given, checks what can be checked here and
    returns the value to keep; otherwise the value is kept as sent."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        return value if shape is None else shape(value, info.field_name or "")

    return PlainValidator(validate, json_schema_input_type=declared)


def patch_of(model: type[Body], name: str, doc: str) -> type[Body]:
    """The model of a PATCH: `model`'s fields with their rules, none required, none defaulted."""
    fields: dict[str, Any] = {
        field_name: (field.rebuild_annotation(),
                     Field(UNSET, description=field.description, json_schema_extra=field.json_schema_extra))
        for field_name, field in model.model_fields.items()
    }
    return _create_model(name, __base__=Body, __doc__=doc, __module__=model.__module__, **fields)


def table_model(name: str, module: str, fields: dict[str, Any], *, doc: str | None = None,
                base: type[Body] | None = None) -> type[BaseModel]:
    """A model whose fields come from a table (a probe's settings, Statuspage's subscriber types): a request
    body on `base`, else a closed answer. `fields` maps each name to `(type, default)` (`...`: required)."""
    if base is not None:
        return _create_model(name, __base__=base, __module__=module, __doc__=doc, **fields)
    return _create_model(name, __config__=ConfigDict(extra="forbid"), __module__=module, __doc__=doc, **fields)


@dataclass(frozen=True)
class Wrapped(Generic[M]):
    """A body that wraps `model` under `key` (`{"component": {...}}`), or is `model` itself when `key` is None.

    `beside` declares Statuspage's fields next to the wrapped object (a group's `description`);
    with it the body is closed too. `shape` is the message (about `key`) for a wrapped object that is
    missing, not an object, or holds an unknown field.
    """

    key: str | None
    model: type[M]
    beside: type[Body] | None = None
    required: bool = True
    shape: str | None = None

    def parse(self, body: dict[str, Any]) -> M:
        """The checked object; ApiError 422 (or the rule's InvalidInput) naming the first field refused.

        Unknown fields are refused before any value is checked: first inside the object, then beside it.
        """
        if self.key is None:
            _refuse_unknown(self.model, body, "")
            return _checked(self.model, body)
        inner = body.get(self.key, None if self.required else {})
        if not isinstance(inner, dict):
            raise ApiError(422, "invalid", self.shape or f'The body must be {{"{self.key}": {{...}}}}.', self.key)
        if self.shape and set(inner) - set(self.model.model_fields):
            raise ApiError(422, "invalid", self.shape, self.key)
        _refuse_unknown(self.model, inner, f" in {self.key}")
        outer = {name: value for name, value in body.items() if name != self.key}
        if self.beside is not None:
            _refuse_unknown(self.beside, outer, "")
        checked = _checked(self.model, inner)
        if self.beside is not None:  # the wrapped object's own value wins over the one beside it
            for name, value in _checked(self.beside, {k: v for k, v in outer.items() if k not in inner}).sent().items():
                setattr(checked, name, value)
                checked._sent += (name,)
        return checked


def _refuse_unknown(model: type[Body], data: dict[str, Any], where: str) -> None:
    unknown = sorted(set(data) - set(model.model_fields))
    if unknown:
        raise ApiError(422, "invalid", f"Unknown field(s){where}: {', '.join(unknown)}.", unknown[0])


def _checked(model: type[B], data: dict[str, Any]) -> B:
    try:
        checked = model.model_validate(data)
    except ValidationError as exc:  # a value a field's rule let through but its type refuses
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ApiError(422, "invalid", f"{field}: {error['msg']}." if field else f"{error['msg']}.",
                       str(error["loc"][0]) if error["loc"] else None) from None
    checked._sent = tuple(data)
    return checked


__all__ = ["Body", "Wrapped", "checked_in_domain", "patch_of", "rule", "table_model"]
