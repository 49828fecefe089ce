"""Migrating from Statuspage: `import-statuspage` reads its v2 JSON exports, keeps ids, runs twice safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from statuspage.models import Component, ComponentGroup, Incident, IncidentUpdate

PAGE = {"id": "srhpyqt94yxb", "name": "Discord", "url": "http://status.discordapp.com",
        "time_zone": "America/Tijuana", "updated_at": "2019-06-24T06:07:14.473-07:00"}


def summary() -> dict:
    return {
        "page": PAGE,
        "status": {"indicator": "minor", "description": "Minor Service Outage"},
        "components": [
            {"id": "jk03xttfcz9b", "name": "Voice", "status": "partial_outage", "position": 1,
             "description": None, "showcase": False, "group_id": None, "page_id": PAGE["id"], "group": True,
             "only_show_if_degraded": False, "components": ["0cwvg0jp5cbg", "fc8y53dfg85y"],
             "created_at": "2015-07-30T20:36:41.891-07:00", "updated_at": "2018-07-17T13:00:35.378-07:00"},
            {"id": "0cwvg0jp5cbg", "name": "EU West", "status": "operational", "position": 1,
             "created_at": "2015-07-30T20:36:41.891-07:00", "updated_at": "2018-07-17T13:00:35.378-07:00",
             "description": None, "showcase": False, "start_date": None, "group_id": "jk03xttfcz9b",
             "page_id": PAGE["id"], "group": False, "only_show_if_degraded": False},
            {"id": "fc8y53dfg85y", "name": "US East", "status": "partial_outage", "position": 2,
             "created_at": "2015-07-30T20:36:41.891-07:00", "updated_at": "2018-07-17T13:00:35.378-07:00",
             "description": "Virginia", "showcase": True, "start_date": None, "group_id": "jk03xttfcz9b",
             "page_id": PAGE["id"], "group": False, "only_show_if_degraded": False},
            {"id": "rhznvxg4v7yh", "name": "API", "status": "operational", "position": 2,
             "created_at": "2015-07-30T20:36:41.891-07:00", "updated_at": "2018-07-17T13:00:35.378-07:00",
             "description": None, "showcase": True, "start_date": None, "group_id": None,
             "page_id": PAGE["id"], "group": False, "only_show_if_degraded": False},
        ],
        "incidents": [],
        "scheduled_maintenances": [],
    }


def incidents() -> dict:
    update = {"id": "dwfsk5ttyvtb", "status": "resolved", "body": "Voice is back.", "incident_id": "rclfxz2g21ly",
              "created_at": "2020-02-11T04:15:02.000Z", "updated_at": "2020-02-11T04:15:02.000Z",
              "display_at": "2020-02-11T04:15:02.000Z", "affected_components": [
                  {"code": "fc8y53dfg85y", "name": "US East", "old_status": "major_outage",
                   "new_status": "operational"}],
              "deliver_notifications": True, "custom_tweet": None, "tweet_id": None}
    first = {**update, "id": "k2p7qz9wv1xa", "status": "investigating", "body": "Voice is down in US East.",
             "created_at": "2020-02-11T03:15:02.000Z", "display_at": "2020-02-11T03:15:02.000Z",
             "affected_components": None}
    return {"page": PAGE, "incidents": [{
        "id": "rclfxz2g21ly", "name": "Voice outage", "status": "resolved", "created_at": "2020-02-11T03:15:01.913Z",
        "updated_at": "2020-02-11T04:15:02.003Z", "monitoring_at": None, "resolved_at": "2020-02-11T04:15:02.003Z",
        "impact": "major", "shortlink": "http://stspg.io/pkvbwp8jppf9", "started_at": "2020-02-11T03:15:01.906Z",
        "page_id": PAGE["id"], "incident_updates": [update, first],
        "components": [{"id": "fc8y53dfg85y", "name": "US East", "status": "operational"}]}]}


def maintenances() -> dict:
    return {"page": PAGE, "scheduled_maintenances": [{
        "id": "ymm0202y77k6", "name": "Potentially Disruptive Upgrade", "status": "completed", "impact": "maintenance",
        "shortlink": "http://stspg.io/4ERc", "started_at": "2016-10-16T16:57:00.000-07:00",
        "created_at": "2016-10-16T16:57:00.000-07:00", "resolved_at": "2016-10-19T02:39:00.274-07:00",
        "monitoring_at": None, "page_id": PAGE["id"], "components": [],
        "incident_updates": [{"id": "zzq1x2c3v4b5", "status": "completed", "body": "Done.",
                              "created_at": "2016-10-19T02:39:00.000-07:00",
                              "display_at": "2016-10-19T02:39:00.000-07:00", "affected_components": []}],
        "scheduled_for": "2016-10-19T02:00:00.000-07:00", "scheduled_until": "2016-10-19T03:00:00.000-07:00"}]}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(summary()))
    (folder / "incidents.json").write_text(json.dumps(incidents()))
    (folder / "scheduled-maintenances.json").write_text(json.dumps(maintenances()))
    return folder


def counts(session) -> tuple[int, ...]:
    session.expire_all()
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (ComponentGroup, Component, Incident, IncidentUpdate))


def test_it_imports_components_groups_incidents_and_maintenances_keeping_ids(runner, session, export, client):
    result = runner.invoke(args=["statuspage", "import-statuspage", str(export)])
    assert result.exit_code == 0, result.output
    assert "3 components" in result.output
    assert counts(session) == (1, 3, 2, 3)
    us_east = session.scalars(select(Component).where(Component.code == "fc8y53dfg85y")).one()
    assert us_east.group.code == "jk03xttfcz9b" and us_east.status.value == "partial_outage"
    outage = session.scalars(select(Incident).where(Incident.code == "rclfxz2g21ly")).one()
    assert outage.status == "resolved" and outage.impact.value == "major"
    assert outage.started_at.isoformat() == "2020-02-11T03:15:01.906000+00:00"
    assert [u.status for u in outage.updates] == ["resolved", "investigating"]
    body = client.get("/api/v2/incidents.json").get_json()
    assert body["incidents"][0]["id"] == "rclfxz2g21ly"
    assert body["incidents"][0]["incident_updates"][0]["affected_components"][0]["new_status"] == "operational"


def test_running_it_twice_changes_nothing(runner, session, export):
    runner.invoke(args=["statuspage", "import-statuspage", str(export)])
    first = counts(session)
    result = runner.invoke(args=["statuspage", "import-statuspage", str(export)])
    assert result.exit_code == 0, result.output
    assert counts(session) == first


@pytest.mark.parametrize("content, message", [
    ("not json at all", "not readable JSON"),
    (json.dumps({"hello": "world"}), "not Statuspage v2 JSON"),
    (json.dumps({"page": PAGE, "components": "many"}), "must be a list"),
    (json.dumps({"page": PAGE, "incidents": [{"id": "BAD ID", "name": "x"}]}), "not a Statuspage id"),
])
def test_files_that_are_not_statuspage_json_are_refused_with_nothing_imported(
        runner, session, tmp_path, content, message):
    path = tmp_path / "summary.json"
    path.write_text(content)
    result = runner.invoke(args=["statuspage", "import-statuspage", str(path)])
    assert result.exit_code != 0
    assert message in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_a_bad_incident_after_good_components_rolls_everything_back(runner, session, tmp_path):
    broken = incidents()
    broken["incidents"][0]["status"] = "exploded"
    folder = tmp_path / "partly"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(summary()))
    (folder / "incidents.json").write_text(json.dumps(broken))
    result = runner.invoke(args=["statuspage", "import-statuspage", str(folder)])
    assert result.exit_code != 0 and "exploded" in result.output
    assert counts(session) == (0, 0, 0, 0)
