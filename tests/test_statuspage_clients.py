"""Clients written for Atlassian Statuspage, not by us, work against our server unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from statuspage import components, incidents
from statuspage.audit import Actor

CLIENTS = Path(__file__).parent / "clients"
ACTOR = Actor.system("test")


@pytest.fixture
def outage(session):
    database = components.create_component(session, ACTOR, "Database cluster")
    components.create_component(session, ACTOR, "Website")
    incident = incidents.open_incident(session, ACTOR, name="Database down", body="Looking into it.",
                                       component_statuses={database.code: "major_outage"})
    session.commit()
    return incident


def test_the_npm_statuspage_io_client_reads_every_v2_endpoint(live_server, outage):
    node = shutil.which("node")
    assert node, "node is required (installed on the CI machine)"
    assert (CLIENTS / "node_modules" / "statuspage.io").is_dir(), "run `make test` to install tests/clients"
    run = subprocess.run([node, str(CLIENTS / "read_v2.js"), live_server], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    # One of two components down is "major", but the open incident's impact is critical.
    assert got["status"]["status"] == {"indicator": "critical", "description": "Major System Outage"}
    assert [c["name"] for c in got["components"]["components"]] == ["Database cluster", "Website"]
    assert [i["name"] for i in got["unresolved"]["incidents"]] == ["Database down"]
    assert got["incidents"]["incidents"][0]["incident_updates"][0]["body"] == "Looking into it."
    assert got["summary"]["page"]["name"] == "Acme"
    for key in ("maintenances", "upcoming", "active"):
        assert got[key]["scheduled_maintenances"] == []
