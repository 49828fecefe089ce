"""The responders' admin: who may do what, every action, bad input and CSRF."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.models import AuditEntry, Component, ComponentGroup, ComponentStatus, StatusChange
from statuspage.page.record import current_version
from tests.conftest import csrf_token, post_form

ACTOR = Actor.system("test")



# --- builders ---------------------------------------------------------------------------------


def a_group(session: Session, name: str = "Backend") -> ComponentGroup:
    group = catalog.create_group(session, ACTOR, name)
    session.commit()
    return group


def a_component(session: Session, name: str = "Website", group: ComponentGroup | None = None,
                **fields) -> Component:
    component = catalog.create_component(session, ACTOR, name,
                                         group_code=group.code if group else None, **fields)
    session.commit()
    return component


def reload(session: Session, model, id_: int):
    session.expire_all()
    return session.get(model, id_)


def count(session: Session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def snapshot(session: Session) -> tuple:
    """Everything an admin action could change."""
    session.expire_all()
    components = session.execute(
        select(Component.name, Component.description, Component.status, Component.group_id,
               Component.position).order_by(Component.id)
    ).all()
    groups = session.execute(
        select(ComponentGroup.name, ComponentGroup.description, ComponentGroup.position)
        .order_by(ComponentGroup.id)
    ).all()
    return (components, groups, count(session, StatusChange), count(session, AuditEntry),
            current_version(session))


def names_in_order(session: Session) -> list[str]:
    session.expire_all()
    return [c.name for item in catalog.component_tree(session) for c in item.components]


@pytest.fixture
def website(session) -> Component:
    return a_component(session, "Website")


@pytest.fixture
def backend(session) -> ComponentGroup:
    return a_group(session, "Backend")


def structure_requests(component: Component, group: ComponentGroup) -> list[tuple[str, str, dict]]:
    """(method, path, form) of every change to the component tree (any signed-in user may), in order."""
    return [
        ("POST", "/admin/components", {"name": "Mail"}),
        ("POST", f"/admin/components/{component.code}", {"name": "Renamed"}),
        ("POST", f"/admin/components/{component.code}/move", {"direction": "up"}),
        ("GET", f"/admin/components/{component.code}/delete", {}),
        ("POST", f"/admin/components/{component.code}/delete", {"confirm_name": "Renamed"}),
        ("POST", "/admin/groups", {"name": "Frontend"}),
        ("GET", f"/admin/groups/{group.code}", {}),
        ("POST", f"/admin/groups/{group.code}", {"name": "Renamed group"}),
        ("POST", f"/admin/groups/{group.code}/move", {"direction": "up"}),
        ("GET", f"/admin/groups/{group.code}/delete", {}),
        ("POST", f"/admin/groups/{group.code}/delete", {"confirm_name": "Renamed group"}),
    ]


def send(client, method: str, path: str, form: dict):
    if method == "GET":
        return client.get(path)
    return post_form(client, path, form)


# --- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", "/admin/audit", "/admin/components/{code}"])
def test_an_outsider_is_sent_to_sign_in(client, website, path):
    response = client.get(path.format(code=website.code))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_an_outsider_cannot_change_anything(client, session, website, backend):
    before = snapshot(session)
    requests = structure_requests(website, backend)
    requests.append(("POST", f"/admin/components/{website.code}/status", {"status": "major_outage"}))

    for method, path, form in requests:
        response = send(client, method, path, form)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path

    assert snapshot(session) == before


@pytest.mark.parametrize("role", ["admin", "responder"])
def test_every_signed_in_user_may_change_the_component_tree(client, session, login_as, website, backend,
                                                            role):
    login_as(role)

    for method, path, form in structure_requests(website, backend):
        response = send(client, method, path, form)
        assert response.status_code in (200, 302), (method, path, response.status_code)

    session.expire_all()
    assert session.scalars(select(ComponentGroup.name)).all() == ["Frontend"]
    assert session.scalars(select(Component.name)).all() == ["Mail"]


def test_a_responder_manages_groups_and_components_from_the_admin(client, session, login_as, backend):
    user = login_as("responder")

    post_form(client, "/admin/groups", {"name": "Frontend", "description": "What customers see"})
    frontend = session.scalars(select(ComponentGroup).where(ComponentGroup.name == "Frontend")).one()
    post_form(client, "/admin/components", {"name": "Website", "group_id": frontend.code})
    post_form(client, "/admin/components", {"name": "API", "group_id": frontend.code})
    website = session.scalars(select(Component).where(Component.name == "Website")).one()
    post_form(client, f"/admin/components/{website.code}",
              {"name": "Web site", "description": "www", "group_id": backend.code, "showcase": "on"})
    post_form(client, f"/admin/groups/{frontend.code}/move", {"direction": "up"})
    response = post_form(client, f"/admin/components/{website.code}/delete", {"confirm_name": "Web site"})

    assert response.status_code == 302
    session.expire_all()
    assert [item.group.name for item in catalog.component_tree(session)] == ["Frontend", "Backend"]
    assert names_in_order(session) == ["API"]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.user_id == user.id)
                              .order_by(AuditEntry.id)).all()
    assert actions == ["group.create", "component.create", "component.create", "component.update",
                       "group.move", "component.delete"]


def test_a_responder_sees_the_forms_to_manage_the_tree(client, login_as, website, backend):
    login_as("responder")

    html = client.get("/admin/").get_data(as_text=True)

    assert "Create component" in html and "Create group" in html
    assert f"/admin/components/{website.code}/move" in html
    assert f"/admin/groups/{backend.code}" in html
    assert f"/admin/components/{website.code}/status" in html
    assert "Delete…" in client.get(f"/admin/components/{website.code}").get_data(as_text=True)


def test_a_responder_may_set_a_status(client, session, login_as, website):
    user = login_as("responder")

    response = post_form(client, f"/admin/components/{website.code}/status",
                         {"status": "partial_outage"})

    assert response.status_code == 302
    assert reload(session, Component, website.id).status == ComponentStatus.PARTIAL_OUTAGE
    change = session.scalars(select(StatusChange).order_by(StatusChange.id.desc())).first()
    assert (change.from_status, change.to_status) == (ComponentStatus.OPERATIONAL,
                                                      ComponentStatus.PARTIAL_OUTAGE)
    assert (change.user_id, change.source, change.cause) == (user.id, "admin", user.email)


# --- components -------------------------------------------------------------------------------


def test_an_admin_creates_a_component_in_a_group(client, session, login_as, backend):
    login_as("admin")

    response = post_form(client, "/admin/components",
                         {"name": "Database", "description": "Primary cluster", "group_id": backend.code})

    assert response.status_code == 302
    component = session.scalars(select(Component)).one()
    assert (component.name, component.description, component.group_id) == (
        "Database", "Primary cluster", backend.id
    )
    assert "Component Database created." in client.get("/admin/").get_data(as_text=True)


def test_an_admin_renames_and_describes_a_component(client, session, login_as, website):
    login_as("admin")

    response = post_form(client, f"/admin/components/{website.code}",
                         {"name": "Web site", "description": "Marketing pages", "group_id": ""})

    assert response.status_code == 302
    stored = reload(session, Component, website.id)
    assert (stored.name, stored.description) == ("Web site", "Marketing pages")


def test_an_admin_moves_a_component_between_groups(client, session, login_as, backend):
    frontend = a_group(session, "Frontend")
    api = a_component(session, "API", backend)
    a_component(session, "Website", frontend)
    login_as("admin")

    post_form(client, f"/admin/components/{api.code}", {"name": "API", "group_id": frontend.code})

    assert reload(session, Component, api.id).group_id == frontend.id
    assert names_in_order(session) == ["Website", "API"]


def test_an_admin_reorders_components(client, session, login_as):
    for name in ("API", "Database", "Cache"):
        a_component(session, name)
    cache = session.scalars(select(Component).where(Component.name == "Cache")).one()
    login_as("admin")

    response = post_form(client, f"/admin/components/{cache.code}/move", {"direction": "up"})
    assert response.status_code == 302
    assert names_in_order(session) == ["API", "Cache", "Database"]

    post_form(client, f"/admin/components/{cache.code}/move", {"direction": "down"})
    assert names_in_order(session) == ["API", "Database", "Cache"]


def test_deleting_a_component_asks_for_its_name(client, session, login_as, website):
    login_as("admin")

    page = client.get(f"/admin/components/{website.code}/delete")

    assert page.status_code == 200
    assert "Type <strong>Website</strong> to confirm" in page.get_data(as_text=True)


def test_a_wrong_confirmation_name_deletes_nothing(client, session, login_as, website):
    login_as("admin")
    before = snapshot(session)

    response = post_form(client, f"/admin/components/{website.code}/delete", {"confirm_name": "website"})

    assert response.status_code == 422
    assert "Type the exact name to confirm." in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_the_right_confirmation_name_deletes_the_component(client, session, login_as, website):
    code = website.code
    login_as("admin")

    response = post_form(client, f"/admin/components/{code}/delete", {"confirm_name": "Website"})

    assert response.status_code == 302
    assert count(session, Component) == 0
    assert client.get(f"/admin/components/{code}").status_code == 404


def test_setting_a_status_shows_in_the_history_and_the_audit_log(client, session, login_as, website):
    login_as("admin")

    response = post_form(client, f"/admin/components/{website.code}/status", {"status": "major_outage"})
    assert response.status_code == 302

    history = client.get(f"/admin/components/{website.code}").get_data(as_text=True)
    row = history.split("Status history", 1)[1]
    assert "<td>Operational</td>" in row and "<td>Major Outage</td>" in row
    assert "admin: admin@example.com" in row

    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "component.update" in audit and website.code in audit
    assert "major_outage" in audit and "admin@example.com" in audit
    assert count(session, AuditEntry) >= 1


def test_the_status_form_returns_to_the_page_it_came_from(client, login_as, website):
    login_as("admin")

    response = post_form(client, f"/admin/components/{website.code}/status",
                         {"status": "major_outage", "back": f"/admin/components/{website.code}"})

    assert response.headers["Location"] == f"/admin/components/{website.code}"


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_the_status_form_never_returns_to_another_site(client, login_as, website, back):
    login_as("admin")

    response = post_form(client, f"/admin/components/{website.code}/status",
                         {"status": "major_outage", "back": back})

    assert response.status_code == 302
    assert urlsplit(urljoin("http://status.test/admin/", response.headers["Location"])).netloc == (
        "status.test"
    )


# --- groups -----------------------------------------------------------------------------------


def test_an_admin_creates_renames_and_describes_a_group(client, session, login_as):
    login_as("admin")

    post_form(client, "/admin/groups", {"name": "Backend", "description": ""})
    group = session.scalars(select(ComponentGroup)).one()
    response = post_form(client, f"/admin/groups/{group.code}",
                         {"name": "Back end", "description": "Our servers"})

    assert response.status_code == 302
    stored = reload(session, ComponentGroup, group.id)
    assert (stored.name, stored.description) == ("Back end", "Our servers")


def test_an_admin_reorders_groups_among_top_level_components(client, session, login_as, website, backend):
    a_component(session, "API", backend)
    login_as("admin")

    post_form(client, f"/admin/groups/{backend.code}/move", {"direction": "up"})

    assert names_in_order(session) == ["API", "Website"]


def test_deleting_a_group_keeps_its_components_at_the_top_level(client, session, login_as, backend):
    api = a_component(session, "API", backend)
    login_as("admin")

    assert "Its components stay" in client.get(f"/admin/groups/{backend.code}/delete").get_data(as_text=True)
    wrong = post_form(client, f"/admin/groups/{backend.code}/delete", {"confirm_name": "Back"})
    assert wrong.status_code == 422 and count(session, ComponentGroup) == 1

    response = post_form(client, f"/admin/groups/{backend.code}/delete", {"confirm_name": "Backend"})

    assert response.status_code == 302
    assert count(session, ComponentGroup) == 0
    assert reload(session, Component, api.id).group_id is None


def test_deleting_a_group_whose_component_name_is_taken_at_the_top_level_is_refused_clearly(
    client, session, login_as, backend
):
    a_component(session, "API", backend)
    a_component(session, "api")
    login_as("admin")
    before = snapshot(session)

    response = post_form(client, f"/admin/groups/{backend.code}/delete", {"confirm_name": "Backend"})

    assert 400 <= response.status_code < 500
    assert "already exists" in response.get_data(as_text=True)
    assert snapshot(session) == before


# --- bad input re-renders the form and saves nothing ------------------------------------------


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": ""}, "Name is required."),
        ({"name": "   "}, "Name is required."),
        ({"name": "x" * 256}, "Name must be at most 255 characters."),
        ({"name": "WEBSITE"}, "already exists"),
        ({"name": "Mail", "group_id": "nosuchgroup0"}, "No component group"),
        ({"name": "Mail", "description": "x" * 2001}, "Description must be at most 2000 characters."),
    ],
)
def test_bad_input_when_creating_a_component_re_renders_the_form(client, session, login_as, website,
                                                                  form, message):
    login_as("admin")
    before = snapshot(session)

    response = post_form(client, "/admin/components", form)

    html = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert message in html
    assert 'role="alert"' in html and "New component" in html
    assert snapshot(session) == before


def test_a_re_rendered_form_keeps_what_was_typed(client, login_as, website):
    login_as("admin")

    response = post_form(client, "/admin/components", {"name": "website", "description": "Typed text"})

    assert 'value="website"' in response.get_data(as_text=True)
    assert "Typed text" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": ""}, "Name is required."),
        ({"name": "x" * 256}, "Name must be at most 255 characters."),
        ({"name": "Mail"}, "already exists"),
        ({"name": "Renamed", "group_id": "nosuchgroup0"}, "No component group"),
        ({"name": "Renamed", "start_date": "yesterday"}, "start_date must be a date"),
    ],
)
def test_bad_input_when_editing_a_component_re_renders_it_and_saves_nothing(
    client, session, login_as, website, form, message
):
    a_component(session, "Mail")
    login_as("admin")
    before = snapshot(session)

    response = post_form(client, f"/admin/components/{website.code}", form)

    html = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert message in html and "Status history" in html
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("/admin/groups", {"name": ""}, "Name is required."),
        ("/admin/groups", {"name": "BACKEND"}, "already exists"),
        ("/admin/groups", {"name": "x" * 256}, "Name must be at most 255 characters."),
        ("/admin/groups/{code}", {"name": ""}, "Name is required."),
        ("/admin/groups/{code}", {"name": "frontend"}, "already exists"),
    ],
)
def test_bad_input_for_a_group_re_renders_the_form_and_saves_nothing(
    client, session, login_as, backend, path, form, message
):
    a_group(session, "Frontend")
    login_as("admin")
    before = snapshot(session)

    response = post_form(client, path.format(code=backend.code), form)

    assert 400 <= response.status_code < 500
    assert message in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_an_unknown_status_is_refused_and_saves_nothing(client, session, login_as, website):
    login_as("responder")
    before = snapshot(session)

    response = post_form(client, f"/admin/components/{website.code}/status", {"status": "on_fire"})

    assert response.status_code == 422
    assert "Unknown status" in response.get_data(as_text=True)
    assert snapshot(session) == before


def test_an_unknown_component_is_a_404(client, login_as):
    login_as("admin")

    assert client.get("/admin/components/nosuchthing0").status_code == 404
    assert post_form(client, "/admin/components/nosuchthing0/status",
                     {"status": "major_outage"}).status_code == 404
    assert post_form(client, "/admin/components/nosuchthing0/move", {"direction": "up"}).status_code == 404


# --- CSRF -------------------------------------------------------------------------------------


def test_a_post_without_a_csrf_token_is_refused_and_saves_nothing(client, session, login_as, website,
                                                                  backend):
    login_as("admin")
    before = snapshot(session)

    for path, form in [
        ("/admin/components", {"name": "Mail"}),
        (f"/admin/components/{website.code}", {"name": "Renamed"}),
        (f"/admin/components/{website.code}/status", {"status": "major_outage"}),
        (f"/admin/components/{website.code}/move", {"direction": "down"}),
        (f"/admin/components/{website.code}/delete", {"confirm_name": "Website"}),
        ("/admin/groups", {"name": "Frontend"}),
        (f"/admin/groups/{backend.code}/delete", {"confirm_name": "Backend"}),
    ]:
        response = client.post(path, data=form)
        assert response.status_code == 400, path
        assert "form expired" in response.get_data(as_text=True)

    assert snapshot(session) == before


def test_a_post_with_a_forged_csrf_token_is_refused(client, session, login_as):
    login_as("admin")

    response = client.post("/admin/components", data={"name": "Mail", "csrf_token": "forged"})

    assert response.status_code == 400
    assert count(session, Component) == 0


# --- two browsers create one name at once -------------------------------------------------------


def test_simultaneous_forms_with_one_new_name_make_one_component_and_tell_the_others(
        client, session, login_as, live_server):
    login_as("responder")
    token = csrf_token(client, "/admin/")
    cookie = f"session={client.get_cookie('session').value}"
    barrier = threading.Barrier(8)

    def submit(_index: int) -> tuple[int, str]:
        form = urllib.parse.urlencode({"csrf_token": token, "name": "Race 0"}).encode()
        request = urllib.request.Request(f"{live_server}/admin/components", data=form, method="POST",
                                         headers={"Cookie": cookie, "Referer": f"{live_server}/admin/"})
        barrier.wait()
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(submit, range(8)))

    assert sorted(status for status, _html in answers) == [302] + [409] * 7, [a[0] for a in answers]
    assert all("Race 0" in html and ("already exists" in html or "saved a moment ago" in html)
               for status, html in answers if status == 409)
    assert names_in_order(session) == ["Race 0"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep the 302 a successful form answers, to count it."""

    def redirect_request(self, *args, **kwargs):
        return None


