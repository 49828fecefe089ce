"""Browsers on other sites may read the public JSON and the feeds: every answer carries CORS headers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from statuspage import create_app
from statuspage.config import Settings

PUBLIC = ["/api/v2/status.json", "/api/v2/summary", "/api/v2/scheduled-maintenances/upcoming.json",
          "/history.atom", "/history.rss"]
ORIGIN = {"Origin": "https://widgets.example.org"}


def preflight(client: FlaskClient, path: str, headers: str = "if-none-match"):
    return client.options(path, headers={**ORIGIN, "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("path", PUBLIC)
def test_a_read_allows_any_origin_on_a_miss_and_on_a_cache_hit(client, path):
    first = client.get(path, headers=ORIGIN)
    second = client.get(path, headers=ORIGIN)
    assert first.status_code == second.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert second.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", PUBLIC)
def test_a_not_modified_answer_allows_any_origin(client, path):
    etag = client.get(path).headers["ETag"]
    response = client.get(path, headers={**ORIGIN, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", PUBLIC)
def test_the_preflight_allows_reading_with_the_headers_asked_for(client, path):
    response = preflight(client, path)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "if-none-match"
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_a_preflight_without_requested_headers_still_names_the_usual_ones(client):
    response = client.options("/api/v2/summary.json", headers={**ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("path", ["/api/v2/nothing-here.json", "/api/v2/incidents/nosuchthing.json",
                                  "/history.atom?component=nosuchcomp00"])
def test_a_404_allows_any_origin_so_the_reader_can_see_it(client, path):
    response = client.get(path, headers=ORIGIN)
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_503_allows_any_origin_so_the_reader_can_see_it(settings: Settings, tmp_path: Path):
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'statuspage.db'}"
    app = create_app(dataclasses.replace(settings, database_url=unreachable))
    for path in ("/api/v2/status.json", "/history.atom"):
        response = app.test_client().get(path, headers=ORIGIN)
        assert response.status_code == 503, path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    json_error = app.test_client().get("/api/v2/status.json")
    assert json_error.is_json and json_error.get_json()["error"]["code"] == "service_unavailable"
    app.extensions["statuspage.db"].engine.dispose()


def test_the_management_api_and_the_site_stay_closed_to_other_origins(client, page_code):
    for path in ("/", "/history", f"/api/v1/pages/{page_code}/components", "/login"):
        assert "Access-Control-Allow-Origin" not in preflight(client, path).headers, path
    assert "Access-Control-Allow-Origin" not in client.get("/login", headers=ORIGIN).headers
