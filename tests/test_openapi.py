"""The management API's OpenAPI document stays true: same routes, answers that fit, no 5xx when fuzzed."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from sqlalchemy import select

from statuspage import create_app
from statuspage.accounts import users
from statuspage.api.openapi import document
from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.incidents import lifecycle, templates
from statuspage.models import AlertChannel, Component, ComponentGroup, Incident, IncidentTemplate, Subscriber
from statuspage.notify import alert_routes, subscribers
from statuspage.outbound.guard import Policy
from statuspage.postmortems import editing

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
DOCUMENT_URI = "urn:statuspage:openapi"
SYSTEM = Actor.system("test")

# --- reading the document ----------------------------------------------------------------------


def _rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _iso_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None and bool(date.fromisoformat(value))


# jsonschema checks date-time only with an extra package; these two formats are all the document uses.
FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time", raises=ValueError)(_rfc3339)
FORMATS.checks("date", raises=ValueError)(_iso_date)


def pointer(*parts: str) -> str:
    """A JSON pointer into the document."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def documented_schema(doc: dict, method: str, path: str, status: int) -> str:
    """The JSON pointer of the schema documented for this answer; fails when the status is not documented."""
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, (
        f"{method.upper()} {path} answered {status}, documented: {list(responses)}"
    )
    where = pointer("paths", path, method, "responses", str(status))
    response = responses[str(status)]
    if "$ref" in response:
        where = response["$ref"].removeprefix("#")
        response = doc["components"]["responses"][where.rsplit("/", 1)[1]]
    assert "application/json" in response["content"]
    return where + pointer("content", "application/json", "schema")


def validator(doc: dict, schema_pointer: str) -> Draft202012Validator:
    """A Draft 2020-12 validator for the schema at `schema_pointer`, its `$ref`s resolved in the document."""
    registry = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(doc, DRAFT202012))
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{schema_pointer}"}, registry=registry, format_checker=FORMATS
    )


def assert_documented(response, method: str, path: str) -> Any:
    """The response's status is documented for the operation and its JSON body fits the documented schema."""
    doc = document()
    assert response.mimetype == "application/json"
    body = response.get_json()
    validator(doc, documented_schema(doc, method, path, response.status_code)).validate(body)
    return body


