"""The management API v1 for components and groups: Statuspage's shapes and auth, and no bad input saved."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.models import AuditEntry, Component, ComponentGroup, ComponentStatus, StatusChange, User
from statuspage.page.record import current_version

SYSTEM = Actor.system("test")
COMPONENT_KEYS = {"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
                  "start_date", "group_id", "page_id", "group", "only_show_if_degraded"}
GROUP_KEYS = {"id", "page_id", "name", "description", "components", "position", "created_at", "updated_at"}


@dataclass
class Api:
    """A client of the management API with one key, for one page: `api.post("components", json=...)`."""

    client: FlaskClient
    page_code: str
    headers: dict[str, str]

    def url(self, path: str = "") -> str:
        return f"/api/v1/pages/{self.page_code}" + (f"/{path}" if path else "")

    def __getattr__(self, method: str):
        if method not in {"get", "post", "patch", "put", "delete"}:
            raise AttributeError(method)

        def send(path: str = "", **kwargs: Any):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.client, method)(self.url(path), headers=headers, **kwargs)

        return send



@pytest.fixture
def admin(client, api_token, page_code) -> Api:
    return Api(client, page_code, api_token("admin"))


@pytest.fixture
def responder(client, api_token, page_code) -> Api:
    return Api(client, page_code, api_token("responder"))


@pytest.fixture
def anonymous(client, page_code) -> Api:
    return Api(client, page_code, {})


# --- builders and readers ----------------------------------------------------------------------


def a_group(session: Session, name: str = "Backend", *members: Component) -> ComponentGroup:
    group = catalog.create_group(session, SYSTEM, name, component_codes=[m.code for m in members])
    session.commit()
    return group


def a_component(
    session: Session, name: str = "API", group: ComponentGroup | None = None, status: str = "operational"
) -> Component:
    component = catalog.create_component(
        session, SYSTEM, name, status=status, group_code=group.code if group else None
    )
    session.commit()
    return component


def fresh(session: Session) -> Session:
    """The session, with what the app committed since visible."""
    session.commit()
    return session


def count(session: Session, model) -> int:
    return fresh(session).scalar(select(func.count()).select_from(model))


def stored(session: Session, component: Component) -> Component:
    fresh(session).refresh(component)
    return component


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """The response is a JSON 4xx in our error shape, beside Statuspage's `message`."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "message"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["message"] == body["error"]["message"] and body["message"]
    if code is not None:
        assert body["error"]["code"] == code
    if field is not None:
        assert body["error"]["field"] == field
    return body


# --- authentication ----------------------------------------------------------------------------


def test_it_refuses_a_request_without_a_key(anonymous):
    assert_error(anonymous.get("components"), 401, "unauthorized")


def test_it_refuses_an_unknown_key(anonymous):
    assert_error(anonymous.get("components", headers={"Authorization": "OAuth sp_nosuchkey"}), 401)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "OAuth", "sp_token_without_scheme"])
def test_it_refuses_an_authorization_header_of_another_form(anonymous, header):
    assert_error(anonymous.get("components", headers={"Authorization": header}), 401, "unauthorized")


@pytest.mark.parametrize("how", ["OAuth", "Bearer", "oauth", "api_key"])
def test_it_accepts_the_key_as_oauth_bearer_or_api_key(client, api_token, page_code, how):
    raw = api_token("admin")["Authorization"].split()[1]
    url = f"/api/v1/pages/{page_code}/components"
    if how == "api_key":
        response = client.get(url, query_string={"api_key": raw})
    else:
        response = client.get(url, headers={"Authorization": f"{how} {raw}"})
    assert response.status_code == 200
    assert response.get_json() == []


def test_it_accepts_a_header_and_an_api_key_that_agree(admin):
    raw = admin.headers["Authorization"].split()[1]
    assert admin.get("components", query_string={"api_key": raw}).status_code == 200


def test_it_refuses_a_header_and_an_api_key_that_disagree(admin, api_token):
    other = api_token("responder")["Authorization"].split()[1]
    assert_error(admin.get("components", query_string={"api_key": other}), 401, "unauthorized")


