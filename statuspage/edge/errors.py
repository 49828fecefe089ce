"""Error pages: HTML for the site, JSON for anything under /api; text no database stores is refused."""

from __future__ import annotations

import io

from flask import Flask, Response, abort, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from statuspage.db import database_unreachable
from statuspage.inputs import storable_text

UNSTORABLE_MESSAGE = ("The address or the form holds a character no page can contain (a NUL character "
                      "or a broken one) in {where}. Remove it and try again.")


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """Our `{"error": {...}}` beside Statuspage's `{"message": ...}`."""
    body = {"error": {"code": code, "message": message, "field": field}, "message": message}
    response = jsonify(body)
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.endswith((".json",))


def unstorable_input() -> str | None:
    """Where the request's path parts, query or form hold text no database stores (NUL, lone surrogate)."""
    sources = (("the address", (request.view_args or {}).items()),
               ("the query", request.args.items(multi=True)),
               ("the form", request.form.items(multi=True)))
    for where, items in sources:
        for key, value in items:
            for text in (key, value):
                if isinstance(text, str) and not storable_text(text):
                    return f"{where} ({key!r})" if storable_text(key) else where
    return None


def _refuse_unstorable_input() -> None:
    """400 for HTML routes given text PostgreSQL refuses, before any view queries with it.

    The API refuses the same text itself with its JSON errors (api.common).
    """
    if request.path.startswith("/api/"):
        return
    where = unstorable_input()
    if where is not None:
        abort(400, UNSTORABLE_MESSAGE.format(where=where))


def _read_chunked_body() -> None:
    """A body sent without Content-Length (chunked) is read now, against the size limit: past it the
    answer is 413, as for a body that declares its size, instead of a form or JSON cut short.

    Read here from the server's stream, because werkzeug's own limit on such a body stops
    reading at the limit without an error (werkzeug 3.1).
    """
    if request.content_length is not None or "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    stream, blocks, size = request.environ["wsgi.input"], [], 0
    while block := stream.read(min(65536, limit + 1 - size)):
        blocks.append(block)
        size += len(block)
        if size > limit:
            abort(413)
    request.environ["wsgi.input"] = io.BytesIO(b"".join(blocks))
    request.environ["CONTENT_LENGTH"] = str(size)


def init_app(app: Flask) -> None:
    # First of all hooks: the rate limiter's key functions read the form and would swallow the 413.
    app.before_request_funcs.setdefault(None, []).insert(0, _read_chunked_body)
    app.before_request(_refuse_unstorable_input)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        message = "Your form expired or was sent from another site. Reload the page and try again."
        if _wants_json():
            return error_response(400, "csrf", message)
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(SQLAlchemyError)
    def _database(exc: SQLAlchemyError):
        """The database refuses or is gone: a clear 503 for what needs it (sign-in, the admin, API writes);
        public pages are answered from the snapshot before they get here. Any other database error is a bug."""
        if not database_unreachable(exc):
            raise exc
        return _http(ServiceUnavailable(
            "The status page cannot reach its database right now; the public page still shows the last "
            "update. Try again shortly."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = exc.code or 500
        if _wants_json():
            name = (exc.name or "error").lower().replace(" ", "_")
            response = error_response(code, name, exc.description or exc.name)
        else:
            response = app.make_response(
                (render_template("error.html", code=code, message=exc.description), code)
            )
        for header in ("Retry-After", "Allow"):
            value = exc.get_response().headers.get(header)
            if value:
                response.headers[header] = value
        return response
