"""The public API v2: Statuspage's read-only JSON, served from the render cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from statuspage.api.common import register_error_handlers
from statuspage.components.catalog import TreeItem, component_tree
from statuspage.edge.page import current_page
from statuspage.edge.public_cache import cached_public
from statuspage.edge.session import db_session
from statuspage.incidents import lookups, rules
from statuspage.models import Incident, IncidentKind, MaintenanceStatus
from statuspage.shapes import (
    IncidentJson,
    MaintenanceJson,
    PageJson,
    incident_json,
    overall_status,
    page_json,
    tree_json,
)

PREFIX = "/api/v2"
bp = Blueprint("api_v2", __name__, url_prefix=PREFIX)
register_error_handlers(bp)

# The feeds are read by browsers on other sites too (status widgets), like the JSON.
FEEDS = ("/history.rss", "/history.atom")
PREFLIGHT_HEADERS = "Accept, Cache-Control, Content-Type, If-Modified-Since, If-None-Match"


@bp.after_app_request
def open_to_other_sites(response: Response) -> Response:
    """Let any site read the public JSON and feeds: every answer (200, 304, 404, 503) and the preflight.

    The render cache's own answers carry the same Allow-Origin (web/public_cache.py); this hook
    covers what does not come from it: OPTIONS, errors, and paths under /api/v2/ that match no route.
    """
    if request.path.startswith(PREFIX + "/") or request.path in FEEDS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            # Public, read-only and without credentials: whatever headers the reader asks to send are fine.
            response.headers["Access-Control-Allow-Headers"] = (
                request.headers.get("Access-Control-Request-Headers") or PREFLIGHT_HEADERS)
            response.headers["Access-Control-Max-Age"] = "86400"
    return response

UPCOMING = (MaintenanceStatus.SCHEDULED,)
SUMMARY_MAINTENANCE = (
    MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING
)


class PublicState:
    """What the public endpoints show, each part read once and only when asked for."""

    def __init__(self) -> None:
        self.session = db_session()
        self.page = current_page()
        self.base_url = current_app.config["STATUSPAGE"].base_url
        self._tree: list[TreeItem] | None = None
        self._unresolved: list[Incident] | None = None

    @property
    def tree(self) -> list[TreeItem]:
        if self._tree is None:
            self._tree = component_tree(self.session)
        return self._tree

    @property
    def unresolved(self) -> list[Incident]:
        if self._unresolved is None:
            self._unresolved = lookups.unresolved_incidents(self.session)
        return self._unresolved

    def incidents(self, items) -> list[IncidentJson | MaintenanceJson]:
        return [incident_json(i, self.page, self.base_url) for i in items]

    def page_json(self) -> PageJson:
        return page_json(self.page, self.base_url)

    def status(self) -> dict[str, str]:
        return overall_status(self.tree, lookups.page_impacts(self.session, self.unresolved))


PARTS: dict[str, Callable[[PublicState], Any]] = {
    "page": PublicState.page_json,
    "components": lambda s: tree_json(s.tree, s.page),
    "status": PublicState.status,
    "unresolved": lambda s: s.incidents(s.unresolved),
    "recent_incidents": lambda s: s.incidents(lookups.recent(s.session, IncidentKind.INCIDENT, 50)),
    "summary_maintenances": lambda s: s.incidents(lookups.maintenances(s.session, SUMMARY_MAINTENANCE)),
    "recent_maintenances": lambda s: s.incidents(lookups.recent(s.session, IncidentKind.MAINTENANCE, 50)),
    "upcoming": lambda s: s.incidents(lookups.maintenances(s.session, UPCOMING)),
    "active": lambda s: s.incidents(lookups.maintenances(s.session, rules.ACTIVE_MAINTENANCE)),
}


def _endpoint(rule: str, keys: dict[str, str]) -> None:
    """Register `rule.json` and `rule` (some clients drop the suffix); keys map JSON key → part."""

    @cached_public
    def view():
        state = PublicState()
        return jsonify({key: PARTS[part](state) for key, part in keys.items()})

    name = rule.strip("/").replace("/", "_").replace("-", "_")
    view.__name__ = name
    bp.add_url_rule(f"{rule}.json", name, view)
    bp.add_url_rule(rule, f"{name}_bare", view)


_endpoint("/summary", {"page": "page", "components": "components", "incidents": "unresolved",
                       "scheduled_maintenances": "summary_maintenances", "status": "status"})
_endpoint("/status", {"page": "page", "status": "status"})
_endpoint("/components", {"page": "page", "components": "components"})
_endpoint("/incidents", {"page": "page", "incidents": "recent_incidents"})
_endpoint("/incidents/unresolved", {"page": "page", "incidents": "unresolved"})
_endpoint("/scheduled-maintenances", {"page": "page", "scheduled_maintenances": "recent_maintenances"})
_endpoint("/scheduled-maintenances/upcoming", {"page": "page", "scheduled_maintenances": "upcoming"})
_endpoint("/scheduled-maintenances/active", {"page": "page", "scheduled_maintenances": "active"})
