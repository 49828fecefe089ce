"""Clients written for Atlassian Statuspage, not by us, work against our server unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.request import urlopen

import pytest

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle, windows

CLIENTS = Path(__file__).parent / "clients"
ACTOR = Actor.system("test")


@pytest.fixture
def outage(session):
    """An unresolved incident, a maintenance under way and one still to come."""
    database = catalog.create_component(session, ACTOR, "Database cluster")
    website = catalog.create_component(session, ACTOR, "Website")
    incident = lifecycle.open_incident(session, ACTOR, name="Database down", body="Looking into it.",
                                       component_statuses={database.code: "major_outage"})
    now = utcnow()
    windows.schedule_maintenance(session, ACTOR, name="Storage upgrade", body="Disks get bigger.",
                                   scheduled_for=now + timedelta(days=2),
                                   scheduled_until=now + timedelta(days=2, hours=2), component_codes=[database.code])
    active = windows.schedule_maintenance(session, ACTOR, name="CDN switch", body="Moving to a new CDN.",
                                            scheduled_for=now - timedelta(minutes=30),
                                            scheduled_until=now + timedelta(hours=1), component_codes=[website.code])
    windows.advance_maintenance(session, active, now)
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
    assert [i["name"] for i in got["summary"]["incidents"]] == ["Database down"]
    summary_windows = {m["name"]: m["status"] for m in got["summary"]["scheduled_maintenances"]}
    assert summary_windows == {"Storage upgrade": "scheduled", "CDN switch": "in_progress"}
    # statuspage.io 3.1.1 reads upcoming.json for getAll() and getActive() too (its Endpoints.js maps
    # all three there), so through the client each sees the window still to come.
    for key in ("maintenances", "upcoming", "active"):
        [window] = got[key]["scheduled_maintenances"]
        assert (window["name"], window["status"], window["impact"]) == ("Storage upgrade", "scheduled", "maintenance")
        assert window["scheduled_for"] < window["scheduled_until"]


def test_the_endpoints_that_client_skips_hold_the_active_and_all_maintenances(live_server, outage):
    def read(path: str) -> list[dict]:
        with urlopen(f"{live_server}/api/v2/{path}", timeout=10) as response:
            return json.load(response)["scheduled_maintenances"]

    assert [(m["name"], m["status"]) for m in read("scheduled-maintenances/active.json")] == [
        ("CDN switch", "in_progress")]
    assert {m["name"] for m in read("scheduled-maintenances.json")} == {"Storage upgrade", "CDN switch"}
