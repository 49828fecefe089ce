"""What every API endpoint shares: the error shape, token auth and body parsing."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from statuspage.accounts.users import user_for_token
from statuspage.api.ratelimit import retry_after_seconds
from statuspage.audit import Actor
from statuspage.edge.errors import error_response
from statuspage.edge.page import current_page
from statuspage.edge.session import db_session
from statuspage.errors import DomainError
from statuspage.inputs import storable_text
from statuspage.models import User
from statuspage.outbound.guard import Policy


class ApiError(Exception):
    """An error answered as JSON with a 4xx status."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field




def register_error_handlers(blueprint: Blueprint) -> None:
    """Answer every error raised under this blueprint as JSON."""

    @blueprint.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @blueprint.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        db_session().rollback()
        return error_response(exc.status_code, exc.code, exc.message, exc.field)

    @blueprint.errorhandler(IntegrityError)
    def _integrity_error(_exc: IntegrityError):
        # Two requests raced past the same uniqueness check; the database kept one.
        db_session().rollback()
        return error_response(409, "conflict", "This conflicts with data saved a moment ago; reload and retry.")

    @blueprint.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 429:
            seconds = retry_after_seconds()
            message = f"Rate limit exceeded: {message}" + (
                f"; retry after {seconds} second{'s' if seconds != 1 else ''}." if seconds else ".")
        response = error_response(exc.code or 500, code, message)
        if exc.code == 429 and exc.get_response().headers.get("Retry-After"):
            response.headers["Retry-After"] = exc.get_response().headers["Retry-After"]
        return response


# --- authentication ---------------------------------------------------------------------------

_AUTH_HEADER = re.compile(r"^(?:OAuth|Bearer)\s+(\S+)$", re.IGNORECASE)


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "").strip()
    query = request.args.get("api_key")
    from_header = None
    if header:
        match = _AUTH_HEADER.match(header)
        if not match:
            raise ApiError(401, "unauthorized", "Authorization must be 'OAuth <api key>'.")
        from_header = match.group(1)
    if from_header and query and from_header != query:
        raise ApiError(401, "unauthorized", "The api_key parameter and the Authorization header disagree.")
    return from_header or query






def api_auth(admin_only: bool = False) -> Callable:
    """Require a valid API token for the page in the URL."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(page_id: str, *args, **kwargs):
            raw = presented_token()
            if not raw:
                raise ApiError(401, "unauthorized", "An API key is required: 'Authorization: OAuth <key>'.")
            session = db_session()
            user = user_for_token(session, raw)
            if user is None:
                raise ApiError(401, "unauthorized", "Invalid API key.")
            if session.dirty:
                session.commit()  # the key's last-used time (at most once a minute), before the view's work
            if admin_only and not user.is_admin:
                raise ApiError(403, "forbidden", "This action needs an admin's API key.")
            page = current_page()
            if page_id.removesuffix(".json") != page.code:
                raise ApiError(404, "not_found", f"No page with id {page_id!r}.", "page_id")
            for name, value in kwargs.items():
                if isinstance(value, str) and not storable_text(value):
                    raise ApiError(404, "not_found", f"Nothing has the {name} {value!r}.", name)
            g.api_user = user
            return view(page, *args, **kwargs)

        return wrapper

    return decorator


def api_user() -> User:
    return g.api_user


def api_actor() -> Actor:
    """Who makes this request's changes, as the audit log names them: the key's user, through the API."""
    return Actor.for_user(api_user(), "api")


def probe_policy() -> Policy:
    """The outbound policy for targets responders choose (probes, alert routes): STATUSPAGE_PROBE_*."""
    return Policy.from_settings(current_app.config["STATUSPAGE"])


def require_admin() -> None:
    """Refuse the request unless the token belongs to an admin."""
    if not g.api_user.is_admin:
        raise ApiError(403, "forbidden", "This action needs an admin's API key.")


# --- request bodies ---------------------------------------------------------------------------

_BRACKETS = re.compile(r"\[([^\]]*)\]")


def _parse_form(form) -> dict[str, Any]:
    """Turn `incident[name]=x&incident[component_ids][]=a` into nested dicts and lists."""
    result: dict[str, Any] = {}
    for full_key in form:
        head = full_key.split("[", 1)[0]
        parts = [head, *_BRACKETS.findall(full_key[len(head):])]
        values = form.getlist(full_key)
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = values if full_key.endswith("[]") else values[-1]
                break
            if parts[index + 1] == "":
                node[part] = values
                break
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ApiError(400, "bad_request", f"Conflicting form keys at {full_key!r}.")
            node = child
    return result




def _refuse_unstorable_text(data: Any) -> None:
    """422 for any key or string in a parsed body that `storable_text` refuses (walked without recursion)."""
    stack: list[tuple[Any, str | None]] = [(data, None)]
    while stack:
        value, field = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                stack += [(key, key), (item, key)]
        elif isinstance(value, list):
            stack += [(item, field) for item in value]
        elif isinstance(value, str) and not storable_text(value):
            message = "Text must not contain NUL characters or unpaired surrogates."
            raise ApiError(422, "invalid", message, field)


def request_body() -> dict[str, Any]:
    """The request body as a dict, from JSON or a form; 4xx when it is neither."""
    mimetype = request.mimetype
    if mimetype == "application/json":
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # nested deeper than the parser goes; silent= only covers ValueError
            data = None
        if data is None:
            raise ApiError(400, "bad_request", "The body is not valid JSON.")
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "The body must be a JSON object.")
        _refuse_unstorable_text(data)
        return data
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data = _parse_form(request.form)
        _refuse_unstorable_text(data)
        return data
    if not request.get_data():
        return {}
    raise ApiError(415, "unsupported_media_type",
                   "Send JSON (application/json) or a form (application/x-www-form-urlencoded).")


def route(blueprint: Blueprint, rule: str, **options) -> Callable:
    """Register a rule with and without the `.json` suffix older Statuspage clients send."""

    def decorator(view: Callable) -> Callable:
        blueprint.add_url_rule(rule, view.__name__, view, **options)
        blueprint.add_url_rule(rule + ".json", view.__name__ + "_json", view, **options)
        return view

    return decorator


def object_id(value: str) -> str:
    """A public id from the URL, with the optional `.json` suffix removed."""
    return value.removesuffix(".json")


def query_text(name: str) -> str:
    """A free-text query parameter (a search); 400 when it holds what no database can search for."""
    value = request.args.get(name, "")
    if not storable_text(value):
        raise ApiError(400, "bad_request", f"{name} must not contain NUL characters.", name)
    return value


# The last page a list call may ask for: beyond it the offset would overflow the databases' integers.
PAGE_MAX = 100_000


def parse_paging(default_limit: int = 100, max_limit: int = 100, first: int = 1,
                 limit_name: str = "limit") -> tuple[int, int]:
    """`limit` and `page` query parameters, validated; `first` is the number of the first page
    (Statuspage's subscriber list counts from 0; our other lists from 1)."""
    try:
        limit = int(request.args.get(limit_name, default_limit))
        page = int(request.args.get("page", first))
    except ValueError:
        raise ApiError(400, "bad_request", f"{limit_name} and page must be whole numbers.") from None
    last = PAGE_MAX - 1 + first
    if not 1 <= limit <= max_limit or not first <= page <= last:
        raise ApiError(400, "bad_request", f"{limit_name} must be 1 to {max_limit} and page {first} to {last:,}.")
    return limit, page
