"""Postmortems: drafted from the record, edited by people, published honestly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import func, select

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.errors import InvalidInput
from statuspage.incidents import lifecycle
from statuspage.models import OutboxEvent, PostmortemRevision
from statuspage.postmortems import action_items, document, editing, recorded

ACTOR = Actor.system("admin", "responder@example.com")
ZONE = "Europe/Berlin"
T0 = datetime(2024, 8, 14, 12, 30, tzinfo=UTC)  # 14:30 in Berlin


@pytest.fixture
def resolved(session):
    """A database outage: detected, identified, partly then fully restored, resolved."""
    database = catalog.create_component(session, ACTOR, "Database cluster")
    incident = lifecycle.open_incident(
        session, ACTOR, name="Elevated error rates", body="We are investigating.", started_at=T0,
        component_statuses={database.code: "major_outage"}, now=T0 + timedelta(minutes=10))
    lifecycle.post_update(session, ACTOR, incident, status="identified", body="A database cluster failed.",
                          now=T0 + timedelta(minutes=30))
    lifecycle.post_update(session, ACTOR, incident, status="identified", body="Partly restored.",
                          component_statuses={database.code: "partial_outage"}, now=T0 + timedelta(hours=1, minutes=30))
    lifecycle.post_update(session, ACTOR, incident, status="monitoring", body="Fully restored.",
                          component_statuses={database.code: "operational"}, now=T0 + timedelta(hours=2, minutes=30))
    lifecycle.post_update(session, ACTOR, incident, status="resolved", body="Verified.", now=T0 + timedelta(hours=4))
    session.commit()
    return incident


def complete(session, incident):
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={
        "summary": "The database cluster failed.", "root_cause": "A connection pool bug.",
        "impact": "All users.", "resolution": "Restarted and patched.", "conclusion": "We apologize."})
    return postmortem


def test_a_postmortem_needs_a_resolved_incident(session):
    incident = lifecycle.open_incident(session, ACTOR, name="Ongoing", body="x")
    with pytest.raises(InvalidInput, match="Resolve the incident"):
        editing.start(session, ACTOR, incident, ZONE)


def test_it_starts_from_the_seed_template_with_every_section(session, resolved):
    postmortem = editing.start(session, ACTOR, resolved, ZONE)
    assert [key for key, _ in document.SECTIONS] == [
        "summary", "timeline", "root_cause", "impact", "resolution", "lessons", "action_items", "conclusion"]
    assert "August 14, 2024" in postmortem.sections["summary"]
    assert "14:30 CEST" in postmortem.sections["summary"] and "4 hours" in postmortem.sections["summary"]
    assert "Users:" in postmortem.sections["impact"] and "Time to resolve: 4 h" in postmortem.sections["impact"]
    assert "Immediate actions" in postmortem.sections["resolution"]
    assert "apologize" in postmortem.sections["conclusion"]


def test_the_timeline_is_drafted_in_order_in_the_page_time_zone(session, resolved):
    postmortem = editing.start(session, ACTOR, resolved, ZONE)
    text = document.export_markdown(resolved, postmortem, ZONE)
    lines = [line for line in text.splitlines() if line.startswith("- 1")]
    assert lines == [
        "- 14:40 CEST: Database cluster: Operational → Major Outage.",
        "- 14:40 CEST: Incident opened, Investigating: We are investigating.",
        "- 15:00 CEST: Identified: A database cluster failed.",
        "- 16:00 CEST: Database cluster: Major Outage → Partial Outage.",
        "- 16:00 CEST: Identified: Partly restored.",
        "- 16:00 CEST: Partial restoration: Database cluster improved to Partial Outage; "
        "not everything is operational yet.",
        "- 17:00 CEST: Database cluster: Partial Outage → Operational.",
        "- 17:00 CEST: Monitoring: Fully restored.",
        "- 17:00 CEST: Full restoration: all affected components operational.",
        "- 18:30 CEST: Resolved: Verified.",
        "- 18:30 CEST: Incident resolved.",
    ]


def test_the_figures_measure_the_incident(session, resolved):
    figures = dict(recorded.figures(session, resolved, ZONE).rows)
    assert figures["Time to resolve"] == "4 h"
    assert figures["Time to mitigate (to partial restoration)"] == "1 h 30 min"
    assert figures["Time to full restoration"] == "2 h 30 min"
    assert figures["Time to detect"] == "n/a"  # no probe recorded this one
    minutes = recorded.figures(session, resolved, ZONE).minutes_by_component["Database cluster"]
    assert minutes == {"major_outage": 80, "partial_outage": 60}


def test_regenerating_keeps_manual_lines_edits_and_removals(session, resolved):
    postmortem = editing.start(session, ACTOR, resolved, ZONE)
    lines = [dict(line) for line in postmortem.timeline]
    lines[0]["removed"] = True
    lines[2]["text"] = "The on-call engineer identified the failed cluster."
    lines.append({"at": "2024-08-14T15:20:00", "text": "The database team began manual intervention."})
    editing.edit(session, ACTOR, resolved, postmortem, ZONE, timeline=lines)
    editing.regenerate_timeline(session, ACTOR, resolved, postmortem, ZONE)
    texts = [(line["text"], line.get("removed", False)) for line in postmortem.timeline]
    assert ("The database team began manual intervention.", False) in texts
    assert ("The on-call engineer identified the failed cluster.", False) in texts
    assert texts[0][1] is True
    assert len(postmortem.timeline) == len(lines)


@pytest.mark.parametrize("line, message", [
    ({"at": "2024-08-14T15:20:00", "text": ""}, "Timeline line 12 has a time but no text"),
    ({"at": "", "text": "The team began manual intervention."},
     r'line 12 \("The team began manual interventi.*no valid time'),
    ({"at": "2024-08-14T15:20:00", "text": "A\x00B"}, "control characters"),
    ({"at": "2024-08-14T15:20:00", "text": "two\nlines"}, "one line"),
    ({"at": "yesterday", "text": "x"}, "no valid time"),
    ({"at": "1999-01-01T00:00:00", "text": "x"}, "outside the incident"),
])
def test_timeline_lines_that_make_no_sense_are_refused(session, resolved, line, message):
    postmortem = editing.start(session, ACTOR, resolved, ZONE)
    with pytest.raises(InvalidInput, match=message):
        editing.edit(session, ACTOR, resolved, postmortem, ZONE, timeline=[*postmortem.timeline, line])


def test_publishing_needs_the_required_sections(session, resolved):
    postmortem = editing.start(session, ACTOR, resolved, ZONE)
    editing.edit(session, ACTOR, resolved, postmortem, ZONE, sections={"root_cause": ""})
    with pytest.raises(InvalidInput, match="Root cause"):
        editing.publish(session, ACTOR, resolved, postmortem, ZONE)
    assert postmortem.published_at is None
    assert resolved.status == "resolved"


def test_publishing_marks_the_incident_and_notifies_subscribers(session, resolved):
    postmortem = complete(session, resolved)
    editing.publish(session, ACTOR, resolved, postmortem, ZONE)
    session.commit()
    assert resolved.status == "postmortem"
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "postmortem")).one()
    assert event.payload["name"] == "Elevated error rates"
    assert "## Root cause" in event.payload["body"]


def test_edits_after_publishing_are_kept_as_revisions(session, resolved):
    postmortem = complete(session, resolved)
    editing.publish(session, ACTOR, resolved, postmortem, ZONE, notify=False)
    editing.edit(session, ACTOR, resolved, postmortem, ZONE, sections={"root_cause": "A pooling bug, patched."})
    session.commit()
    [revision] = session.scalars(select(PostmortemRevision)).all()
    assert revision.sections["root_cause"] == "A connection pool bug."
    assert postmortem.revised_at is not None
    assert session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.kind == "postmortem")) == 0


@pytest.mark.parametrize("fields, message", [
    ({"title": "", "owner": "Dana"}, "needs a title"),
    ({"title": "Patch the pooler", "due_date": "next week"}, "due date"),
    ({"title": "Patch the pooler", "due_date": "1850-01-01"}, "before the incident started"),
    ({"title": "Patch the pooler", "due_date": "2024-08-13"}, r"before the incident started \(2024-08-14\)"),
    ({"title": "Patch the pooler", "due_date": "9999-01-01"}, "three years"),
    ({"title": "Patch\x07 the pooler"}, "Title must be one line without control characters"),
    ({"title": "Patch the pooler", "owner": "Dana\x00"}, "Owner must be one line"),
    ({"title": "Patch the pooler", "link": "https://example.com/a b"}, "without spaces"),
    ({"title": "Patch the pooler", "link": "javascript:alert(1)"}, "http"),
    ({"title": "Patch the pooler", "status": "someday"}, "Status"),
])
def test_action_items_that_make_no_sense_are_refused(session, resolved, fields, message):
    with pytest.raises(InvalidInput, match=message):
        action_items.add_item(session, ACTOR, resolved, **fields)


def test_open_and_overdue_items_are_listed_across_incidents(session, resolved):
    action_items.add_item(session, ACTOR, resolved, title="Update monitoring", owner="SRE", due_date="2024-09-01")
    done = action_items.add_item(session, ACTOR, resolved, title="Write docs", status="done")
    rows = action_items.open_items(session)
    assert [item.title for item, _incident in rows] == ["Update monitoring"]
    assert done.status.value == "done"


def test_the_published_postmortem_shows_publicly_in_the_page_feeds_and_api(
        app, client, session, resolved, api_token, page_code):
    postmortem = complete(session, resolved)
    action_items.add_item(session, ACTOR, resolved, title="Integrate database metrics", public=True)
    action_items.add_item(session, ACTOR, resolved, title="Internal only item")
    editing.publish(session, ACTOR, resolved, postmortem, ZONE)
    session.commit()
    app.extensions["statuspage.public_cache"].clear()

    html = client.get(f"/incidents/{resolved.code}").get_data(as_text=True)
    assert "Postmortem" in html and "A connection pool bug." in html
    assert "Integrate database metrics" in html and "Internal only item" not in html
    feed = feedparser.parse(client.get("/history.atom").get_data())
    assert "A connection pool bug." in feed.entries[0].content[0].value
    body = client.get(f"/api/v1/pages/{page_code}/incidents/{resolved.code}", headers=api_token()).get_json()
    assert body["status"] == "postmortem"
    assert "## Root cause" in body["postmortem_body"]
    assert body["postmortem_published_at"]
    public = client.get("/api/v2/incidents.json").get_json()["incidents"][0]
    assert public["status"] == "postmortem" and "postmortem_body" not in public


def test_statuspage_postmortem_endpoints_map_onto_sections(client, session, resolved, api_token, page_code):
    headers = api_token()
    base = f"/api/v1/pages/{page_code}/incidents/{resolved.code}/postmortem"
    draft = ("Intro line.\n\n## Root cause\nThe pooler.\n\n## Impact\nEveryone.\n\n"
             "## Resolution and recovery\nRestart.\n\n## Conclusion\nSorry.")
    response = client.put(base, headers=headers, json={"postmortem": {"body_draft": draft}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["sections"]["root_cause"] == "The pooler."
    assert response.get_json()["sections"]["summary"] == "Intro line."
    published = client.put(base + "/publish", headers=headers,
                           json={"postmortem": {"notify_subscribers": False}})
    assert published.status_code == 200 and published.get_json()["published_at"]
    assert client.get(base, headers=headers).get_json()["body"].startswith("# Postmortem:")
    assert client.put(base + "/publish", headers=headers, json={}).status_code == 422
    reverted = client.put(base + "/revert", headers=headers, json={})
    assert reverted.status_code == 200 and reverted.get_json()["published_at"] is None
    assert client.put(base, headers=headers, json={"postmortem": {"body": "x"}}).status_code == 422


def test_the_admin_edits_exports_and_publishes(client, session, resolved, login_as):
    login_as("responder")
    page = client.get(f"/admin/incidents/{resolved.code}/postmortem")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Time to resolve" in html and "Draft the timeline again" in html
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    fields = {f"section-{key}": "" for key, _ in document.SECTIONS if key != "timeline"}
    refused = client.post(f"/admin/incidents/{resolved.code}/postmortem",
                          data={"csrf_token": token, "action": "publish", **fields})
    assert refused.status_code == 422 and "Write these sections" in refused.get_data(as_text=True)
    fields.update({"section-summary": "S", "section-root_cause": "R", "section-impact": "I",
                   "section-resolution": "Res", "section-conclusion": "We apologize."})
    done = client.post(f"/admin/incidents/{resolved.code}/postmortem",
                       data={"csrf_token": token, "action": "publish", **fields})
    assert done.status_code == 302
    export = client.get(f"/admin/incidents/{resolved.code}/postmortem.md")
    assert export.mimetype == "text/markdown" and "## Conclusion\n\nWe apologize." in export.get_data(as_text=True)


def test_the_promise_of_a_postmortem_leaves_the_public_page_once_it_is_published(session, resolved, mail_app):
    client = mail_app.test_client()  # the public cache confirms the page version on every request
    lifecycle.post_update(session, ACTOR, resolved, status="resolved", body="Service is restored. A postmortem will "
                          "follow within 48 hours.", now=T0 + timedelta(hours=5))
    session.commit()
    said = "<p>Service is restored. A postmortem will follow within 48 hours.</p>"
    assert said in client.get(f"/incidents/{resolved.code}").get_data(as_text=True)
    assert said in client.get("/history").get_data(as_text=True)

    editing.publish(session, ACTOR, resolved, complete(session, resolved), ZONE, notify=False)
    session.commit()
    after = client.get(f"/incidents/{resolved.code}").get_data(as_text=True)
    # The update no longer promises it, and neither does the link preview; the postmortem's own timeline
    # still quotes what was said when.
    assert said not in after and "<p>Service is restored.</p>" in after
    assert 'content="Postmortem: Service is restored."' in after
    history = client.get("/history").get_data(as_text=True)
    assert said not in history and "<p>Service is restored.</p>" in history
    assert "A postmortem will follow" in resolved.updates[0].body  # the update itself is kept as written
