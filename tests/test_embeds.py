"""Embeds: a README badge and a one-tag widget, readable from any origin."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.models import Page

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
    component = catalog.create_component(session, ACTOR, "Database <cluster>", status="major_outage")
    session.commit()
    svg = ET.fromstring(client.get(f"/badge.svg?component={component.code}").get_data())
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["Database <cluster>", "Major Outage"]


def test_the_widget_script_is_served_for_other_sites(client):
    response = client.get("/widget.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert "/api/v2/status.json" in response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_public_api_and_feeds_allow_any_origin(client):
    for path in ("/api/v2/summary.json", "/api/v2/status", "/history.rss", "/history.atom"):
        assert client.get(path).headers["Access-Control-Allow-Origin"] == "*", path


# --- the widget never runs text from the page as code ------------------------------------------------

HARNESS = """
const calls = [];
globalThis.alert = (value) => calls.push(String(value));
const inserted = [];
const element = (tag) => ({tag, style: {}, attributes: {}, children: [],
  setAttribute(name, value) { this.attributes[name] = value; }, appendChild(child) { this.children.push(child); }});
globalThis.document = {domain: "embedding.example", createElement: element, currentScript: {
  src: "http://status.test/widget.js", nextSibling: null, parentNode: {insertBefore: (node) => inserted.push(node)}}};
globalThis.fetch = () => new Promise(() => {});
globalThis.setInterval = () => 0;
"""
REPORT = """
process.stdout.write(JSON.stringify({calls, widgets: inserted.length, title: inserted[0] && inserted[0].title}));
"""


def run_widget(script: str) -> dict:
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    assert node, "node is required (installed on the CI machine)"
    run = subprocess.run([node, "-e", HARNESS + script + REPORT], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.parametrize("name", [
    "Acme **// alert(document.domain); /*",
    "Acme */ alert(1); /*",
    "Acme </script><script>alert(2)</script>",
    'Acme"; alert(3); "',
    "Acme \u2028 alert(4) \u2029",
    "Acme `${alert(5)}`",
])
def test_a_page_name_with_code_in_it_is_only_text_in_the_widget(client, session, name):
    page = session.scalars(select(Page)).one()
    page.name = name
    session.commit()
    script = client.get("/widget.js").get_data(as_text=True)
    assert "Acme" not in script.split("*/", 1)[0], "the page's name stays out of the comment"
    assert run_widget(script) == {"calls": [], "widgets": 1, "title": name}


def test_the_widget_shows_the_state_it_reads(client):
    script = client.get("/widget.js").get_data(as_text=True)
    status = client.get("/api/v2/status.json").get_data(as_text=True)
    fetch = f"globalThis.fetch = () => Promise.resolve({{json: () => Promise.resolve({status})}});"
    report = ("setTimeout(() => process.stdout.write(JSON.stringify({text: inserted[0].children[1].textContent, "
              "indicator: inserted[0].attributes['data-indicator']})), 10);")
    node_script = HARNESS + fetch + script + report
    import json
    import shutil
    import subprocess

    run = subprocess.run([shutil.which("node"), "-e", node_script], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"text": "All Systems Operational", "indicator": "none"}


# --- badges for groups, and for ids that name nothing ---------------------------------------------------


def test_a_group_badge_shows_the_worst_status_of_its_components(client, session):
    web = catalog.create_component(session, ACTOR, "Web", status="degraded_performance")
    api = catalog.create_component(session, ACTOR, "API", status="partial_outage")
    group = catalog.create_group(session, ACTOR, "Frontend", component_codes=[web.code, api.code])
    session.commit()
    response = client.get(f"/badge.svg?component={group.code}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    texts = [t.text for t in ET.fromstring(response.get_data()).iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["Frontend", "Partial Outage"]


def test_an_unknown_id_gets_an_unknown_badge_with_404(client):
    response = client.get("/badge.svg?component=nosuchthing0")
    assert response.status_code == 404 and response.mimetype == "image/svg+xml"
    texts = [t.text for t in ET.fromstring(response.get_data()).iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["component", "unknown"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
