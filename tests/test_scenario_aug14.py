"""`demo --scenario aug14` replays the outage of the seed postmortem, and the record tells its story."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from statuspage.db import utcnow
from statuspage.incidents import lookups
from statuspage.models import AuditEntry, Delivery, Incident, OutboxEvent, Subscriber, SubscriberMode
from statuspage.postmortems import editing, recorded

ZONE = "Europe/Berlin"


def replay(runner, session):
    result = runner.invoke(args=["statuspage", "demo", "--scenario", "aug14"])
    assert result.exit_code == 0, result.output
    code = result.output.split("/incidents/")[1].split()[0]
    session.expire_all()
    return lookups.get_incident(session, code)


def test_the_drafted_timeline_lists_the_outage_in_order_with_its_times(runner, session):
    incident = replay(runner, session)
    postmortem = editing.get(session, incident)
    lines = [line for line in postmortem.timeline if not line.get("removed")]
    moments = [(editing.line_time(line["at"], 0, incident, ZONE).astimezone(ZoneInfo(ZONE)).strftime("%H:%M"),
                line["text"])
               for line in lines]
    story = [
        ("14:30", "Monitoring detected the first failure"),
        ("14:32", "Database cluster: Operational → Major Outage"),
        ("14:35", "Alert received from Alertmanager: DatabaseConnectionErrors firing"),
        ("14:40", "Incident opened, Investigating"),
        ("15:00", "Identified: The issue is related to a malfunctioning database cluster"),
        ("16:00", "Partial restoration: Database cluster improved to Partial Outage"),
        ("17:00", "Full restoration: all affected components operational"),
        ("18:30", "Resolved: All systems are verified"),
        ("18:30", "Incident resolved"),
    ]
    found = []
    for when, text in story:
        matches = [index for index, (at, line) in enumerate(moments) if at == when and line.startswith(text)]
        assert matches, f"no timeline line at {when} starting {text!r}: {moments}"
        found.append(matches[0])
    assert found == sorted(found), "the timeline is out of order"


def test_the_figures_are_those_of_the_seed(runner, session):
    incident = replay(runner, session)
    figures = dict(recorded.figures(session, incident, ZONE).rows)
    assert figures["Time to detect"] == "5 min"
    assert figures["Time to acknowledge (detection to first public update)"] == "5 min"
    assert figures["Time to mitigate (to partial restoration)"] == "1 h 30 min"
    assert figures["Time to full restoration"] == "2 h 30 min"
    assert figures["Time to resolve"] == "4 h"
    assert figures["Duration (impact start to resolution)"] == "4 h"


def test_the_postmortem_is_published_with_the_seeds_root_cause_lessons_and_apology(runner, session, client):
    incident = replay(runner, session)
    assert incident.status == "postmortem"
    html = client.get(f"/incidents/{incident.code}").get_data(as_text=True)
    for text in ("connection pooling software", "Lessons learned", "We apologize for the inconvenience",
                 "Update monitoring tools", "Timeline of events"):
        assert text in html, text


def test_replaying_twice_changes_nothing(runner, session):
    first = replay(runner, session)
    second = replay(runner, session)
    assert first.code == second.code


def subscribe_everyone(session) -> None:
    """A confirmed email subscriber and a confirmed webhook: whoever the replay could reach."""
    session.add(Subscriber(mode=SubscriberMode.EMAIL, email="customer@example.org", confirmed_at=utcnow()))
    session.add(Subscriber(mode=SubscriberMode.WEBHOOK, endpoint="https://hooks.example.org/status",
                           webhook_secret="s" * 64, confirmed_at=utcnow()))
    session.commit()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_the_replay_notifies_no_one_even_with_subscribers(runner, session):
    subscribe_everyone(session)

    incident = replay(runner, session)

    assert incident.status == "postmortem"
    assert count(session, OutboxEvent) == 0
    assert count(session, Delivery) == 0


def test_renaming_the_replayed_incident_does_not_replay_it_again(runner, session):
    first = replay(runner, session)
    first.name = "Database cluster outage"
    session.commit()

    second = replay(runner, session)

    assert second.code == first.code
    assert count(session, Incident) == 1
    marks = session.scalars(select(AuditEntry).where(AuditEntry.action == "demo.seeded")).all()
    assert [(m.target_code, m.detail["scenario"]) for m in marks] == [(first.code, "aug14")]


def test_a_page_replayed_before_the_mark_existed_is_not_replayed_again(runner, session):
    first = replay(runner, session)
    session.execute(delete(AuditEntry).where(AuditEntry.action == "demo.seeded"))
    session.commit()

    second = replay(runner, session)

    assert second.code == first.code
    assert count(session, Incident) == 1
    assert session.scalars(select(AuditEntry.target_code).where(AuditEntry.action == "demo.seeded")).all() == [
        first.code]


def test_the_replay_says_so_when_its_incident_was_deleted_and_does_not_replay(runner, session):
    incident = replay(runner, session)
    session.delete(incident)
    session.commit()

    result = runner.invoke(args=["statuspage", "demo", "--scenario", "aug14"])

    assert result.exit_code == 0, result.output
    assert "replayed before" in result.output
    assert count(session, Incident) == 0
