"""One way for a view to answer a refusal: a form drawn again, a 404 for a missing object, a confirmed deletion.

A view parses its form, calls one domain function, commits and redirects. When the domain
refuses (a DomainError), `domain_form` rolls the session back and hands the error to the
view's answer, which usually draws the form again with the message, the field to
highlight, the error's status code and what the user typed (`refusal`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import Conflict, DomainError, NotFound

P = ParamSpec("P")
T = TypeVar("T")

Answer = Callable[..., ResponseReturnValue]
"""What a view answers when the domain refuses: called with the error and the view's URL arguments."""

WRONG_NAME = "Type the exact name to confirm."


def domain_form(
    answer: Answer, *, race: str | None = None
) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Run a view that changes state; on DomainError roll back and return `answer(exc, **view_args)`.

    The view commits and redirects itself when the change succeeds. With `race`, an
    IntegrityError (two requests racing past the same uniqueness check, e.g. a name created
    twice at once: the database kept the first) is answered as a Conflict on `name` saying
    `race`; without it, an IntegrityError is not this decorator's business.
    """

    def decorator(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            try:
                return view(*args, **kwargs)
            except (DomainError, IntegrityError) as exc:
                error = _refused(exc, race)
            db_session().rollback()
            return answer(error, **kwargs)

        return wrapper

    return decorator


def _refused(exc: DomainError | IntegrityError, race: str | None) -> DomainError:
    """The refusal to show for `exc`; an IntegrityError nobody expected (no `race`) goes on up."""
    if isinstance(exc, DomainError):
        return exc
    if race is None:
        raise exc
    return Conflict(race, "name")


def refusal(exc: DomainError, **context: Any) -> dict[str, Any]:
    """The context of a form drawn again: the message, the field to highlight, and what the user typed."""
    return {"error": exc.message, "error_field": exc.field, "form": request.form, **context}


def form_again(render: Callable[..., ResponseReturnValue], template: str, **context: Any) -> Answer:
    """An answer drawing `template` again through a blueprint's `render(template, status, **context)`."""

    def answer(exc: DomainError, **_view_args: Any) -> ResponseReturnValue:
        return render(template, exc.status_code, **refusal(exc, **context))

    return answer


def flashed(endpoint: str, *names: str) -> Answer:
    """An answer for a button rather than a form: flash the message and go to `endpoint`.

    `names` are the view's URL arguments the endpoint takes too.
    """

    def answer(exc: DomainError, **view_args: Any) -> ResponseReturnValue:
        flash(exc.message)
        return redirect(url_for(endpoint, **{name: view_args[name] for name in names}))

    return answer


def aborted(status: int | None = None) -> Answer:
    """An answer for a request no form follows: the error page with the message (`status` or the error's own)."""

    def answer(exc: DomainError, **_view_args: Any) -> ResponseReturnValue:
        abort(status or exc.status_code, exc.message)

    return answer


def or_404(lookup: Callable[..., T], *args: Any, message: str | None = None) -> T:
    """`lookup(*args)`, or the 404 page (saying `message`, if given) when it raises NotFound."""
    try:
        return lookup(*args)
    except NotFound:
        abort(404, message)


def confirm_delete(
    kind: str, name: str | None, remove: Callable[[], object], *, done: str, message: str,
    note: str | None = None, asked_on: str | None = None, wrong_name: str = WRONG_NAME, race: str | None = None,
) -> ResponseReturnValue:
    """A delete view's answer: the confirmation page on GET; on POST the deletion, once confirmed.

    1. GET draws admin/confirm_delete.html for the `kind` called `name` (with `note`).
    2. A POST whose `confirm_name` is not exactly `name` deletes nothing: the page again with
       `wrong_name` and 422, or, when the form sits on another page `asked_on` (the object's
       own, or a list), back there with `wrong_name` flashed. A `name` of None asks for
       nothing: a one-click removal.
    3. Otherwise `remove()` runs and commits, `message` is flashed and the browser goes to `done`.
       A DomainError (or, with `race`, an IntegrityError told as `race`) rolls back and is
       shown like a wrong name, with its own message and status code.
    """
    if request.method == "GET":
        return _confirmation(kind, name, note)
    if name is not None and request.form.get("confirm_name", "").strip() != name:
        return _not_deleted(kind, name, note, asked_on, wrong_name, 422)
    session = db_session()
    try:
        remove()
        session.commit()
    except (DomainError, IntegrityError) as exc:
        error = _refused(exc, race)
        session.rollback()
        return _not_deleted(kind, name, note, asked_on, error.message, error.status_code)
    flash(message)
    return redirect(done)


def _confirmation(kind: str, name: str | None, note: str | None, status: int = 200,
                  error: str | None = None) -> ResponseReturnValue:
    return render_template("admin/confirm_delete.html", page=current_page(), kind=kind, name=name,
                           action=request.path, note=note, error=error), status


def _not_deleted(kind: str, name: str | None, note: str | None, asked_on: str | None, error: str,
                 status: int) -> ResponseReturnValue:
    if asked_on is not None:
        flash(error)
        return redirect(asked_on)
    return _confirmation(kind, name, note, status, error)
