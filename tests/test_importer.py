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


# --- bad values are refused with the record named, and nothing is imported -----------------------


def github_summary() -> dict:
    """Components shaped like githubstatus.com's summary.json (ids shortened to ours)."""
    def component(code: str, name: str, position: object, **extra) -> dict:
        return {"id": code, "name": name, "status": "operational", "created_at": "2017-01-31T20:05:05.370Z",
                "updated_at": "2024-08-14T23:12:51.437Z", "position": position, "description": None,
                "showcase": False, "start_date": None, "group_id": None, "page_id": "kctbh9vrtdwd",
                "group": False, "only_show_if_degraded": False, **extra}
    return {"page": {"id": "kctbh9vrtdwd", "name": "GitHub", "url": "https://www.githubstatus.com",
                     "time_zone": "Etc/UTC", "updated_at": "2024-08-15T00:00:00.000Z"},
            "components": [component("8l4ygp009s5s", "Git Operations", 1, start_date="2019-05-01"),
                           component("4230lsnqdsld", "Webhooks", 2),
                           component("brv1bkgrwx7q", "API Requests", 3)],
            "incidents": [], "scheduled_maintenances": [],
            "status": {"indicator": "none", "description": "All Systems Operational"}}


def write(tmp_path: Path, **files: dict) -> Path:
    folder = tmp_path / "export"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"{name.replace('_', '-')}.json").write_text(json.dumps(data))
    return folder


def import_(runner, folder: Path):
    return runner.invoke(args=["statuspage", "import-statuspage", str(folder)])


@pytest.mark.parametrize("position", ["first", 1.5, -1, True, 10**9])
def test_a_position_that_is_not_a_whole_number_is_refused(runner, session, tmp_path, client, position):
    data = github_summary()
    data["components"][0]["position"] = position
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "component 8l4ygp009s5s has position" in result.output and "whole number" in result.output
    assert counts(session) == (0, 0, 0, 0)
    for path in ("/", "/api/v2/summary.json", "/api/v2/components.json", "/badge.svg"):
        assert client.get(path).status_code == 200, path


def test_positions_order_the_page_and_are_stored_as_ours(runner, session, tmp_path, client):
    data = github_summary()
    for component, position in zip(data["components"], (30, 10, 20), strict=True):
        component["position"] = position
    assert import_(runner, write(tmp_path, summary=data)).exit_code == 0
    listed = client.get("/api/v2/components.json").get_json()["components"]
    assert [(c["name"], c["position"]) for c in listed] == [
        ("Webhooks", 1), ("API Requests", 2), ("Git Operations", 3)]
    for path in ("/", "/api/v2/summary.json", "/badge.svg"):
        assert client.get(path).status_code == 200, path


def test_an_unknown_component_status_is_refused(runner, session, tmp_path):
    data = github_summary()
    data["components"][1]["status"] = "bogus"
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "component 4230lsnqdsld" in result.output and "'bogus'" in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_an_unknown_update_status_is_refused(runner, session, tmp_path, client):
    data = incidents()
    data["incidents"][0]["incident_updates"][0]["status"] = "bogus"
    result = import_(runner, write(tmp_path, summary=summary(), incidents=data))
    assert result.exit_code == 1
    assert "update dwfsk5ttyvtb has status 'bogus'" in result.output and "investigating" in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_an_id_with_a_trailing_newline_is_refused(runner, session, tmp_path):
    data = github_summary()
    data["components"][1]["id"] += "\n"
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "is not a Statuspage id" in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_an_affected_component_whose_name_is_not_text_is_refused(runner, session, tmp_path):
    data = incidents()
    update = data["incidents"][0]["incident_updates"][0]
    update["affected_components"] = [{"code": "4230lsnqdsld", "name": {"html": "<b>x</b>"},
                                      "old_status": "operational", "new_status": "major_outage"}]
    result = import_(runner, write(tmp_path, summary=summary(), incidents=data))
    assert result.exit_code == 1 and "Name is required" in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_two_top_level_components_with_one_name_are_refused(runner, session, tmp_path):
    data = github_summary()
    data["components"].append({**data["components"][0], "id": "q0lbnfc59j35", "position": 4})
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "component q0lbnfc59j35" in result.output and "'Git Operations' already exists" in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_a_name_already_on_the_page_is_refused(runner, session, tmp_path):
    from statuspage.audit import Actor
    from statuspage.components.catalog import create_component

    create_component(session, Actor.system("test"), "git operations")
    session.commit()
    result = import_(runner, write(tmp_path, summary=github_summary()))
    assert result.exit_code == 1 and "'Git Operations' already exists in the top level" in result.output
    assert counts(session) == (0, 1, 0, 0)


