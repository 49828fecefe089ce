"""The app starts, serves its page and answers its health check."""


def test_the_public_page_shows_the_overall_state(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "All Systems Operational" in response.get_data(as_text=True)


def test_healthz_answers_when_the_database_does(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
