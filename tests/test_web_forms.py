"""One way to write a view: refused forms, 404 lookups and confirmed deletions (statuspage.web.forms)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound as HTTPNotFound

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.edge.session import db_session
from statuspage.errors import InvalidInput
from statuspage.models import ComponentGroup, Probe
from statuspage.web.forms import domain_form, or_404
from tests.conftest import post_form
from tests.probe_builders import a_component, a_probe

ACTOR = Actor.system("test")


def groups_in_db(app: Flask) -> int:
    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(ComponentGroup))


def test_a_refused_change_is_rolled_back_and_answered_with_the_view_arguments(app):
    @domain_form(lambda exc, code: (f"{code}: {exc.message} ({exc.field})", exc.status_code))
    def view(code: str):
        catalog.create_group(db_session(), ACTOR, "Backend")
        db_session().flush()
        raise InvalidInput("No.", "name")

    with app.test_request_context("/anything", method="POST"):
        assert view(code="abc") == ("abc: No. (name)", 422)

    assert groups_in_db(app) == 0


def test_a_race_is_told_as_a_conflict_on_the_name_only_when_the_view_expects_one(app):
    def racing(code: str):
        raise IntegrityError("INSERT", {}, Exception("unique"))

    def answer(exc, code: str):
        return exc.message, exc.status_code, exc.field

    with app.test_request_context("/anything", method="POST"):
        told = domain_form(answer, race="Taken a moment ago.")(racing)(code="x")
        assert told == ("Taken a moment ago.", 409, "name")
        with pytest.raises(IntegrityError):
            domain_form(answer)(racing)(code="x")


def test_a_missing_object_is_a_404_with_its_message(app):
    with app.test_request_context("/admin/groups/nosuchgroup0"):
        with pytest.raises(HTTPNotFound) as raised:
            or_404(catalog.get_group, db_session(), "nosuchgroup0", message="There is no such group.")
    assert raised.value.description == "There is no such group."


def test_a_found_object_is_returned_as_it_is(app, session):
    group = catalog.create_group(session, ACTOR, "Backend")
    session.commit()
    with app.test_request_context("/"):
        assert or_404(catalog.get_group, db_session(), group.code).name == "Backend"


def test_a_wrong_name_on_a_confirmation_page_shows_the_page_again_with_its_note(client, session, login_as):
    group = catalog.create_group(session, ACTOR, "Backend")
    session.commit()
    login_as("admin")

    response = post_form(client, f"/admin/groups/{group.code}/delete", {"confirm_name": "backend"})

    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Type the exact name to confirm." in text and "Its components stay" in text
    assert groups_in_db(client.application) == 1


def test_a_wrong_name_in_a_form_on_the_objects_page_goes_back_there_and_says_why(client, session, login_as):
    probe = a_probe(session, a_component(session, "API"), name="db port")
    session.commit()
    login_as("admin")
    page = f"/admin/probes/{probe.code}"

    response = post_form(client, f"{page}/delete", {"confirm_name": "DB port"}, token_from=page)

    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    assert "Type the probe&#39;s exact name to delete it." in client.get(page).get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Probe)) == 1


def test_a_delete_url_asked_from_its_objects_page_shows_no_page_of_its_own(client, session, login_as):
    probe = a_probe(session, a_component(session, "API"), name="db port")
    session.commit()
    login_as("admin")

    assert client.get(f"/admin/probes/{probe.code}/delete").status_code == 405


def test_every_blueprint_is_registered_once(app):
    rules = [(rule.rule, tuple(sorted(rule.methods or ()))) for rule in app.url_map.iter_rules()]
    v1 = {name for name in app.blueprints if name.startswith("api_v1")}

    assert len(rules) == len(set(rules))
    assert v1 == {"api_v1", "api_v1_incidents", "api_v1_subscribers", "api_v1_postmortems", "api_v1_probes",
                  "api_v1_alert_channels"}
    assert any(rule.startswith("/api/v1/pages/") for rule, _methods in rules)