def test_the_same_name_in_two_groups_is_fine(runner, session, tmp_path):
    data = summary()
    data["components"].append({**data["components"][1], "id": "q0lbnfc59j35", "group_id": None})
    assert import_(runner, write(tmp_path, summary=data)).exit_code == 0
    assert counts(session) == (1, 4, 0, 0)


def test_a_group_and_a_component_with_one_id_are_refused(runner, session, tmp_path):
    data = summary()
    data["components"][3]["id"] = "jk03xttfcz9b"
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "the id jk03xttfcz9b appears twice" in result.output
    assert counts(session) == (0, 0, 0, 0)


def test_a_component_id_that_is_a_group_here_is_refused(runner, session, tmp_path):
    assert import_(runner, write(tmp_path, summary=summary())).exit_code == 0
    data = github_summary()
    data["components"][0]["id"] = "jk03xttfcz9b"
    result = import_(runner, write(tmp_path / "second", summary=data))
    assert result.exit_code == 1 and "already a component group here" in result.output
    assert counts(session) == (1, 3, 0, 0)


def test_an_update_id_that_belongs_to_another_incident_is_a_clear_error(runner, session, tmp_path):
    assert import_(runner, write(tmp_path, summary=summary(), incidents=incidents())).exit_code == 0
    data = incidents()
    data["incidents"][0]["id"] = "n3wc0d3n3wc0"
    result = import_(runner, write(tmp_path / "second", incidents=data))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "update dwfsk5ttyvtb already belongs to incident rclfxz2g21ly" in result.output
    assert counts(session) == (1, 3, 1, 2)


def test_a_clash_the_checks_miss_is_a_clear_error_not_a_traceback(runner, session, tmp_path, monkeypatch):
    from statuspage.tools import importer

    # Without the name check, the database's unique index is the last line of defence.
    monkeypatch.setattr(importer, "_check_unique_component_name", lambda *args: None)
    data = github_summary()
    data["components"].append({**data["components"][0], "id": "q0lbnfc59j35", "position": 4})
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Nothing imported: the export clashes with data on this page" in result.output
    assert counts(session) == (0, 0, 0, 0)


# --- what is kept, and what a second run does ------------------------------------------------------


def test_a_second_run_leaves_live_component_statuses_and_their_history_alone(runner, session, tmp_path):
    from statuspage.audit import Actor
    from statuspage.components.catalog import get_component
    from statuspage.components.status_rules import set_status
    from statuspage.models import ComponentStatus, StatusChange

    folder = write(tmp_path, summary=summary())
    assert import_(runner, folder).exit_code == 0
    api = get_component(session, "rhznvxg4v7yh")
    set_status(session, api, ComponentStatus.MAJOR_OUTAGE, Actor.system("test"))
    session.commit()
    history = session.scalar(select(func.count()).select_from(StatusChange))
    assert import_(runner, folder).exit_code == 0
    session.expire_all()
    assert get_component(session, "rhznvxg4v7yh").status == ComponentStatus.MAJOR_OUTAGE
    assert get_component(session, "fc8y53dfg85y").status == ComponentStatus.PARTIAL_OUTAGE
    assert session.scalar(select(func.count()).select_from(StatusChange)) == history


def test_a_second_run_adds_what_is_new(runner, session, tmp_path):
    assert import_(runner, write(tmp_path, summary=summary(), incidents=incidents())).exit_code == 0
    data = summary()
    data["components"].append({**data["components"][3], "id": "n3wc0mp0n3nt", "name": "CDN", "position": 3})
    newer = incidents()
    newer["incidents"][0]["updated_at"] = "2020-02-12T10:00:00.000Z"
    newer["incidents"][0]["status"] = "postmortem"
    newer["incidents"][0]["incident_updates"].insert(0, {
        "id": "p0stm0rt3m00", "status": "postmortem", "body": "We have published a postmortem.",
        "created_at": "2020-02-12T10:00:00.000Z", "display_at": "2020-02-12T10:00:00.000Z"})
    result = import_(runner, write(tmp_path / "second", summary=data, incidents=newer))
    assert result.exit_code == 0 and "1 components" in result.output and "1 updates" in result.output
    session.expire_all()
    outage = session.scalars(select(Incident).where(Incident.code == "rclfxz2g21ly")).one()
    assert outage.status == "postmortem" and outage.updates[0].code == "p0stm0rt3m00"


