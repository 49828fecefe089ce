"""The public site: the status page itself and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..api.common import current_page
from ..components import component_tree, page_indicator
from .public_cache import cached_public
from .session import db_session

bp = Blueprint("public", __name__)


@bp.get("/")
@cached_public
def index():
    page = current_page()
    tree = component_tree(db_session())
    statuses = [c.status for item in tree for c in item.components]
    indicator, description = page_indicator(statuses)
    return render_template(
        "public/index.html",
        page=page,
        tree=tree,
        indicator=indicator,
        description=description,
        base_url=current_app.config["STATUSPAGE"].base_url,
    )


@bp.get("/healthz")
def healthz():
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok"})
