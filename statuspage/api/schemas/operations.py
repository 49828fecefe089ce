"""The table of operations the OpenAPI document lists: path, method, summary, body, answer and errors.

Each resource module declares a `Section` (its tag and its operations); statuspage/api/openapi.py
turns the sections into the document. Query parameters that a view reads are declared here too
(`Paging`), so the view and the document share their bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import GenericAlias
from typing import Any

from statuspage.api.common import parse_paging
from statuspage.api.schemas.base import Wrapped

# What every call can answer (no key, no such page or object, over the allowance) ...
READ = (401, 404, 429)
# ... what reading a body adds: bad JSON, too large, neither JSON nor a form, breaks a rule ...
WITH_BODY = (400, 401, 404, 413, 415, 422, 429)
# ... and what a change may add: an admin's key needed, a clash with existing data.
WRITE = (400, 401, 403, 404, 409, 413, 415, 422, 429)
DELETE = (401, 403, 404, 429)


def list_of(item: Any) -> Any:
    """`list[item]` for an answer whose item is a model built from a table (mypy reads `list[X]` as a type)."""
    return GenericAlias(list, (item,))


@dataclass(frozen=True)
class Query:
    """A query parameter: its name, its type (any type pydantic can describe) and what it does."""

    name: str
    type: Any
    description: str | None = None


@dataclass(frozen=True)
class Paging:
    """`limit` and `page`, numbered from `first`; the view reads them, the document lists them."""

    default_limit: int = 100
    max_limit: int = 100
    first: int = 1
    limit_name: str = "limit"

    def parse(self) -> tuple[int, int]:
        """(limit, page) from the request's query; 400 when out of range."""
        return parse_paging(self.default_limit, self.max_limit, self.first, self.limit_name)


@dataclass(frozen=True)
class Operation:
    """One operation: `ok` is its success (status, description) with the `answer` type, `errors` the
    error statuses it can answer (each documented by the shared error responses)."""

    method: str
    path: str
    operation_id: str
    summary: str
    ok: tuple[int, str]
    answer: Any
    errors: tuple[int, ...]
    body: Wrapped | None = None
    description: str | None = None
    query: tuple[Query, ...] = ()
    paging: Paging | None = None
    example: Any = None


@dataclass(frozen=True)
class Section:
    """One feature's part of the document: its tag and its operations."""

    tag: str
    description: str
    operations: tuple[Operation, ...] = field(default_factory=tuple)


PUT_NOTE = "Statuspage's PUT: fields left out keep their value, as with PATCH."


def patch_and_put(patch: Operation, put_id: str, put_description: str | None = PUT_NOTE,
                  put_example: Any = None) -> tuple[Operation, Operation]:
    """A PATCH and Statuspage's PUT twin, which does the same."""
    put = replace(patch, method="put", operation_id=put_id, summary=f"{patch.summary} (same as PATCH)",
                  description=put_description, example=put_example if put_example is not None else patch.example)
    return patch, put


def resource(*, collection: str, item: str, noun: str, names: tuple[str, str], answer: Any, create: Wrapped,
             update: Wrapped, notes: dict[str, str], examples: tuple[Any, Any], list_answer: Any,
             errors: tuple[int, ...] = WRITE, written_answer: Any = None,
             order: str = "in page order") -> tuple[Operation, ...]:
    """The operations of a Statuspage-style resource: list and create, then get, update (PATCH and PUT)
    and delete one. `names` is the (singular, plural) used in operation ids; `written_answer`, if given,
    is what create and update answer instead of `answer` (with a secret shown once); `order` is the list's."""
    one, many = names
    item_path = f"{collection}/{{{item}}}"
    written = answer if written_answer is None else written_answer
    a = "an" if noun[0] in "aeiou" else "a"
    return (
        Operation("get", collection, f"list{many}", f"List {noun}s", (200, f"Every {noun}, {order}."),
                  list_answer, READ, description=notes.get("list")),
        Operation("post", collection, f"create{one}", f"Create {a} {noun}", (201, f"The new {noun}."), written,
                  errors, body=create, description=notes.get("create"), example=examples[0]),
        Operation("get", item_path, f"get{one}", f"Get {a} {noun}", (200, f"The {noun}."), answer, READ),
        *patch_and_put(Operation("patch", item_path, f"update{one}", f"Update {a} {noun}",
                                 (200, f"The {noun} after the change."), written, errors, body=update,
                                 description=notes.get("update"), example=examples[1]),
                       f"replace{one}"),
        Operation("delete", item_path, f"delete{one}", f"Delete {a} {noun}", (200, f"The deleted {noun}, as it was."),
                  answer, DELETE, description=notes.get("delete")),
    )