def test_it_refuses_the_key_of_a_deactivated_user(admin, session):
    fresh(session).scalars(select(User).where(User.email == "api-admin@example.com")).one().active = False
    session.commit()
    assert_error(admin.get("components"), 401)


def test_it_answers_404_for_an_unknown_page_id(admin, session):
    a_component(session)
    admin.page_code = "nosuchpage00"
    for response in (admin.get(), admin.get("components"), admin.post("components", json={"component": {}})):
        assert_error(response, 404, "not_found", "page_id")


def test_the_json_suffix_works_like_the_plain_path(admin, session):
    component = a_component(session)
    assert admin.get("components.json").get_json() == admin.get("components").get_json()
    assert admin.get(f"components/{component.code}.json").get_json()["id"] == component.code
    assert admin.post("components.json", json={"component": {"name": "Web"}}).status_code == 201


# --- pages -------------------------------------------------------------------------------------


def test_it_lists_the_one_page(client, admin, page_code):
    pages = client.get("/api/v1/pages", headers=admin.headers).get_json()
    assert [(p["id"], p["name"], p["time_zone"]) for p in pages] == [(page_code, "Acme", "Europe/Berlin")]


def test_listing_pages_needs_a_key(client):
    assert_error(client.get("/api/v1/pages"), 401, "unauthorized")
    assert_error(client.get("/api/v1/pages", headers={"Authorization": "OAuth nope"}), 401, "unauthorized")


def test_a_responder_reads_the_page_profile(responder, page_code):
    page = responder.get().get_json()
    assert {"id", "name", "url", "time_zone", "updated_at", "allow_email_subscribers",
            "notifications_from_email"} <= set(page)
    assert (page["id"], page["url"]) == (page_code, "http://status.test")


# --- components: create, read, update, delete --------------------------------------------------


def test_it_creates_a_component_and_answers_201_with_its_shape(admin, page_code, session):
    sent = {"name": "  Public API ", "description": "REST and GraphQL", "status": "degraded_performance",
            "showcase": False, "only_show_if_degraded": True, "start_date": "2024-08-14"}
    response = admin.post("components", json={"component": sent})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == COMPONENT_KEYS
    assert {key: body[key] for key in sent} == {**sent, "name": "Public API"}
    assert (body["group_id"], body["page_id"], body["group"], body["position"]) == (None, page_code, False, 1)
    assert body["created_at"].endswith(("+01:00", "+02:00"))  # Europe/Berlin, with milliseconds
    component = fresh(session).scalars(select(Component)).one()
    assert (component.code, component.status) == (body["id"], ComponentStatus.DEGRADED_PERFORMANCE)


def test_a_new_component_starts_operational_and_showcased(admin):
    body = admin.post("components", json={"component": {"name": "API"}}).get_json()
    assert (body["status"], body["showcase"], body["description"]) == ("operational", True, None)


def test_a_new_component_goes_last_in_its_group_unless_a_position_is_given(admin, session):
    group = a_group(session, "Backend", a_component(session, "Database"))
    last = admin.post("components", json={"component": {"name": "Queue", "group_id": group.code}}).get_json()
    first = admin.post(
        "components", json={"component": {"name": "Cache", "group_id": group.code, "position": 1}}
    ).get_json()
    assert (last["group_id"], last["position"], first["position"]) == (group.code, 2, 1)
    assert admin.get(f"component-groups/{group.code}").get_json()["components"] == [
        first["id"],
        fresh(session).scalars(select(Component.code).where(Component.name == "Database")).one(),
        last["id"],
    ]


def test_it_lists_components_in_page_order(admin, session):
    website = a_component(session, "Website")
    backend = a_group(session, "Backend")
    database = a_component(session, "Database", backend)
    queue = a_component(session, "Queue", backend)
    status_site = a_component(session, "Status site")
    listed = admin.get("components").get_json()
    assert [c["id"] for c in listed] == [website.code, database.code, queue.code, status_site.code]
    assert [c["group_id"] for c in listed] == [None, backend.code, backend.code, None]
    assert all(set(c) == COMPONENT_KEYS for c in listed)


def test_it_gets_one_component(responder, session):
    component = a_component(session, "API", status="partial_outage")
    body = responder.get(f"components/{component.code}").get_json()
    assert (body["id"], body["name"], body["status"]) == (component.code, "API", "partial_outage")