def documented_operations() -> set[tuple[str, str]]:
    doc = document()
    server = doc["servers"][0]["url"]
    return {
        (method.upper(), server + path)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def v1_rules(app) -> Iterator:
    """Every route under /api/v1 except the document itself."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "openapi.openapi_json":
            yield rule


def openapi_path(rule: str) -> str:
    """`/pages/<page_id>` (or `<string:page_id>`) as OpenAPI writes it: `/pages/{page_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def served_operations(app) -> set[tuple[str, str]]:
    return {
        (method, openapi_path(rule.rule))
        for rule in v1_rules(app)
        if not rule.rule.endswith(".json")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


# --- the document itself -----------------------------------------------------------------------


def test_it_is_a_valid_openapi_3_1_document():
    errors = [error.message for error in OPENAPI_31_VALIDATOR.iter_errors(document())]
    assert errors == []


def test_it_is_served_at_api_v1_openapi_json(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == json.loads(json.dumps(document()))


def test_it_documents_every_v1_route_and_nothing_else(app):
    documented, served = documented_operations(), served_operations(app)
    assert not served - documented, f"undocumented (add a Section in api/openapi.py): {sorted(served - documented)}"
    assert not documented - served, f"documented but not served: {sorted(documented - served)}"


def test_every_json_suffixed_route_is_an_alias_of_a_documented_one(app):
    rules = {rule.rule: rule for rule in v1_rules(app)}
    aliases = [rule for path, rule in rules.items() if path.endswith(".json")]
    assert aliases, "the .json aliases older clients send are gone"
    for alias in aliases:
        twin = rules.get(alias.rule.removesuffix(".json"))
        assert twin is not None, f"{alias.rule} has no route without .json"
        assert alias.methods == twin.methods
        assert app.view_functions[alias.endpoint] is app.view_functions[twin.endpoint]


def test_every_operation_says_which_errors_it_answers():
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert "401" in operation["responses"], f"{method.upper()} {path}"
                assert operation.get("operationId"), f"{method.upper()} {path}"


def test_the_schemas_refuse_what_the_api_must_not_answer():
    doc = document()
    check = validator(doc, "/components/schemas/Component")
    good = {
        "id": "abcdefghijkl",
        "page_id": "abcdefghijkl",
        "group_id": None,
        "name": "API",
        "description": None,
        "status": "operational",
        "position": 1,
        "showcase": True,
        "only_show_if_degraded": False,
        "start_date": None,
        "group": False,
        "created_at": "2024-08-14T10:00:00.000+02:00",
        "updated_at": "2024-08-14T10:00:00.000Z",
    }
    check.validate(good)
    for bad in (
        {**good, "status": "broken"},
        {**good, "extra": 1},
        {**good, "updated_at": "yesterday"},
        {**good, "start_date": "14/08/2024"},
        {k: v for k, v in good.items() if k != "name"},
    ):
        with pytest.raises(ValidationError):
            check.validate(bad)


# --- real responses fit the document -----------------------------------------------------------

COMPONENTS = "/pages/{page_id}/components"
COMPONENT = "/pages/{page_id}/components/{component_id}"
GROUPS = "/pages/{page_id}/component-groups"
GROUP = "/pages/{page_id}/component-groups/{group_id}"


def make_group(session, name: str, *components: Component) -> ComponentGroup:
    group = catalog.create_group(session, SYSTEM, name, component_codes=[c.code for c in components])
    session.commit()
    return group


def make_component(session, name: str, group: ComponentGroup | None = None, status: str = "operational"):
    component = catalog.create_component(
        session, SYSTEM, name, status=status, group_code=group.code if group else None
    )
    session.commit()
    return component


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Each key needs a user; argon2 at production cost (a third of a second per user) is not under test here."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def admin(api_token) -> dict[str, str]:
    return api_token("admin")


def test_page_responses_fit_the_document(client, admin, page_code):
    pages = assert_documented(client.get("/api/v1/pages", headers=admin), "get", "/pages")
    assert [p["id"] for p in pages] == [page_code]
    page = assert_documented(
        client.get(f"/api/v1/pages/{page_code}", headers=admin), "get", "/pages/{page_id}"
    )
    assert page["id"] == page_code


def test_component_responses_fit_the_document(client, admin, page_code, session):
    group = make_group(session, "Backend")
    make_component(session, "Database", group, status="major_outage")
    base = f"/api/v1/pages/{page_code}/components"

    created = assert_documented(
        client.post(
            base,
            json={"component": {"name": "API", "description": "REST", "start_date": "2024-08-14"}},
            headers=admin,
        ),
        "post",
        COMPONENTS,
    )
    one = f"{base}/{created['id']}"
    listed = assert_documented(client.get(base, headers=admin), "get", COMPONENTS)
    assert len(listed) == 2
    assert_documented(client.get(one, headers=admin), "get", COMPONENT)
    assert_documented(
        client.patch(
            one, json={"component": {"status": "partial_outage", "group_id": group.code}}, headers=admin
        ),
        "patch",
        COMPONENT,
    )
    assert_documented(
        client.put(one, json={"component": {"name": "Public API"}}, headers=admin), "put", COMPONENT
    )
    assert_documented(client.delete(one, headers=admin), "delete", COMPONENT)


def test_component_group_responses_fit_the_document(client, admin, page_code, session):
    member = make_component(session, "Database")
    base = f"/api/v1/pages/{page_code}/component-groups"

    created = assert_documented(
        client.post(
            base,
            json={
                "component_group": {"name": "Backend", "components": [member.code]},
                "description": "Servers",
            },
            headers=admin,
        ),
        "post",
        GROUPS,
    )
    one = f"{base}/{created['id']}"
    assert_documented(client.get(base, headers=admin), "get", GROUPS)
    assert_documented(client.get(one, headers=admin), "get", GROUP)
    assert_documented(
        client.patch(one, json={"component_group": {"position": 1}}, headers=admin), "patch", GROUP
    )
    assert_documented(
        client.put(one, json={"component_group": {"name": "Core"}}, headers=admin), "put", GROUP
    )
    assert_documented(client.delete(one, headers=admin), "delete", GROUP)


def test_page_profile_and_uptime_responses_fit_the_document(client, admin, page_code, session):
    component = make_component(session, "API", status="partial_outage")
    page = assert_documented(
        client.patch(f"/api/v1/pages/{page_code}", headers=admin, json={"page": {
            "name": "Acme Cloud", "time_zone": "America/New_York", "owner_email": "owner@example.com"}}),
        "patch", "/pages/{page_id}",
    )
    assert page["time_zone"] == "America/New_York"
    uptime = assert_documented(
        client.get(f"/api/v1/pages/{page_code}/components/{component.code}/uptime", headers=admin),
        "get", "/pages/{page_id}/components/{component_id}/uptime",
    )
    assert uptime["id"] == component.code


INCIDENTS = "/pages/{page_id}/incidents"
INCIDENT = INCIDENTS + "/{incident_id}"
POSTMORTEM = INCIDENT + "/postmortem"


def test_incident_template_and_postmortem_responses_fit_the_document(client, admin, page_code, session):
    component = make_component(session, "Database")
    base = f"/api/v1/pages/{page_code}"

    def check(method: str, path: str, **kwargs) -> Any:
        url = base + path.removeprefix("/pages/{page_id}").format(**ids)
        return assert_documented(getattr(client, method)(url, headers=admin, **kwargs), method, path)

    ids: dict[str, str] = {}
    created = check("post", INCIDENTS, json={"incident": {
        "name": "Elevated errors", "body": "Investigating.", "component_ids": [component.code],
        "components": {component.code: "major_outage"}, "impact_override": "major"}})
    ids.update(incident_id=created["id"], update_id=created["incident_updates"][0]["id"])
    check("get", INCIDENTS)
    check("get", INCIDENTS + "/unresolved")
    check("patch", INCIDENT, json={"incident": {"status": "resolved", "body": "Fixed."}})
    check("put", INCIDENT + "/incident_updates/{update_id}", json={"incident_update": {"body": "Looking."}})
    check("put", POSTMORTEM, json={"postmortem": {"body_draft": "## Root cause\n\nA full disk.\n\n## Impact\n\n"
                                                  "Uploads failed.\n\n## Resolution and recovery\n\nFreed space."}})
    published = check("put", POSTMORTEM + "/publish", json={"postmortem": {"notify_subscribers": True}})
    assert published["published_at"] and published["body"]
    assert check("get", INCIDENT)["postmortem_body"]
    check("put", POSTMORTEM + "/revert")
    check("delete", POSTMORTEM)
    check("delete", INCIDENT)

    start = datetime.now(UTC) + timedelta(days=1)
    maintenance = check("post", INCIDENTS, data={
        "incident[name]": "Database upgrade", "incident[scheduled_for]": start.isoformat(),
        "incident[scheduled_until]": (start + timedelta(hours=1)).isoformat(),
        "incident[component_ids][]": component.code})
    assert maintenance["status"] == "scheduled"
    for which in ("upcoming", "scheduled", "active_maintenance"):
        check("get", f"{INCIDENTS}/{which}")

    template = check("post", INCIDENTS.replace("incidents", "incident_templates"),
                     json={"template": {"name": "Fixed", "body": "All good.", "update_status": "resolved"}})
    ids["template_id"] = template["id"]
    check("get", "/pages/{page_id}/incident_templates")
    check("delete", "/pages/{page_id}/incident_templates/{template_id}")


SUBSCRIBERS = "/pages/{page_id}/subscribers"
SUBSCRIBER = SUBSCRIBERS + "/{subscriber_id}"


def test_subscriber_responses_fit_the_document(client, admin, api_token, page_code, session):
    component = make_component(session, "API")
    base = f"/api/v1/pages/{page_code}/subscribers"
    email = assert_documented(
        client.post(base, headers=admin, json={"subscriber": {"email": "ops@example.com"}}), "post", SUBSCRIBERS
    )
    assert "webhook_secret" not in email and email["state"] == "unconfirmed"
    hook = assert_documented(
        client.post(base, headers=admin, data={"subscriber[endpoint]": "https://hooks.example.com/status",
                                               "subscriber[component_ids][]": component.code}),
        "post", SUBSCRIBERS,
    )
    assert len(hook["webhook_secret"]) == 64
    one = f"{base}/{email['id']}"
    assert_documented(client.get(f"{base}?state=all", headers=admin), "get", SUBSCRIBERS)
    assert_documented(client.get(f"{base}/count", headers=admin), "get", SUBSCRIBERS + "/count")
    assert_documented(client.get(one, headers=admin), "get", SUBSCRIBER)
    assert_documented(client.patch(one, headers=admin, json={"component_ids": [component.code]}), "patch", SUBSCRIBER)
    assert_documented(client.post(f"{one}/resend_confirmation", headers=admin), "post",
                      SUBSCRIBER + "/resend_confirmation")
    bulk = {"json": {"subscribers": [email["id"], hook["id"]]}, "headers": admin}
    assert assert_documented(client.post(f"{base}/resend_confirmation", **bulk), "post",
                             SUBSCRIBERS + "/resend_confirmation") == {"resent": 1}
    assert_documented(client.get(f"{base}/histogram_by_state", headers=admin), "get",
                      SUBSCRIBERS + "/histogram_by_state")
    assert assert_documented(client.get(f"{base}/unsubscribed?page=0", headers=admin), "get",
                             SUBSCRIBERS + "/unsubscribed") == []
    assert assert_documented(client.post(f"{base}/reactivate", headers=admin, json={"subscribers": "all"}), "post",
                             SUBSCRIBERS + "/reactivate") == {"reactivated": 0}
    assert_documented(client.delete(one, headers=admin), "delete", SUBSCRIBER)
    assert assert_documented(client.post(f"{base}/unsubscribe", headers=admin, json={"subscribers": "all"}), "post",
                             SUBSCRIBERS + "/unsubscribe") == {"unsubscribed": 1}
    responder = client.post(f"{base}/unsubscribe", headers=api_token("responder"), json={"subscribers": "all"})
    assert_documented(responder, "post", SUBSCRIBERS + "/unsubscribe")
    assert responder.status_code == 403


# Inputs that once answered 500 (found by schemathesis or by reading), each with the 4xx it must get.
BAD_INPUTS = [
    ("get", INCIDENTS + "?q=%00", {}, 400),  # PostgreSQL refuses NUL in a search
    ("get", SUBSCRIBERS + "/count?q=a%00", {}, 400),
    ("get", SUBSCRIBERS + "?page=92233720368547760", {}, 400),  # the offset overflowed the database's integer
    ("patch", "/pages/{page_id}", {"json": {"page": {"time_zone": "America"}}}, 422),  # a folder of zones
    ("post", SUBSCRIBERS, {"json": {"subscriber": {"endpoint": "http://[::1/hook"}}}, 422),  # urlsplit's ValueError
    ("post", INCIDENTS, {"json": {"incident": {"name": "X", "status": []}}}, 422),  # unhashable status
    ("post", INCIDENTS, {"json": {"incident": {"name": "X", "started_at": "1246-06-11T04:59:37Z"}}}, 422),
    ("put", POSTMORTEM, {"json": {"postmortem": {"sections": "AAA"}}}, 422),  # dict("AAA")
]


@pytest.mark.parametrize("method, path, kwargs, status", BAD_INPUTS)
def test_bad_inputs_get_a_documented_4xx(client, admin, page_code, fuzz_targets, method, path, kwargs, status):
    template, _, query = path.partition("?")
    url = "/api/v1" + template.format(**fuzz_targets.path_parameters(page_code)) + (f"?{query}" if query else "")
    response = getattr(client, method)(url, headers=admin, **kwargs)
    assert response.status_code == status, response.get_json()
    assert_documented(response, method, template)


ERROR_CASES = {
    400: ("post", COMPONENTS, {"data": "{not json", "content_type": "application/json"}, "admin"),
    401: ("get", COMPONENTS, {}, None),
    403: ("patch", "/pages/{page_id}", {"json": {"page": {"name": "Taken over"}}}, "responder"),
    404: ("get", COMPONENT, {}, "admin"),
    409: ("post", COMPONENTS, {"json": {"component": {"name": "Existing"}}}, "admin"),
    413: (
        "post",
        COMPONENTS,
        {"data": "x" * (2 * 1024 * 1024 + 1), "content_type": "application/json"},
        "admin",
    ),
    415: ("post", COMPONENTS, {"data": "name=API", "content_type": "text/plain"}, "admin"),
    422: ("patch", GROUP, {"json": {"component_group": {"colour": "red"}}}, "admin"),
}


@pytest.mark.parametrize("status", sorted(ERROR_CASES))
def test_error_responses_fit_the_document(client, api_token, page_code, session, status):
    method, path, kwargs, role = ERROR_CASES[status]
    make_component(session, "Existing")
    group = make_group(session, "Backend")
    url = "/api/v1" + path.format(page_id=page_code, component_id="nosuchthing", group_id=group.code)
    response = getattr(client, method)(url, headers=api_token(role) if role else {}, **kwargs)
    assert response.status_code == status
    body = assert_documented(response, method, path)
    assert body["message"] == body["error"]["message"]


def test_a_rate_limited_answer_fits_the_document(settings, session, api_token, page_code):
    app = create_app(dataclasses.replace(settings, api_rate_limit="1 per minute"))
    client, headers = app.test_client(), api_token("admin")
    assert client.get(f"/api/v1/pages/{page_code}", headers=headers).status_code == 200
    response = client.get(f"/api/v1/pages/{page_code}", headers=headers)
    assert response.status_code == 429
    assert_documented(response, "get", "/pages/{page_id}")
    assert int(response.headers["Retry-After"]) > 0
    app.extensions["statuspage.db"].engine.dispose()


# --- fuzzing the whole document with schemathesis ----------------------------------------------


def _form_pairs(value: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _form_pairs(item, f"{key}[{name}]" if key else str(name))
    elif isinstance(value, list):
        for item in value:
            yield from _form_pairs(item, f"{key}[]")
    elif isinstance(value, bool):
        yield key, "true" if value else "false"
    else:
        yield key, "" if value is None else str(value)


def bracketed_form(_context, value: Any) -> bytes | None:
    """Send generated forms with Statuspage's bracketed keys (`component[name]=API`), as the API reads them.

    Schemathesis would otherwise hand nested objects to the test client, which cannot encode them.
    """
    if value is None:
        return None
    if isinstance(value, bytes | str):
        return value.encode() if isinstance(value, str) else value
    if not isinstance(value, dict):
        return json.dumps(value).encode()
    return urlencode(list(_form_pairs(value, ""))).encode()


schemathesis.serializer("application/x-www-form-urlencoded")(bracketed_form)


@dataclass
class FuzzTargets:
    """Objects whose ids the fuzzer uses, recreated whenever a fuzzed DELETE removed them.

    The incident is resolved and has a postmortem draft, so the postmortem operations get past 404;
    the subscriber is an unconfirmed email subscriber, so resending its confirmation can succeed.
    """

    session: Any
    component_code: str = "fuzzcomp0001"
    group_code: str = "fuzzgroup001"
    incident_code: str = "fuzzincid001"
    update_code: str = "fuzzupdate01"
    template_code: str = "fuzztempl001"
    subscriber_code: str = "fuzzsubsc001"
    alert_channel_code: str = "fuzzalert001"

    def _missing(self, model: Any, code: str) -> bool:
        return self.session.scalar(select(model.id).where(model.code == code)) is None

    def restore(self) -> None:
        session = self.session
        session.commit()
        session.expunge_all()  # objects a fuzzed DELETE removed; SQLite may reuse their ids
        tag = str(session.scalar(select(Component.id).order_by(Component.id.desc())) or 0)
        if self._missing(ComponentGroup, self.group_code):
            group = catalog.create_group(session, SYSTEM, f"Fuzz group {tag}")
            group.code = self.group_code
        if self._missing(Component, self.component_code):
            component = catalog.create_component(session, SYSTEM, f"Fuzz component {tag}")
            component.code = self.component_code
        session.flush()
        if self._missing(Incident, self.incident_code):
            incident = lifecycle.open_incident(session, SYSTEM, name="Fuzz incident", body="Investigating.",
                                               status="resolved", component_codes=[self.component_code],
                                               deliver_notifications=False)
            incident.code = self.incident_code
            incident.updates[0].code = self.update_code
            session.flush()
        incident = session.scalar(select(Incident).where(Incident.code == self.incident_code))
        if incident.status == "resolved" and editing.get(session, incident) is None:
            editing.start(session, SYSTEM, incident, "Europe/Berlin")
        if self._missing(IncidentTemplate, self.template_code):
            template = templates.save_template(session, SYSTEM, name=f"Fuzz template {tag}", title="",
                                         body="We are looking into it.")
            template.code = self.template_code
        if self._missing(Subscriber, self.subscriber_code):
            subscriber = subscribers.create(session, SYSTEM, email=f"fuzz-{tag}@example.com")
            subscriber.code = self.subscriber_code
        if self._missing(AlertChannel, self.alert_channel_code):
            route = alert_routes.create_route(session, SYSTEM, name="Fuzz alerts", kind="email",
                                              target="fuzz-alerts@example.com", policy=Policy(), now=datetime.now(UTC))
            route.code = self.alert_channel_code
        session.commit()

    def path_parameters(self, page_code: str) -> dict[str, str]:
        return {"page_id": page_code, "component_id": self.component_code, "group_id": self.group_code,
                "incident_id": self.incident_code, "update_id": self.update_code,
                "template_id": self.template_code, "subscriber_id": self.subscriber_code,
                "alert_channel_id": self.alert_channel_code}


@pytest.fixture
def fuzz_targets(session) -> FuzzTargets:
    targets = FuzzTargets(session)
    targets.restore()
    return targets


SCHEMA = schemathesis.openapi.from_dict(document())
SCHEMA.config.generation.update(with_security_parameters=False)
# Random requests per operation (hypothesis' max_examples), on top of the coverage phase's cases, which
# schemathesis derives from the document and which are most of the run. `make fuzz` asks for many more.
FUZZ_EXAMPLES = int(os.environ.get("STATUSPAGE_FUZZ_EXAMPLES", "15"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@SCHEMA.parametrize()
def test_no_request_gets_a_server_error_or_an_undocumented_answer(case, app, admin, page_code, fuzz_targets):
    if case.method == "DELETE" or case.path.endswith("/unsubscribe"):  # only these remove the targets
        fuzz_targets.restore()
    for name, value in fuzz_targets.path_parameters(page_code).items():
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = value
    case.call_and_validate(
        app=app,
        headers=admin,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