# --- names are one line --------------------------------------------------------------------------


def test_an_incident_name_with_a_line_break_is_refused_with_a_form_message(client, session, login_as):
    login_as("responder")

    response = post_form(client, "/admin/incidents/new",
                         {"name": "DB down\r\nX-Injected: yes", "body": "Looking into it.",
                          "status": "investigating"})

    assert response.status_code == 422
    assert "control characters" in response.get_data(as_text=True)
    assert count(session, AuditEntry) == 1  # the user's creation only


def test_a_component_name_with_a_line_break_is_refused_with_a_form_message(client, session, login_as):
    login_as("responder")

    response = post_form(client, "/admin/components", {"name": "Web\nsite"})

    assert response.status_code == 422
    assert "Name must be one line without control characters" in response.get_data(as_text=True)
    assert count(session, Component) == 0


# --- text no database can store -------------------------------------------------------------------


@pytest.mark.parametrize("method, path, form", [
    ("POST", "/admin/components", {"name": "a\x00b"}),
    ("POST", "/admin/groups", {"name": "Backend", "description": "x\x00"}),
    ("GET", "/admin/components/a%00b", {}),
    ("POST", "/admin/components/a%00b/status", {"status": "major_outage"}),
    ("POST", "/admin/components/{code}", {"name": "Website", "start_date": "2024\x00"}),
    ("GET", "/admin/incidents/a%00b/postmortem", {}),
    ("GET", "/admin/probes/a%00b", {}),
    ("POST", "/admin/incidents/new", {"name": "DB down", "body": "a\x00b", "status": "investigating"}),
])
def test_a_nul_character_anywhere_in_an_admin_request_gets_a_clear_400_page(
        client, session, login_as, website, method, path, form):
    login_as("responder")
    before = snapshot(session)

    response = send(client, method, path.format(code=website.code), form)

    assert response.status_code == 400, response.get_data(as_text=True)
    assert "NUL character" in response.get_data(as_text=True)
    assert snapshot(session) == before
