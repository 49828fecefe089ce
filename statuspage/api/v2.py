"""The public API v2: Statuspage's read-only JSON, served from the render cache."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from ..components import component_tree
from ..web.public_cache import cached_public
from ..web.session import db_session
from .common import current_page, register_error_handlers
from .shapes import overall_status, page_json, tree_json

bp = Blueprint("api_v2", __name__, url_prefix="/api/v2")
register_error_handlers(bp)


def _public_state() -> dict[str, Any]:
    """Everything the public endpoints show, read in one go."""
    page = current_page()
    tree = component_tree(db_session())
    base_url = current_app.config["STATUSPAGE"].base_url
    return {
        "page": page_json(page, base_url),
        "components": tree_json(tree, page),
        "status": overall_status(tree, incident_impacts=[]),
        "incidents": [],
        "scheduled_maintenances": [],
    }


def _endpoint(rule: str, keys: tuple[str, ...]) -> None:
    """Register `rule.json` and `rule` (some clients drop the suffix)."""

    @cached_public
    def view():
        state = _public_state()
        return jsonify({key: state[key] for key in keys})

    name = rule.strip("/").replace("/", "_").replace("-", "_")
    view.__name__ = name
    bp.add_url_rule(f"{rule}.json", name, view)
    bp.add_url_rule(rule, f"{name}_bare", view)


_endpoint("/summary", ("page", "components", "incidents", "scheduled_maintenances", "status"))
_endpoint("/status", ("page", "status"))
_endpoint("/components", ("page", "components"))
_endpoint("/incidents", ("page", "incidents"))
_endpoint("/incidents/unresolved", ("page", "incidents"))
_endpoint("/scheduled-maintenances", ("page", "scheduled_maintenances"))
_endpoint("/scheduled-maintenances/upcoming", ("page", "scheduled_maintenances"))
_endpoint("/scheduled-maintenances/active", ("page", "scheduled_maintenances"))
