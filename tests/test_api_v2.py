"""The public API v2 returns exactly Statuspage's shapes (tests/schemas, from shared/statuspage-api.md)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.models import Component, ComponentGroup

ACTOR = Actor.system("test")
SCHEMAS = Path(__file__).parent / "schemas"
BASE = "https://statuspage.test/schemas/"
ENDPOINTS = {
    "summary": "summary.json",
    "status": "status.json",
    "components": "components.json",
    "incidents": "incidents.json",
    "incidents/unresolved": "incidents.json",
    "scheduled-maintenances": "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming": "scheduled-maintenances.json",
    "scheduled-maintenances/active": "scheduled-maintenances.json",
}


def _registry() -> Registry:
    resources = [
        (BASE + path.name, Resource.from_contents(json.loads(path.read_text())))
        for path in SCHEMAS.glob("*.json")
    ]
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validator(schema: str) -> Draft202012Validator:
    """A validator for one schema file, or for `defs.json#/$defs/<name>` when given `#name`."""
    if schema.startswith("#"):
        contents = {"$ref": f"{BASE}defs.json#/$defs/{schema[1:]}"}
    else:
        contents = REGISTRY.contents(BASE + schema)
    Draft202012Validator.check_schema(contents)
    return Draft202012Validator(contents, registry=REGISTRY)


def a_group(session: Session, name: str) -> ComponentGroup:
    group = catalog.create_group(session, ACTOR, name)
    session.commit()
    return group


def a_component(session: Session, name: str, group: ComponentGroup | None = None, **fields) -> Component:
    component = catalog.create_component(session, ACTOR, name,
                                         group_code=group.code if group else None, **fields)
    session.commit()
    return component


@pytest.fixture
def stack(session: Session) -> dict[str, object]:
    """A small page: a group of two, a loose component and a hidden-while-operational one."""
    backend = a_group(session, "Backend")
    api = a_component(session, "API", backend, status="partial_outage",
                      description="Public API", start_date="2024-08-14")
    database = a_component(session, "Database", backend, status="degraded_performance")
    website = a_component(session, "Website", showcase=False)
    batch = a_component(session, "Batch jobs", only_show_if_degraded=True)
    return {"backend": backend, "api": api, "database": database, "website": website, "batch": batch}


def get(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def by_id(body: dict) -> dict[str, dict]:
    return {item["id"]: item for item in body["components"]}


# --- the schemas themselves -------------------------------------------------------------------


def test_the_schemas_accept_statuspages_own_samples():
    page = {"id": "srhpyqt94yxb", "name": "Discord", "url": "http://status.discordapp.com",
            "time_zone": "America/Tijuana", "updated_at": "2019-06-24T06:07:14.473-07:00"}
    component = {"id": "0cwvg0jp5cbg", "name": "EU West", "status": "operational",
                 "created_at": "2015-07-30T20:36:41.891-07:00",
                 "updated_at": "2018-07-17T13:00:35.378-07:00", "position": 1, "description": None,
                 "showcase": False, "start_date": None, "group_id": "jk03xttfcz9b",
                 "page_id": "srhpyqt94yxb", "group": False, "only_show_if_degraded": False}
    group = {"id": "jk03xttfcz9b", "name": "Voice", "status": "operational", "position": 5,
             "description": None, "showcase": False, "group_id": None, "page_id": "srhpyqt94yxb",
             "group": True, "only_show_if_degraded": False,
             "components": ["0cwvg0jp5cbg", "fc8y53dfg85y", "q0lbnfc59j35"]}
    incident = {
        "id": "rclfxz2g21ly", "name": "Market data is delayed", "status": "investigating",
        "created_at": "2020-02-11T03:15:01.913Z", "updated_at": "2020-02-11T03:15:02.003Z",
        "monitoring_at": None, "resolved_at": None, "impact": "minor",
        "shortlink": "http://stspg.io/pkvbwp8jppf9", "started_at": "2020-02-11T03:15:01.906Z",
        "page_id": "p0qjfl24znv5",
        "incident_updates": [{
            "id": "dwfsk5ttyvtb", "status": "investigating", "body": "Market data is delayed",
            "incident_id": "rclfxz2g21ly", "created_at": "2020-02-11T03:15:02.000Z",
            "updated_at": "2020-02-11T03:15:02.000Z", "display_at": "2020-02-11T03:15:02.000Z",
            "affected_components": [{"code": "nctwm9tghxh6", "name": "Market data",
                                     "old_status": "operational",
                                     "new_status": "degraded_performance"}],
            "deliver_notifications": True, "custom_tweet": None, "tweet_id": None}],
        "components": [component],
    }
    maintenance = {**incident, "status": "completed", "impact": "maintenance",
                   "incident_updates": [{**incident["incident_updates"][0], "status": "in_progress",
                                         "affected_components": None}],
                   "scheduled_for": "2016-10-19T02:00:00.000-07:00",
                   "scheduled_until": "2016-10-19T03:00:00.000-07:00"}
    status = {"indicator": "none", "description": "All Systems Operational"}

    validator("summary.json").validate({"page": page, "components": [group, component],
                                        "incidents": [incident],
                                        "scheduled_maintenances": [maintenance], "status": status})
    validator("status.json").validate({"page": page, "status": status})


@pytest.mark.parametrize(
    ("definition", "change"),
    [
        ("#component", {"status": "on_fire"}),
        ("#component", {"colour": "green"}),
        ("#component", {"group": True}),
        ("#component", {"created_at": "2015-07-30T20:36:41-07:00"}),
        ("#page", {"updated_at": "2019-06-24 06:07:14"}),
        ("#page", {"id": "Not-A-Code"}),
        ("#status", {"indicator": "green"}),
    ],
)
def test_the_schemas_refuse_what_statuspage_would_not_send(definition, change):
    samples = {
        "#component": {"id": "0cwvg0jp5cbg", "name": "EU West", "status": "operational",
                       "created_at": "2015-07-30T20:36:41.891-07:00",
                       "updated_at": "2018-07-17T13:00:35.378-07:00", "position": 1,
                       "description": None, "showcase": False, "start_date": None, "group_id": None,
                       "page_id": "srhpyqt94yxb", "group": False, "only_show_if_degraded": False},
        "#page": {"id": "srhpyqt94yxb", "name": "Discord", "url": "http://status.discordapp.com",
                  "time_zone": "America/Tijuana", "updated_at": "2019-06-24T06:07:14.473-07:00"},
        "#status": {"indicator": "none", "description": "All Systems Operational"},
    }
    check = validator(definition)
    check.validate(samples[definition])

    with pytest.raises(ValidationError):
        check.validate({**samples[definition], **change})


# --- every endpoint, in Statuspage's shape ----------------------------------------------------


@pytest.mark.parametrize(("endpoint", "schema"), ENDPOINTS.items())
def test_each_endpoint_matches_statuspages_schema(client, stack, endpoint, schema):
    validator(schema).validate(get(client, f"/api/v2/{endpoint}.json"))


@pytest.mark.parametrize(("endpoint", "schema"), ENDPOINTS.items())
def test_each_endpoint_matches_its_schema_on_an_empty_page(client, endpoint, schema):
    validator(schema).validate(get(client, f"/api/v2/{endpoint}.json"))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_also_answers_without_the_json_suffix(client, stack, endpoint):
    assert get(client, f"/api/v2/{endpoint}") == get(client, f"/api/v2/{endpoint}.json")


def test_the_page_object_describes_this_page(client, page_code):
    page = get(client, "/api/v2/status.json")["page"]

    assert (page["id"], page["name"], page["url"], page["time_zone"]) == (
        page_code, "Acme", "http://status.test", "Europe/Berlin"
    )


# --- groups and their children ----------------------------------------------------------------


def test_a_group_appears_as_a_component_listing_its_children(client, stack):
    components = by_id(get(client, "/api/v2/components.json"))
    backend, api, database = stack["backend"], stack["api"], stack["database"]

    group = components[backend.code]
    assert group["group"] is True
    assert group["name"] == "Backend"
    assert group["components"] == [api.code, database.code]
    assert group["group_id"] is None


def test_children_carry_their_group_id_and_top_level_components_none(client, stack):
    components = by_id(get(client, "/api/v2/components.json"))

    assert components[stack["api"].code]["group_id"] == stack["backend"].code
    assert components[stack["database"].code]["group_id"] == stack["backend"].code
    assert components[stack["website"].code]["group_id"] is None
    assert all(item["group"] is False for key, item in components.items() if key != stack["backend"].code)


def test_a_group_shows_the_worst_status_of_its_children(client, stack):
    components = by_id(get(client, "/api/v2/summary.json"))

    assert components[stack["backend"].code]["status"] == "partial_outage"


def test_components_are_listed_in_page_order_each_group_before_its_children(client, stack):
    names = [item["name"] for item in get(client, "/api/v2/components.json")["components"]]

    assert names == ["Backend", "API", "Database", "Website", "Batch jobs"]


def test_component_fields_carry_what_was_set(client, stack, page_code):
    components = by_id(get(client, "/api/v2/components.json"))
    api, website, batch = (components[stack[key].code] for key in ("api", "website", "batch"))

    assert (api["status"], api["description"], api["start_date"], api["position"]) == (
        "partial_outage", "Public API", "2024-08-14", 1
    )
    assert api["page_id"] == page_code
    assert website["showcase"] is False
    # Listed for API clients even while hidden on the page; the flag tells them why.
    assert batch["only_show_if_degraded"] is True


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["operational", "operational"], {"indicator": "none", "description": "All Systems Operational"}),
        (["operational", "partial_outage"], {"indicator": "minor", "description": "Minor Service Outage"}),
        (["operational", "major_outage"], {"indicator": "major", "description": "Partial System Outage"}),
        (["major_outage", "major_outage"], {"indicator": "critical", "description": "Major System Outage"}),
        (["under_maintenance", "operational"],
         {"indicator": "maintenance", "description": "Service Under Maintenance"}),
    ],
)
def test_the_status_follows_the_components(client, session, statuses, expected):
    group = a_group(session, "Backend")
    for number, status in enumerate(statuses):
        a_component(session, f"Service {number}", group if number else None, status=status)

    assert get(client, "/api/v2/status.json")["status"] == expected
    assert get(client, "/api/v2/summary.json")["status"] == expected


# --- times ------------------------------------------------------------------------------------


def test_times_are_iso_8601_with_milliseconds_in_the_page_time_zone(client, stack):
    body = get(client, "/api/v2/summary.json")
    stamps = [body["page"]["updated_at"]]
    stamps += [item[key] for item in body["components"] for key in ("created_at", "updated_at")]

    berlin = ZoneInfo("Europe/Berlin")
    for stamp in stamps:
        assert len(stamp.split("T")[1].split(".")[1][:3]) == 3, stamp
        moment = datetime.fromisoformat(stamp)
        assert moment.utcoffset() == moment.astimezone(berlin).utcoffset(), stamp
    created = datetime.fromisoformat(by_id(body)[stack["api"].code]["created_at"])
    assert abs((created - stack["api"].created_at).total_seconds()) < 0.001


def test_start_date_is_a_plain_date(client, stack):
    api = by_id(get(client, "/api/v2/components.json"))[stack["api"].code]

    assert date.fromisoformat(api["start_date"]) == date(2024, 8, 14)


# --- errors -----------------------------------------------------------------------------------


def test_an_unknown_endpoint_answers_404_in_json(client):
    response = client.get("/api/v2/page.json")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
