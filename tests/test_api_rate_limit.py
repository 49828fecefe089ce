"""The management API limits each token, answering 429 with Retry-After, as Statuspage clients expect."""

from __future__ import annotations

import dataclasses

import pytest

from statuspage import create_app


@pytest.fixture
def limited_app(settings):
    app = create_app(dataclasses.replace(settings, api_rate_limit="3 per minute"))
    app.config["TESTING"] = True
    yield app
    app.extensions["statuspage.db"].engine.dispose()


def test_each_token_gets_its_own_allowance(limited_app, session, api_token, page_code):
    client = limited_app.test_client()
    first, second = api_token("admin"), api_token("responder")
    path = f"/api/v1/pages/{page_code}/components"
    assert [client.get(path, headers=first).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(path, headers=first)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert refused.get_json()["message"]
    assert client.get(path, headers=second).status_code == 200
