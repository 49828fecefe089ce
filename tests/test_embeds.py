"""Embeds: a README badge and a one-tag widget, readable from any origin."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from statuspage import components
from statuspage.audit import Actor

ACTOR = Actor.system("test")


def test_the_badge_is_svg_showing_the_overall_state(client):
    response = client.get("/badge.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = ET.fromstring(response.get_data())
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["status", "All Systems Operational"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["ETag"]


def test_a_component_badge_names_the_component_and_its_status(app, client, session):
    component = components.create_component(session, ACTOR, "Database <cluster>", status="major_outage")
    session.commit()
    svg = ET.fromstring(client.get(f"/badge.svg?component={component.code}").get_data())
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["Database <cluster>", "Major Outage"]
    assert client.get("/badge.svg?component=nosuchthing0").status_code == 404


def test_the_widget_script_is_served_for_other_sites(client):
    response = client.get("/widget.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert "/api/v2/status.json" in response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_public_api_and_feeds_allow_any_origin(client):
    for path in ("/api/v2/summary.json", "/api/v2/status", "/history.rss", "/history.atom"):
        assert client.get(path).headers["Access-Control-Allow-Origin"] == "*", path