def test_it_renames_and_describes_a_component(admin, session):
    component = a_component(session, "API")
    body = admin.patch(
        f"components/{component.code}", json={"component": {"name": "Public API", "description": "v2"}}
    ).get_json()
    assert (body["name"], body["description"]) == ("Public API", "v2")
    assert (stored(session, component).name, component.description) == ("Public API", "v2")


def test_put_changes_only_the_fields_it_is_given(admin, session):
    component = a_component(session, "API", status="major_outage")
    body = admin.put(f"components/{component.code}", json={"component": {"showcase": False}}).get_json()
    assert (body["name"], body["status"], body["showcase"]) == ("API", "major_outage", False)


def test_it_moves_a_component_into_a_group_at_its_end(admin, session):
    backend = a_group(session, "Backend", a_component(session, "Database"))
    component = a_component(session, "Queue")
    body = admin.patch(
        f"components/{component.code}", json={"component": {"group_id": backend.code}}
    ).get_json()
    assert (body["group_id"], body["position"]) == (backend.code, 2)
    assert admin.get(f"component-groups/{backend.code}").get_json()["components"][-1] == component.code


def test_it_moves_a_component_between_groups(admin, session):
    backend, frontend = a_group(session, "Backend"), a_group(session, "Frontend")
    component = a_component(session, "Cache", backend)
    admin.patch(f"components/{component.code}", json={"component": {"group_id": frontend.code}})
    assert admin.get(f"component-groups/{backend.code}").get_json()["components"] == []
    assert admin.get(f"component-groups/{frontend.code}").get_json()["components"] == [component.code]


@pytest.mark.parametrize("top_level", [None, ""])
def test_a_null_or_empty_group_id_moves_a_component_to_the_top_level(admin, session, top_level):
    component = a_component(session, "Cache", a_group(session, "Backend"))
    body = admin.patch(f"components/{component.code}", json={"component": {"group_id": top_level}}).get_json()
    assert body["group_id"] is None
    assert stored(session, component).group_id is None


def test_a_position_reorders_the_siblings(admin, session):
    backend = a_group(session, "Backend")
    a_component(session, "A", backend)
    a_component(session, "B", backend)
    third = a_component(session, "C", backend)
    admin.patch(f"components/{third.code}", json={"component": {"position": 1}})
    listed = admin.get("components").get_json()
    assert [(c["name"], c["position"]) for c in listed] == [("C", 1), ("A", 2), ("B", 3)]


def test_it_deletes_a_component_with_its_history(admin, session):
    component = a_component(session, "API", status="major_outage")
    response = admin.delete(f"components/{component.code}")
    assert response.status_code == 200
    assert (response.get_json()["id"], response.get_json()["status"]) == (component.code, "major_outage")
    assert_error(admin.get(f"components/{component.code}"), 404, "not_found", "component_id")
    assert (count(session, Component), count(session, StatusChange)) == (0, 0)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "component.delete")).one()
    assert (entry.target_code, entry.actor, entry.detail["source"]) == (
        component.code,
        "api-admin@example.com",
        "api",
    )


# --- a status change ---------------------------------------------------------------------------


def test_a_status_change_writes_history_and_audit_and_bumps_the_page_version(responder, session):
    component = a_component(session, "API")
    version = current_version(fresh(session))
    body = responder.patch(
        f"components/{component.code}", json={"component": {"status": "major_outage"}}
    ).get_json()
    assert body["status"] == "major_outage"

    change = fresh(session).scalars(select(StatusChange).where(StatusChange.from_status.is_not(None))).one()
    assert (change.component_id, change.from_status, change.to_status) == (
        component.id,
        ComponentStatus.OPERATIONAL,
        ComponentStatus.MAJOR_OUTAGE,
    )
    assert (change.source, change.user.email) == ("api", "api-responder@example.com")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "component.update")).one()
    assert entry.target_code == component.code
    assert entry.detail["status"] == {"from": "operational", "to": "major_outage"}
    assert current_version(session) > version


