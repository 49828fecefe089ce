"""The typed errors domain functions raise; every edge turns them into a 4xx."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a caller can show to the person who caused them."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The input breaks a rule (length, enum, range, lifecycle)."""

    status_code = 422
    code = "invalid"


class NotFound(DomainError):
    """The referenced object does not exist (or is not visible)."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The change clashes with existing data, e.g. a duplicate name."""

    status_code = 409
    code = "conflict"
