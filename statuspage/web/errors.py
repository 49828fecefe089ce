"""Error pages: HTML for the site, JSON for anything under /api."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..api.common import error_response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.endswith((".json",))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        message = "Your form expired or was sent from another site. Reload the page and try again."
        if _wants_json():
            return error_response(400, "csrf", message)
        return render_template("error.html", code=400, message=message), 400

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
