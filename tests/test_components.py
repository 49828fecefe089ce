"""The component tree, its status rules and the page indicator, called directly with a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from statuspage import inputs
from statuspage.audit import Actor
from statuspage.components import catalog, status_rules
from statuspage.errors import Conflict, InvalidInput, NotFound
from statuspage.models import (
    AuditEntry,
    Component,
    ComponentGroup,
    ComponentStatus,
    StatusChange,
)
from statuspage.page.record import current_version

OPERATIONAL = ComponentStatus.OPERATIONAL
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE
MAJOR = ComponentStatus.MAJOR_OUTAGE
MAINTENANCE = ComponentStatus.UNDER_MAINTENANCE

ACTOR = Actor.system("test", "tester@example.com")


# --- builders ---------------------------------------------------------------------------------


def a_group(session: Session, name: str = "Core") -> ComponentGroup:
    group = catalog.create_group(session, ACTOR, name)
    session.commit()
    return group


def a_component(
    session: Session, name: str = "Website", group: ComponentGroup | None = None, **fields
) -> Component:
    component = catalog.create_component(
        session, ACTOR, name, group_code=group.code if group else None, **fields
    )
    session.commit()
    return component


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def top_level_order(session: Session) -> list[str]:
    return [item.group.name if item.group else item.components[0].name
            for item in catalog.component_tree(session)]


def names_in(session: Session, group: ComponentGroup) -> list[str]:
    session.expire_all()
    return [c.name for c in session.get(ComponentGroup, group.id).components]


# --- create, rename, describe -----------------------------------------------------------------


def test_it_creates_components_at_the_end_of_the_page(session):
    a_component(session, "Website")
    a_group(session, "Backend")
    a_component(session, "Mail")

    assert top_level_order(session) == ["Website", "Backend", "Mail"]


def test_it_creates_a_component_with_its_first_history_row(session):
    component = a_component(session, "Website", status="partial_outage")

    [row] = session.scalars(select(StatusChange)).all()
    assert component.status == PARTIAL
    assert (row.component_id, row.from_status, row.to_status) == (component.id, None, PARTIAL)
    assert (row.source, row.cause) == ("test", "tester@example.com")


def test_it_trims_names_and_treats_an_empty_description_as_none(session):
    component = a_component(session, "  Website  ", description="   ")

    assert component.name == "Website"
    assert component.description is None


def test_it_renames_and_describes_a_component(session):
    component = a_component(session, "Website")

    catalog.update_component(session, ACTOR, component, name="Web site", description="Marketing pages")
    session.commit()
    session.expire_all()

    stored = session.get(Component, component.id)
    assert (stored.name, stored.description) == ("Web site", "Marketing pages")


def test_it_renames_and_describes_a_group(session):
    group = a_group(session, "Backend")

    catalog.update_group(session, ACTOR, group, name="Back end", description="Servers")
    session.commit()
    session.expire_all()

    stored = session.get(ComponentGroup, group.id)
    assert (stored.name, stored.description) == ("Back end", "Servers")


@pytest.mark.parametrize("name", ["", "   ", None, 42, "x" * 256])
def test_it_refuses_a_missing_or_over_long_name(session, name):
    with pytest.raises(InvalidInput) as error:
        catalog.create_component(session, ACTOR, name)

    assert error.value.field == "name"
    session.rollback()
    assert count(session, Component) == 0


def test_it_accepts_a_name_of_exactly_255_characters(session):
    assert a_component(session, "x" * 255).name == "x" * 255


def test_it_refuses_an_over_long_description(session):
    with pytest.raises(InvalidInput) as error:
        catalog.create_component(session, ACTOR, "Website", description="x" * 2001)

    assert error.value.field == "description"


def test_it_refuses_an_unknown_status(session):
    with pytest.raises(InvalidInput) as error:
        catalog.create_component(session, ACTOR, "Website", status="on_fire")

    assert error.value.field == "status"
    assert "operational" in error.value.message


# --- names are unique within a group, case-insensitively --------------------------------------


def test_it_refuses_a_duplicate_name_in_the_same_group(session):
    group = a_group(session, "Backend")
    a_component(session, "Database", group)

    with pytest.raises(Conflict) as error:
        catalog.create_component(session, ACTOR, "DATABASE", group_code=group.code)

    assert error.value.field == "name"
    session.rollback()
    assert names_in(session, group) == ["Database"]


def test_it_refuses_a_duplicate_name_at_the_top_level(session):
    a_component(session, "Website")

    with pytest.raises(Conflict):
        catalog.create_component(session, ACTOR, "website ")


def test_it_allows_the_same_name_in_different_groups(session):
    eu, us = a_group(session, "EU"), a_group(session, "US")

    a_component(session, "Database", eu)
    a_component(session, "Database", us)
    a_component(session, "Database")

    assert count(session, Component) == 3


def test_it_refuses_renaming_a_component_onto_a_sibling(session):
    a_component(session, "Website")
    mail = a_component(session, "Mail")

    with pytest.raises(Conflict):
        catalog.update_component(session, ACTOR, mail, name="WEBSITE")


def test_a_component_may_change_the_case_of_its_own_name(session):
    website = a_component(session, "Website")

    catalog.update_component(session, ACTOR, website, name="WEBSITE")

    assert website.name == "WEBSITE"


def test_it_refuses_a_duplicate_group_name_case_insensitively(session):
    a_group(session, "Backend")

    with pytest.raises(Conflict):
        catalog.create_group(session, ACTOR, "backend")


def test_it_refuses_moving_a_component_into_a_group_that_has_its_name(session):
    group = a_group(session, "Backend")
    a_component(session, "Database", group)
    loose = a_component(session, "database")

    with pytest.raises(Conflict):
        catalog.update_component(session, ACTOR, loose, group_code=group.code)


# --- order ------------------------------------------------------------------------------------


def test_move_swaps_a_component_with_its_neighbour(session):
    group = a_group(session, "Backend")
    for name in ("API", "Database", "Cache"):
        a_component(session, name, group)
    database = session.scalars(select(Component).where(Component.name == "Database")).one()

    catalog.move(session, ACTOR, database, -1)
    session.commit()
    assert names_in(session, group) == ["Database", "API", "Cache"]

    catalog.move(session, ACTOR, database, +1)
    catalog.move(session, ACTOR, database, +1)
    session.commit()
    assert names_in(session, group) == ["API", "Cache", "Database"]


def test_move_past_either_end_keeps_the_order(session):
    group = a_group(session, "Backend")
    api = a_component(session, "API", group)
    database = a_component(session, "Database", group)

    catalog.move(session, ACTOR, api, -1)
    catalog.move(session, ACTOR, database, +1)
    session.commit()

    assert names_in(session, group) == ["API", "Database"]
    assert [c.position for c in session.get(ComponentGroup, group.id).components] == [1, 2]


def test_groups_and_top_level_components_share_one_order(session):
    a_component(session, "Website")
    backend = a_group(session, "Backend")
    a_component(session, "Mail")

    catalog.move(session, ACTOR, backend, -1)
    session.commit()
    assert top_level_order(session) == ["Backend", "Website", "Mail"]

    catalog.update_group(session, ACTOR, backend, position=3)
    session.commit()
    assert top_level_order(session) == ["Website", "Mail", "Backend"]


def test_position_places_a_component_and_renumbers_its_siblings(session):
    group = a_group(session, "Backend")
    for name in ("API", "Database", "Cache"):
        a_component(session, name, group)
    cache = session.scalars(select(Component).where(Component.name == "Cache")).one()

    catalog.update_component(session, ACTOR, cache, position=1)
    session.commit()

    assert names_in(session, group) == ["Cache", "API", "Database"]
    assert [c.position for c in session.get(ComponentGroup, group.id).components] == [1, 2, 3]


@pytest.mark.parametrize("position", [0, -1, "first", True, 1.5, None])
def test_it_refuses_a_position_that_is_not_a_whole_number_from_one(session, position):
    component = a_component(session, "Website")

    with pytest.raises(InvalidInput) as error:
        catalog.update_component(session, ACTOR, component, position=position)

    assert error.value.field == "position"


# --- groups -----------------------------------------------------------------------------------


def test_it_moves_a_component_between_groups_to_the_end_of_the_new_group(session):
    eu, us = a_group(session, "EU"), a_group(session, "US")
    api = a_component(session, "API", eu)
    a_component(session, "Database", us)

    catalog.update_component(session, ACTOR, api, group_code=us.code)
    session.commit()

    assert names_in(session, eu) == []
    assert names_in(session, us) == ["Database", "API"]


def test_it_moves_a_component_out_of_its_group_to_the_top_level(session):
    group = a_group(session, "Backend")
    api = a_component(session, "API", group)

    catalog.update_component(session, ACTOR, api, group_code=None)
    session.commit()

    assert names_in(session, group) == []
    assert top_level_order(session) == ["Backend", "API"]


def test_a_group_can_be_created_with_its_components(session):
    api, database = a_component(session, "API"), a_component(session, "Database")

    group = catalog.create_group(session, ACTOR, "Backend", component_codes=[database.code, api.code])
    session.commit()

    assert names_in(session, group) == ["Database", "API"]
    assert top_level_order(session) == ["Backend"]


def test_deleting_a_group_keeps_its_components_at_the_top_level(session):
    group = a_group(session, "Backend")
    a_component(session, "API", group)
    a_component(session, "Database", group)

    catalog.delete_group(session, ACTOR, group)
    session.commit()
    session.expire_all()

    assert count(session, ComponentGroup) == 0
    assert top_level_order(session) == ["API", "Database"]
    assert all(c.group_id is None for c in session.scalars(select(Component)))


def test_deleting_a_group_is_refused_when_a_member_name_is_taken_at_the_top_level(session):
    group = a_group(session, "Backend")
    a_component(session, "API", group)
    a_component(session, "api")

    with pytest.raises(Conflict) as error:
        catalog.delete_group(session, ACTOR, group)

    assert "'API' already exists in the top level" in error.value.message


def test_deleting_a_component_deletes_its_history(session):
    component = a_component(session, "Website")
    status_rules.set_status(session, component, MAJOR, ACTOR)
    session.commit()

    catalog.delete_component(session, ACTOR, component)
    session.commit()

    assert count(session, Component) == 0
    assert count(session, StatusChange) == 0


# --- set_status -------------------------------------------------------------------------------


def test_set_status_writes_exactly_one_history_row(session, make_user):
    user = make_user("ops@example.com", "responder")
    component = a_component(session, "Website")
    when = datetime(2024, 8, 14, 12, 30, tzinfo=UTC)

    change = status_rules.set_status(session, component, PARTIAL, Actor.for_user(user, "admin"), at=when)
    session.commit()
    session.expire_all()

    rows = session.scalars(select(StatusChange).where(StatusChange.from_status.is_not(None))).all()
    assert [r.id for r in rows] == [change.id]
    row = rows[0]
    assert (row.from_status, row.to_status, row.at) == (OPERATIONAL, PARTIAL, when)
    assert (row.user_id, row.source, row.cause) == (user.id, "admin", "ops@example.com")
    assert session.get(Component, component.id).status == PARTIAL


def test_set_status_stamps_the_change_with_the_current_time_by_default(session):
    component = a_component(session, "Website")
    before = datetime.now(UTC)

    change = status_rules.set_status(session, component, DEGRADED, ACTOR, cause="probe 3, check 1207")
    session.commit()

    assert before <= change.at <= datetime.now(UTC) + timedelta(seconds=1)
    assert change.cause == "probe 3, check 1207"


def test_set_status_writes_no_row_and_keeps_the_version_when_unchanged(session):
    component = a_component(session, "Website", status="major_outage")
    rows, version = count(session, StatusChange), current_version(session)

    assert status_rules.set_status(session, component, MAJOR, ACTOR) is None
    session.commit()

    assert count(session, StatusChange) == rows
    assert current_version(session) == version


def test_setting_the_same_status_through_update_writes_no_history_row(session):
    component = a_component(session, "Website", status="major_outage")
    rows = count(session, StatusChange)

    catalog.update_component(session, ACTOR, component, status="major_outage")
    session.commit()

    assert count(session, StatusChange) == rows


def test_set_status_bumps_the_page_version(session):
    component = a_component(session, "Website")
    version = current_version(session)

    status_rules.set_status(session, component, MAJOR, ACTOR)
    session.commit()

    assert current_version(session) > version


def test_history_lists_the_newest_change_first(session):
    component = a_component(session, "Website")
    start = datetime.now(UTC) + timedelta(minutes=1)
    status_rules.set_status(session, component, DEGRADED, ACTOR, at=start)
    status_rules.set_status(session, component, MAJOR, ACTOR, at=start + timedelta(minutes=5))
    status_rules.set_status(session, component, OPERATIONAL, ACTOR, at=start + timedelta(minutes=9))
    session.commit()

    history = catalog.history(session, component)

    assert [(h.from_status, h.to_status) for h in history] == [
        (MAJOR, OPERATIONAL), (DEGRADED, MAJOR), (OPERATIONAL, DEGRADED), (None, OPERATIONAL)
    ]


# --- every change leaves an audit row and bumps the version ------------------------------------


CHANGES = {
    "component.create": lambda session, component, group: catalog.create_component(session, ACTOR, "Mail"),
    "component.update": lambda session, component, group: catalog.update_component(
        session, ACTOR, component, name="Web site"),
    "component.update status": lambda session, component, group: catalog.update_component(
        session, ACTOR, component, status="major_outage"),
    "component.move": lambda session, component, group: catalog.move(session, ACTOR, component, -1),
    "component.delete": lambda session, component, group: catalog.delete_component(session, ACTOR, component),
    "group.create": lambda session, component, group: catalog.create_group(session, ACTOR, "Frontend"),
    "group.update": lambda session, component, group: catalog.update_group(
        session, ACTOR, group, description="Servers"),
    "group.move": lambda session, component, group: catalog.move(session, ACTOR, group, +1),
    "group.delete": lambda session, component, group: catalog.delete_group(session, ACTOR, group),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_writes_an_audit_row_and_bumps_the_page_version(session, change):
    group = a_group(session, "Backend")
    a_component(session, "API", group)
    component = a_component(session, "Website", group)
    a_component(session, "Blog")  # below the group, so the group can move down
    entries, version = count(session, AuditEntry), current_version(session)

    CHANGES[change](session, component, group)
    session.commit()

    assert count(session, AuditEntry) == entries + 1
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.actor, entry.detail["source"]) == (
        change.split()[0], "tester@example.com", "test"
    )
    assert current_version(session) > version


def test_the_audit_row_of_a_status_change_names_both_statuses(session):
    component = a_component(session, "Website")

    catalog.update_component(session, ACTOR, component, status="partial_outage")
    session.commit()

    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.target_code == component.code
    assert entry.detail["status"] == {"from": "operational", "to": "partial_outage"}


# --- the page indicator -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], ("none", "All Systems Operational")),
        ([OPERATIONAL, OPERATIONAL], ("none", "All Systems Operational")),
        ([OPERATIONAL, DEGRADED], ("minor", "Minor Service Outage")),
        ([OPERATIONAL, PARTIAL], ("minor", "Minor Service Outage")),
        ([DEGRADED, PARTIAL, MAINTENANCE], ("minor", "Minor Service Outage")),
        ([OPERATIONAL, MAJOR], ("major", "Partial System Outage")),
        ([PARTIAL, MAJOR], ("major", "Partial System Outage")),
        ([MAINTENANCE, MAJOR], ("major", "Partial System Outage")),
        ([MAJOR], ("critical", "Major System Outage")),
        ([MAJOR, MAJOR, MAJOR], ("critical", "Major System Outage")),
        ([MAINTENANCE], ("maintenance", "Service Under Maintenance")),
        ([OPERATIONAL, MAINTENANCE], ("maintenance", "Service Under Maintenance")),
    ],
)
def test_the_page_indicator_follows_the_component_statuses(statuses, expected):
    assert status_rules.page_indicator(statuses) == expected


@pytest.mark.parametrize(
    ("statuses", "impacts", "expected"),
    [
        ([OPERATIONAL], ["minor"], "minor"),
        ([OPERATIONAL], ["major"], "major"),
        ([OPERATIONAL], ["critical", "minor"], "critical"),
        ([OPERATIONAL], ["maintenance"], "maintenance"),
        ([DEGRADED], ["critical"], "critical"),
        ([MAINTENANCE], ["minor"], "minor"),
    ],
)
def test_an_unresolved_incident_raises_the_page_indicator(statuses, impacts, expected):
    indicator, description = status_rules.page_indicator(statuses, impacts)

    assert indicator == expected
    assert description == status_rules.INDICATOR_DESCRIPTIONS[expected]


@pytest.mark.parametrize("impacts", [["none"], ["minor"], ["maintenance"]])
def test_an_incident_never_lowers_the_page_indicator(impacts):
    assert status_rules.page_indicator([MAJOR, MAJOR], impacts) == ("critical", "Major System Outage")


RECOVERING = status_rules.RECOVERING


@pytest.mark.parametrize(
    ("statuses", "impacts"),
    [
        ([OPERATIONAL], [RECOVERING]),
        ([OPERATIONAL, OPERATIONAL], [RECOVERING, RECOVERING, "none"]),
        ([OPERATIONAL, MAINTENANCE], [RECOVERING, "maintenance"]),
    ],
)
def test_an_incident_recovering_with_nothing_else_wrong_is_minor_and_says_recovering(statuses, impacts):
    assert status_rules.page_indicator(statuses, impacts) == ("minor", "Recovering from an Incident")


@pytest.mark.parametrize(
    ("statuses", "impacts", "expected"),
    [
        ([OPERATIONAL, DEGRADED], [RECOVERING], ("minor", "Minor Service Outage")),
        ([OPERATIONAL, MAJOR], [RECOVERING], ("major", "Partial System Outage")),
        ([OPERATIONAL], [RECOVERING, "minor"], ("minor", "Minor Service Outage")),
        ([OPERATIONAL], [RECOVERING, "critical"], ("critical", "Major System Outage")),
    ],
)
def test_a_recovering_incident_never_hides_other_trouble(statuses, impacts, expected):
    assert status_rules.page_indicator(statuses, impacts) == expected


def test_a_group_shows_its_worst_component_status(session):
    group = a_group(session, "Backend")
    a_component(session, "API", group, status="degraded_performance")
    a_component(session, "Database", group, status="major_outage")
    a_component(session, "Cache", group, status="under_maintenance")

    [item] = catalog.component_tree(session)

    assert item.status == MAJOR


# --- a failure half-way leaves nothing behind -------------------------------------------------


def test_an_update_with_a_valid_name_and_an_unknown_group_saves_nothing(session):
    group = a_group(session, "Backend")
    component = a_component(session, "Website", group)
    entries, version = count(session, AuditEntry), current_version(session)

    with pytest.raises(NotFound) as error:
        catalog.update_component(session, ACTOR, component, name="Renamed", status="major_outage",
                                 group_code="nosuchgroup0")
    # Even if a careless caller committed now, nothing of the change may be written.
    session.commit()
    session.expire_all()

    assert error.value.field == "group_id"
    stored = session.get(Component, component.id)
    assert (stored.name, stored.status, stored.group_id) == ("Website", OPERATIONAL, group.id)
    assert count(session, AuditEntry) == entries
    assert current_version(session) == version


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "on_fire"},
        {"position": 0},
        {"description": "x" * 2001},
        {"showcase": "maybe"},
        {"start_date": "14/08/2024"},
        {"group_code": 7},
    ],
)
def test_an_update_with_one_bad_field_writes_none_of_the_others(session, bad):
    component = a_component(session, "Website")
    version = current_version(session)

    with pytest.raises(InvalidInput):
        catalog.update_component(session, ACTOR, component, name="Renamed", **bad)
    session.commit()
    session.expire_all()

    assert session.get(Component, component.id).name == "Website"
    assert current_version(session) == version


def test_a_refused_create_leaves_no_component_history_or_audit(session):
    a_component(session, "Website")
    before = (count(session, Component), count(session, StatusChange), count(session, AuditEntry))

    with pytest.raises(NotFound):
        catalog.create_component(session, ACTOR, "Mail", group_code="nosuchgroup0")
    session.commit()

    after = (count(session, Component), count(session, StatusChange), count(session, AuditEntry))
    assert after == before


# --- names are one line ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["DB down\r\nX-Injected: yes", "DB\ndown", "DB\rdown", "DB\tdown",
                                  "DB\x00down", "DB\x1bdown", "DB\x7fdown"])
def test_it_refuses_a_name_with_a_line_break_or_control_character(session, name):
    with pytest.raises(InvalidInput) as error:
        catalog.create_component(session, ACTOR, name)
    assert error.value.field == "name"
    assert "control characters" in error.value.message
    session.rollback()

    with pytest.raises(InvalidInput):
        catalog.create_group(session, ACTOR, name)
    session.rollback()
    website = a_component(session, "Website")
    with pytest.raises(InvalidInput):
        catalog.update_component(session, ACTOR, website, name=name)
    session.rollback()
    assert [c.name for c in session.scalars(select(Component))] == ["Website"]


def test_a_clean_name_names_the_field_at_fault():
    with pytest.raises(InvalidInput) as error:
        inputs.clean_name("Elevated errors\r\nBcc: all@example.com", "title")
    assert (error.value.field, error.value.message.split()[0]) == ("title", "Title")


def test_a_name_keeps_its_inner_spaces_and_any_script():
    assert inputs.clean_name("  Zahlungen – API (EU) 支付  ") == "Zahlungen – API (EU) 支付"


# --- a save that changes nothing records nothing -------------------------------------------------


def quiet(session: Session) -> tuple[int, int]:
    """(audit rows, page version): what a real change moves."""
    session.expire_all()
    return count(session, AuditEntry), current_version(session)


def test_re_saving_a_component_unchanged_writes_no_audit_row_and_keeps_the_version(session):
    group = a_group(session, "Backend")
    component = a_component(session, "API", group, description="REST", showcase=False,
                            only_show_if_degraded=True, start_date="2024-08-14")
    before = quiet(session)

    catalog.update_component(session, ACTOR, component, name=" API ", description="REST", group_code=group.code,
                             showcase=False, only_show_if_degraded=True, start_date="2024-08-14",
                             status="operational", position=1)
    session.commit()

    assert quiet(session) == before


def test_re_saving_a_group_unchanged_writes_no_audit_row_and_keeps_the_version(session):
    group = catalog.create_group(session, ACTOR, "Backend", "Servers")
    member = a_component(session, "API")
    catalog.update_group(session, ACTOR, group, component_codes=[member.code])
    session.commit()
    before = quiet(session)

    catalog.update_group(session, ACTOR, group, name="Backend", description="Servers", position=1,
                         component_codes=[member.code])
    session.commit()

    assert quiet(session) == before


def test_moving_past_either_end_writes_no_audit_row_and_keeps_the_version(session):
    group = a_group(session, "Backend")
    first, last = a_component(session, "API", group), a_component(session, "Database", group)
    before = quiet(session)

    catalog.move(session, ACTOR, first, -1)
    catalog.move(session, ACTOR, last, +1)
    catalog.move(session, ACTOR, group, -1)
    session.commit()

    assert quiet(session) == before


def test_a_change_of_one_flag_records_only_that_flag(session):
    component = a_component(session, "API")

    catalog.update_component(session, ACTOR, component, name="API", showcase=False, only_show_if_degraded=False)
    session.commit()

    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert {k: v for k, v in entry.detail.items() if k != "source"} == {"showcase": False}


# --- the database keeps names unique when two requests race ---------------------------------------


def test_a_status_change_does_not_check_the_name_again(session, monkeypatch):
    component = a_component(session, "API")

    def no_check(*_args, **_kwargs):
        raise AssertionError("the name was checked for a status-only change")

    monkeypatch.setattr(catalog, "_check_unique_component_name", no_check)
    catalog.update_component(session, ACTOR, component, name="API", status="major_outage")
    session.commit()

    assert component.status == MAJOR
