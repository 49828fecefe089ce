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


def test_retry_after_is_only_on_the_refusal_and_the_message_says_how_long(limited_app, session, api_token, page_code):
    client = limited_app.test_client()
    key = api_token("admin")
    path = f"/api/v1/pages/{page_code}/components"
    allowed = [client.get(path, headers=key) for _ in range(3)]
    for response in allowed:
        assert response.status_code == 200
        assert "Retry-After" not in response.headers
    refused = client.get(path, headers=key)
    seconds = int(refused.headers["Retry-After"])
    assert 0 < seconds <= 61  # the limiter counts whole seconds
    message = refused.get_json()["error"]["message"]
    assert message == f"Rate limit exceeded: 3 per 1 minute; retry after {seconds} seconds."
    assert refused.get_json()["message"] == message


def test_an_error_within_the_allowance_has_no_retry_after(limited_app, session, api_token, page_code):
    client = limited_app.test_client()
    response = client.get(f"/api/v1/pages/{page_code}/components/nosuchcomp00", headers=api_token("admin"))
    assert response.status_code == 404
    assert "Retry-After" not in response.headers


def test_a_wrong_key_is_called_invalid_and_a_missing_one_required(client, session):
    wrong = client.get("/api/v1/pages?api_key=wrong")
    assert wrong.status_code == 401
    assert wrong.get_json()["message"] == "Invalid API key."
    missing = client.get("/api/v1/pages")
    assert missing.status_code == 401
    assert missing.get_json()["message"].startswith("An API key is required")
    assert client.get("/api/v1/pages", headers={"Authorization": "OAuth wrong"}).get_json()["message"] == (
        "Invalid API key.")