def test_setting_the_same_status_again_adds_no_history(admin, session):
    component = a_component(session, "API", status="partial_outage")
    admin.patch(f"components/{component.code}", json={"component": {"status": "partial_outage"}})
    assert count(session, StatusChange) == 1  # the first status, from creation


# --- component groups --------------------------------------------------------------------------


def test_it_creates_a_group_with_its_components_and_statuspages_description(admin, page_code, session):
    database, queue = a_component(session, "Database"), a_component(session, "Queue")
    response = admin.post(
        "component-groups",
        json={
            "component_group": {"name": "Backend", "components": [queue.code, database.code]},
            "description": "Servers and storage",
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == GROUP_KEYS
    assert (body["name"], body["description"], body["components"], body["page_id"]) == (
        "Backend",
        "Servers and storage",
        [queue.code, database.code],
        page_code,
    )
    assert stored(session, database).group.code == body["id"]


def test_a_description_inside_the_group_object_wins(admin):
    body = admin.post(
        "component-groups",
        json={"component_group": {"name": "Backend", "description": "inner"}, "description": "outer"},
    ).get_json()
    assert body["description"] == "inner"


def test_it_lists_and_gets_groups_in_page_order(responder, session):
    a_component(session, "Website")
    backend, frontend = a_group(session, "Backend"), a_group(session, "Frontend")
    listed = responder.get("component-groups").get_json()
    assert [g["id"] for g in listed] == [backend.code, frontend.code]
    assert [g["position"] for g in listed] == [2, 3]  # the loose component is first on the page
    assert responder.get(f"component-groups/{frontend.code}").get_json() == listed[1]


def test_it_renames_and_reorders_a_group(admin, session):
    backend, frontend = a_group(session, "Backend"), a_group(session, "Frontend")
    body = admin.patch(
        f"component-groups/{frontend.code}", json={"component_group": {"name": "Web", "position": 1}}
    ).get_json()
    assert (body["name"], body["position"]) == ("Web", 1)
    assert [g["id"] for g in admin.get("component-groups").get_json()] == [frontend.code, backend.code]


def test_updating_a_groups_members_moves_the_left_out_ones_to_the_top_level(admin, session):
    database, queue = a_component(session, "Database"), a_component(session, "Queue")
    backend = a_group(session, "Backend", database, queue)
    body = admin.put(
        f"component-groups/{backend.code}", json={"component_group": {"components": [queue.code]}}
    ).get_json()
    assert body["components"] == [queue.code]
    assert stored(session, database).group_id is None


def test_deleting_a_group_moves_its_components_to_the_top_level(admin, session):
    database, queue = a_component(session, "Database"), a_component(session, "Queue")
    backend = a_group(session, "Backend", database, queue)
    response = admin.delete(f"component-groups/{backend.code}")
    assert response.status_code == 200
    assert response.get_json()["components"] == [database.code, queue.code]
    assert count(session, ComponentGroup) == 0
    listed = admin.get("components").get_json()
    assert [(c["name"], c["group_id"]) for c in listed] == [("Database", None), ("Queue", None)]


# --- bad input: a 4xx in our error shape, and nothing saved -------------------------------------


def test_it_rejects_an_unknown_status(admin, session):
    component = a_component(session, "API")
    body = assert_error(
        admin.patch(f"components/{component.code}", json={"component": {"status": "down"}}),
        422,
        "invalid",
        "status",
    )
    assert "operational" in body["message"]
    assert stored(session, component).status == ComponentStatus.OPERATIONAL
    assert count(session, StatusChange) == 1


def test_it_rejects_an_unknown_status_on_create(admin, session):
    assert_error(
        admin.post("components", json={"component": {"name": "API", "status": ""}}), 422, field="status"
    )
    assert count(session, Component) == 0


@pytest.mark.parametrize("name", ["", "   ", None, 42, "x" * 256])
def test_it_rejects_an_empty_or_over_long_component_name(admin, session, name):
    assert_error(admin.post("components", json={"component": {"name": name}}), 422, "invalid", "name")
    component = a_component(session, "API")
    assert_error(
        admin.patch(f"components/{component.code}", json={"component": {"name": name}}),
        422,
        "invalid",
        "name",
    )
    assert [c.name for c in fresh(session).scalars(select(Component))] == ["API"]


def test_it_accepts_a_name_of_255_characters(admin):
    assert admin.post("components", json={"component": {"name": "x" * 255}}).status_code == 201
    assert admin.post("component-groups", json={"component_group": {"name": "y" * 255}}).status_code == 201


@pytest.mark.parametrize("name", ["", "  ", "x" * 256])
def test_it_rejects_an_empty_or_over_long_group_name(admin, session, name):
    assert_error(admin.post("component-groups", json={"component_group": {"name": name}}), 422, field="name")
    group = a_group(session, "Backend")
    assert_error(
        admin.patch(f"component-groups/{group.code}", json={"component_group": {"name": name}}),
        422,
        field="name",
    )
    assert [g.name for g in fresh(session).scalars(select(ComponentGroup))] == ["Backend"]


def test_it_rejects_a_duplicate_component_name_in_the_same_group(admin, session):
    backend = a_group(session, "Backend")
    a_component(session, "Database", backend)
    assert_error(
        admin.post("components", json={"component": {"name": "database", "group_id": backend.code}}),
        409,
        "conflict",
        "name",
    )
    assert count(session, Component) == 1


def test_the_same_component_name_is_fine_in_another_group(admin, session):
    a_component(session, "Database", a_group(session, "Backend"))
    assert admin.post("components", json={"component": {"name": "Database"}}).status_code == 201


def test_it_rejects_a_rename_or_move_onto_a_taken_name(admin, session):
    backend = a_group(session, "Backend")
    a_component(session, "Database", backend)
    loose = a_component(session, "Database")
    other = a_component(session, "Queue")
    assert_error(admin.patch(f"components/{loose.code}", json={"component": {"group_id": backend.code}}), 409)
    assert_error(admin.patch(f"components/{other.code}", json={"component": {"name": "DATABASE"}}), 409)
    assert (stored(session, loose).group_id, stored(session, other).name) == (None, "Queue")


def test_it_rejects_a_duplicate_group_name(admin, session):
    a_group(session, "Backend")
    frontend = a_group(session, "Frontend")
    assert_error(
        admin.post("component-groups", json={"component_group": {"name": "BACKEND"}}), 409, "conflict"
    )
    assert_error(
        admin.patch(f"component-groups/{frontend.code}", json={"component_group": {"name": "Backend"}}),
        409,
        "conflict",
        "name",
    )
    assert sorted(g.name for g in fresh(session).scalars(select(ComponentGroup))) == ["Backend", "Frontend"]


def test_a_group_that_would_hold_two_components_of_one_name_is_not_created(admin, session):
    loose = a_component(session, "Database")
    grouped = a_component(session, "Database", a_group(session, "Legacy"))
    assert_error(
        admin.post(
            "component-groups",
            json={"component_group": {"name": "Backend", "components": [loose.code, grouped.code]}},
        ),
        409,
        "conflict",
    )
    assert count(session, ComponentGroup) == 1
    assert stored(session, loose).group_id is None


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_it_answers_404_for_an_unknown_component_id(admin, method):
    response = getattr(admin, method)(
        "components/nosuchthing", json={"component": {"status": "major_outage"}}
    )
    assert_error(response, 404, "not_found", "component_id")


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_it_answers_404_for_an_unknown_group_id(admin, method):
    response = getattr(admin, method)("component-groups/nosuchthing", json={"component_group": {"name": "X"}})
    assert_error(response, 404, "not_found", "id")


def test_it_answers_404_for_an_unknown_group_named_in_a_component(admin, session):
    assert_error(
        admin.post("components", json={"component": {"name": "API", "group_id": "nosuchgroup"}}),
        404,
        "not_found",
        "group_id",
    )
    component = a_component(session, "API")
    assert_error(
        admin.patch(f"components/{component.code}", json={"component": {"group_id": "nosuchgroup"}}),
        404,
        "not_found",
    )
    assert count(session, Component) == 1


def test_it_answers_404_for_an_unknown_member_of_a_new_group_and_creates_nothing(admin, session):
    database = a_component(session, "Database")
    assert_error(
        admin.post(
            "component-groups",
            json={"component_group": {"name": "Backend", "components": [database.code, "nosuchthing"]}},
        ),
        404,
        "not_found",
    )
    assert count(session, ComponentGroup) == 0
    assert stored(session, database).group_id is None


@pytest.mark.parametrize("body", ["{not json", '{"component": {"name": "API"}', "", "\xff"])
def test_it_rejects_malformed_json(admin, session, body):
    response = admin.post("components", data=body.encode("latin-1"), content_type="application/json")
    assert_error(response, 400, "bad_request")
    assert count(session, Component) == 0


@pytest.mark.parametrize("body", ["[]", '"component"', "42", "null", '[{"component": {"name": "API"}}]'])
def test_it_rejects_json_that_is_not_an_object(admin, session, body):
    assert_error(admin.post("components", data=body, content_type="application/json"), 400, "bad_request")
    assert count(session, Component) == 0


def test_it_rejects_json_nested_deeper_than_it_parses(admin, session):
    deep = '{"component": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert_error(admin.post("components", data=deep, content_type="application/json"), 400, "bad_request")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream"])
def test_it_rejects_a_body_of_another_content_type(admin, session, content_type):
    response = admin.post("components", data='{"component": {"name": "API"}}', content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert count(session, Component) == 0


def test_it_rejects_a_body_over_two_megabytes(admin, session):
    response = admin.post("components", data=b"x" * (2 * 1024 * 1024 + 1), content_type="application/json")
    assert_error(response, 413)


@pytest.mark.parametrize("body", [{}, {"name": "API"}, {"component": "API"}, {"component": ["API"]}])
def test_it_rejects_a_body_without_the_wrapped_object(admin, session, body):
    assert_error(admin.post("components", json=body), 422, "invalid", "component")
    assert count(session, Component) == 0


def test_it_rejects_unknown_fields_and_names_the_first(admin, session):
    body = assert_error(
        admin.post(
            "components", json={"component": {"name": "API", "colour": "red", "automation_email": "x"}}
        ),
        422,
        "invalid",
        "automation_email",
    )
    assert "colour" in body["message"]
    assert_error(
        admin.post("component-groups", json={"component_group": {"name": "Backend"}, "colour": "red"}),
        422,
        "invalid",
        "colour",
    )
    assert_error(
        admin.post("component-groups", json={"component_group": {"name": "Backend", "colour": "red"}}),
        422,
        "invalid",
        "colour",
    )
    assert (count(session, Component), count(session, ComponentGroup)) == (0, 0)


WRONG_KINDS = [
    ("showcase", "maybe"), ("showcase", 1), ("only_show_if_degraded", None), ("position", 0),
    ("position", "first"), ("position", 2.5), ("position", True), ("start_date", "yesterday"),
    ("start_date", 20240814), ("description", "x" * 2001), ("description", ["a"]), ("group_id", 123),
    ("group_id", {"id": "x"}), ("status", ["operational"]), ("name", {"en": "API"}),
]


@pytest.mark.parametrize(("field", "value"), WRONG_KINDS)
def test_it_rejects_a_value_of_the_wrong_kind(admin, session, field, value):
    fields = {"name": "API", field: value}
    assert_error(admin.post("components", json={"component": fields}), 422, "invalid", field)
    component = a_component(session, "Web")
    assert_error(
        admin.patch(f"components/{component.code}", json={"component": {field: value}}), 422, field=field
    )
    assert [(c.name, c.showcase, c.position) for c in fresh(session).scalars(select(Component))] == [
        ("Web", True, 1)
    ]


@pytest.mark.parametrize("members", ["not-a-list", [1, 2], [None]])
def test_it_rejects_group_members_that_are_not_a_list_of_ids(admin, session, members):
    assert_error(
        admin.post("component-groups", json={"component_group": {"name": "B", "components": members}}),
        422,
        "invalid",
        "components",
    )
    assert count(session, ComponentGroup) == 0


def test_a_rejected_change_keeps_every_field_as_it_was(admin, session):
    component = a_component(session, "API")
    assert_error(
        admin.patch(
            f"components/{component.code}",
            json={"component": {"name": "Renamed", "description": "new", "status": "down"}},
        ),
        422,
    )
    assert (stored(session, component).name, component.description) == ("API", None)
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "component"))
    assert actions.all() == ["component.create"]


@pytest.mark.parametrize("text", ["nul\x00in the middle", "lone \ud800 surrogate"])
def test_it_rejects_text_no_database_can_store(admin, session, text):
    assert_error(admin.post("components", json={"component": {"name": text}}), 422, "invalid", "name")
    assert_error(
        admin.post("component-groups", json={"component_group": {"name": "B", "components": [text]}}),
        422,
        "invalid",
        "components",
    )
    assert (count(session, Component), count(session, ComponentGroup)) == (0, 0)


def test_it_rejects_a_nul_character_in_a_form(admin, session):
    assert_error(admin.post("components", data={"component[name]": "a\x00b"}), 422, "invalid", "name")
    assert count(session, Component) == 0


def test_an_id_no_database_can_store_is_not_found(admin):
    assert_error(admin.get("components/abc%00def"), 404, "not_found", "component_id")
    assert_error(admin.patch("component-groups/abc%00def", json={"component_group": {}}), 404, "not_found")


def test_an_unsupported_method_answers_405_in_the_error_shape(admin, session):
    component = a_component(session)
    assert_error(admin.post(f"components/{component.code}", json={}), 405)


# --- responders --------------------------------------------------------------------------------


def test_a_responder_may_change_a_components_status(responder, session):
    component = a_component(session, "API")
    response = responder.patch(
        f"components/{component.code}", json={"component": {"status": "partial_outage"}}
    )
    assert response.status_code == 200
    assert stored(session, component).status == ComponentStatus.PARTIAL_OUTAGE


def test_a_responder_creates_renames_describes_reorders_moves_and_deletes_components(responder, session):
    backend = a_group(session, "Backend")
    a_component(session, "Website")
    created = responder.post("components", json={"component": {"name": "API", "status": "degraded_performance"}})
    assert created.status_code == 201
    code = created.get_json()["id"]

    changed = responder.patch(f"components/{code}", json={"component": {
        "name": "Public API", "description": "REST", "position": 1}})
    assert (changed.status_code, changed.get_json()["position"]) == (200, 1)
    moved = responder.patch(f"components/{code}", json={"component": {"group_id": backend.code}})
    assert moved.get_json()["group_id"] == backend.code
    stored_component = fresh(session).scalars(select(Component).where(Component.code == code)).one()
    assert (stored_component.name, stored_component.description) == ("Public API", "REST")

    assert responder.delete(f"components/{code}").status_code == 200
    assert [c.name for c in fresh(session).scalars(select(Component))] == ["Website"]
    actions = fresh(session).scalars(
        select(AuditEntry.action).join(User, AuditEntry.user_id == User.id)
        .where(User.email == "api-responder@example.com").order_by(AuditEntry.id)
    ).all()
    assert actions == ["component.create", "component.update", "component.update", "component.delete"]


def test_a_responder_creates_changes_and_deletes_groups(responder, session):
    api = a_component(session, "API")
    created = responder.post("component-groups", json={"component_group": {"name": "Web", "components": [api.code]}})
    assert created.status_code == 201
    code = created.get_json()["id"]

    changed = responder.patch(f"component-groups/{code}", json={"component_group": {"name": "Frontend"}},)
    assert changed.get_json()["name"] == "Frontend"
    assert responder.delete(f"component-groups/{code}").status_code == 200
    assert fresh(session).scalars(select(ComponentGroup)).all() == []
    assert stored(session, api).group_id is None


def test_a_responder_may_not_change_the_page_profile(responder, page_code):
    assert_error(responder.patch(json={"page": {"name": "Taken over"}}), 403, "forbidden")
    assert responder.get().get_json()["name"] == "Acme"


def test_a_responder_is_refused_the_page_profile_before_the_body_is_read(responder):
    assert_error(responder.patch(data="{not json", content_type="application/json"), 403)


# --- form-encoded bodies -----------------------------------------------------------------------


def test_it_creates_a_component_from_a_form(admin, session):
    group = a_group(session, "Backend")
    response = admin.post(
        "components",
        data={
            "component[name]": "Queue",
            "component[status]": "major_outage",
            "component[showcase]": "false",
            "component[group_id]": group.code,
            "component[description]": "",
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (body["name"], body["status"], body["showcase"], body["group_id"], body["description"]) == (
        "Queue",
        "major_outage",
        False,
        group.code,
        None,
    )


def test_it_creates_a_group_from_a_form_with_a_list_of_members(admin, session):
    database, queue = a_component(session, "Database"), a_component(session, "Queue")
    response = admin.post(
        "component-groups",
        data=MultiDict(
            [
                ("component_group[name]", "Backend"),
                ("component_group[components][]", database.code),
                ("component_group[components][]", queue.code),
                ("description", "Servers"),
            ]
        ),
    )
    assert response.status_code == 201
    assert (response.get_json()["components"], response.get_json()["description"]) == (
        [database.code, queue.code],
        "Servers",
    )


def test_a_responder_changes_a_status_with_a_form(responder, session):
    component = a_component(session, "API")
    response = responder.patch(
        f"components/{component.code}", data={"component[status]": "under_maintenance"}
    )
    assert response.get_json()["status"] == "under_maintenance"


def test_it_rejects_form_keys_that_contradict_each_other(admin, session):
    response = admin.post("components", data={"component[name]": "API", "component[name][x]": "y"})
    assert_error(response, 400, "bad_request")
    assert count(session, Component) == 0


def test_it_rejects_unknown_fields_in_a_form(admin, session):
    assert_error(
        admin.post("components", data={"component[name]": "API", "component[colour]": "red"}),
        422,
        "invalid",
        "colour",
    )
    assert count(session, Component) == 0


# --- names stay unique when requests race ------------------------------------------------------


def post_at_once(url: str, headers: dict[str, str], bodies: list[dict]) -> list[tuple[int, dict]]:
    """POST every body over real HTTP from its own thread, released together; (status, JSON) of each."""
    barrier = threading.Barrier(len(bodies))

    def post(body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={**headers, "Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


@pytest.mark.parametrize("names", [["Race 0"] * 8, ["Race 0", "RACE 0", "race 0", "Race 0 "] * 2])
def test_eight_simultaneous_creations_of_one_name_make_one_component(live_server, api_token, page_code,
                                                                      session, names):
    url = f"{live_server}/api/v1/pages/{page_code}/components"

    answers = post_at_once(url, api_token("responder"), [{"component": {"name": n}} for n in names])

    statuses = sorted(status for status, _body in answers)
    assert statuses == [201] + [409] * 7, answers
    assert all(body["error"]["code"] == "conflict" for status, body in answers if status == 409)
    assert fresh(session).scalars(select(func.lower(Component.name))).all() == ["race 0"]


def test_eight_simultaneous_creations_of_one_name_in_a_group_make_one_component(live_server, api_token,
                                                                                 page_code, session):
    group = a_group(session, "Backend")
    a_component(session, "Race 0")  # the same name at the top level is another scope
    url = f"{live_server}/api/v1/pages/{page_code}/components"

    answers = post_at_once(url, api_token("admin"),
                           [{"component": {"name": "Race 0", "group_id": group.code}}] * 8)

    assert sorted(status for status, _body in answers) == [201] + [409] * 7, answers
    assert len(fresh(session).scalars(select(Component).where(Component.group_id == group.id)).all()) == 1


def test_eight_simultaneous_creations_of_one_group_make_one_group(live_server, api_token, page_code, session):
    url = f"{live_server}/api/v1/pages/{page_code}/component-groups"

    answers = post_at_once(url, api_token("admin"), [{"component_group": {"name": "Backend"}}] * 8)

    assert sorted(status for status, _body in answers) == [201] + [409] * 7, answers
    assert fresh(session).scalars(select(ComponentGroup.name)).all() == ["Backend"]


def test_the_winner_of_a_race_still_takes_a_status_change(live_server, api_token, page_code, admin,
                                                          session):
    url = f"{live_server}/api/v1/pages/{page_code}/components"
    answers = post_at_once(url, api_token("responder"), [{"component": {"name": "Race 0"}}] * 4)
    winner = next(body for status, body in answers if status == 201)

    response = admin.patch(f"components/{winner['id']}", json={"component": {"status": "major_outage"}})

    assert response.status_code == 200
    assert response.get_json()["status"] == "major_outage"
