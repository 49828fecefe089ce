"""The OpenAPI 3.1 document of the management API (v1), served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__)


def document() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "statuspage management API", "version": "1"},
            "paths": {}}


@bp.get("/api/v1/openapi.json")
def openapi_json():
    return jsonify(document())