def test_the_start_date_is_imported(runner, session, tmp_path, client):
    assert import_(runner, write(tmp_path, summary=github_summary())).exit_code == 0
    git = client.get("/api/v2/components.json").get_json()["components"][0]
    assert (git["name"], git["start_date"]) == ("Git Operations", "2019-05-01")


def test_a_bad_start_date_is_refused(runner, session, tmp_path):
    data = github_summary()
    data["components"][0]["start_date"] = "May 2019"
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "component 8l4ygp009s5s: start_date must be a date" in result.output


def test_a_component_listed_by_its_group_but_without_group_id_joins_the_group(runner, session, tmp_path):
    data = summary()
    data["components"][2]["group_id"] = None  # US East, listed in Voice's "components"
    assert import_(runner, write(tmp_path, summary=data)).exit_code == 0
    us_east = session.scalars(select(Component).where(Component.code == "fc8y53dfg85y")).one()
    api = session.scalars(select(Component).where(Component.code == "rhznvxg4v7yh")).one()
    assert us_east.group.code == "jk03xttfcz9b" and api.group is None


def test_a_group_id_naming_no_group_is_refused(runner, session, tmp_path):
    data = summary()
    data["components"][3]["group_id"] = "n0gr0up00000"
    result = import_(runner, write(tmp_path, summary=data))
    assert result.exit_code == 1 and "names group n0gr0up00000, which is neither" in result.output


def upcoming_and_active(now) -> dict:
    from datetime import timedelta

    def window(code: str, status: str, start, end) -> dict:
        made = (now - timedelta(days=3)).isoformat()
        return {"id": code, "name": f"Window {code}", "status": status, "impact": "maintenance",
                "created_at": made, "updated_at": made,
                "started_at": start.isoformat(), "scheduled_for": start.isoformat(),
                "scheduled_until": end.isoformat(), "monitoring_at": None, "resolved_at": None,
                "page_id": PAGE["id"], "components": [], "incident_updates": [
                    {"id": code[::-1], "status": "scheduled", "body": "Planned.",
                     "created_at": made, "display_at": made}]}
    return {"page": PAGE, "scheduled_maintenances": [
        window("upc0m1ng0001", "scheduled", now + timedelta(days=2), now + timedelta(days=2, hours=2)),
        window("act1v3000001", "in_progress", now - timedelta(hours=1), now + timedelta(hours=1)),
    ]}


def test_maintenance_windows_still_ahead_move_on_their_own_and_past_ones_do_not(runner, session, tmp_path):
    from datetime import timedelta

    from statuspage.db import utcnow
    from statuspage.incidents.windows import due_maintenance

    now = utcnow()
    folder = write(tmp_path, scheduled_maintenances=upcoming_and_active(now))
    (folder / "incidents.json").write_text(json.dumps(maintenances() | {"incidents": []}))
    assert import_(runner, folder).exit_code == 0
    windows = {i.code: i for i in session.scalars(select(Incident))}
    assert windows["upc0m1ng0001"].auto_transition and windows["act1v3000001"].auto_transition
    assert not windows["ymm0202y77k6"].auto_transition
    assert due_maintenance(session, now + timedelta(hours=2)).code == "act1v3000001"
    later = now + timedelta(days=2, minutes=1)
    session.get(Incident, windows["act1v3000001"].id).auto_transition = False
    assert due_maintenance(session, later).code == "upc0m1ng0001"


def test_a_maintenance_listed_in_incidents_json_is_imported_as_a_maintenance(runner, session, tmp_path, client):
    data = incidents()
    data["incidents"].append(maintenances()["scheduled_maintenances"][0])
    assert import_(runner, write(tmp_path, summary=summary(), incidents=data)).exit_code == 0
    upgrade = session.scalars(select(Incident).where(Incident.code == "ymm0202y77k6")).one()
    assert upgrade.is_maintenance and upgrade.status == "completed"
    listed = client.get("/api/v2/scheduled-maintenances.json").get_json()["scheduled_maintenances"]
    assert [m["id"] for m in listed] == ["ymm0202y77k6"]


def test_a_maintenance_status_without_a_window_is_refused(runner, session, tmp_path):
    data = incidents()
    data["incidents"][0]["status"] = "in_progress"
    result = import_(runner, write(tmp_path, incidents=data))
    assert result.exit_code == 1 and "maintenance rclfxz2g21ly has no scheduled_for" in result.output
