"""A published postmortem says the same everywhere: the page, the feeds, the API, the email and the
static copy; the template's unanswered prompts count as empty and are never published."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import func, select

from statuspage import models
from statuspage.errors import InvalidInput
from statuspage.models import AuditEntry, OutboxEvent, PostmortemRevision, StatusChange
from statuspage.notify.emails import MailContext, render_event
from statuspage.postmortems import action_items, editing, recorded
from statuspage.postmortems.document import TEMPLATE, is_skeleton
from tests.postmortem_builders import ACTOR, T0, ZONE, outage, written


@pytest.fixture
def incident(session):
    """The database cluster down for two hours, partly restored after one, resolved after four."""
    return outage(session, [(10, {"Database cluster": "major_outage"}),
                            (90, {"Database cluster": "partial_outage"}),
                            (150, {"Database cluster": "operational"})])


# --- the template's prompts count as empty ---------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "", "  \n ", TEMPLATE["impact"], TEMPLATE["resolution"], TEMPLATE["lessons"],
    "1. **Users**: \n2. **Business**:\n3. Systems:", "### Immediate actions\n\n### Long-term actions",
    TEMPLATE["impact"] + "\n\nFigures recorded by the status page:\n\n- Time to resolve: 4 h\n- Database: major 80 min",
])
def test_headings_unanswered_prompts_and_drafted_figures_are_a_skeleton(text):
    assert is_skeleton(text)


@pytest.mark.parametrize("text", [
    "A connection pool bug.", "1. Users: all of them could not sign in.\n2. Business: \n3. Systems: ",
    "- Immediate actions: restarted the cluster.", TEMPLATE["conclusion"],
    "Figures recorded by the status page:\n\n- Time to resolve: 4 h\n\nEvery customer was affected.",
])
def test_anything_a_person_wrote_is_content(text):
    assert not is_skeleton(text)


def test_publishing_names_the_required_sections_that_still_hold_only_the_template(session, incident):
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    editing.edit(session, ACTOR, incident, postmortem, ZONE,
                 sections={"root_cause": "A connection pool bug.", "impact": postmortem.sections["impact"]})
    with pytest.raises(InvalidInput) as refused:
        editing.publish(session, ACTOR, incident, postmortem, ZONE)
    assert refused.value.message == ("Write these sections before publishing: Impact, Resolution and recovery "
                                     "(empty, or still only the template's prompts).")
    assert postmortem.published_at is None and incident.status == "resolved"
    assert session.scalar(select(func.count()).select_from(OutboxEvent)
                          .where(OutboxEvent.kind == "postmortem")) == 0


def test_a_published_postmortem_cannot_be_edited_back_to_the_template(session, incident):
    postmortem = written(session, incident)
    editing.publish(session, ACTOR, incident, postmortem, ZONE, notify=False)
    with pytest.raises(InvalidInput, match="A published postmortem needs these sections: Resolution and recovery"):
        editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={"resolution": TEMPLATE["resolution"]})
    assert postmortem.sections["resolution"] == "Restarted and patched." and postmortem.revised_at is None


# --- saving what is stored already writes nothing --------------------------------------------------------------


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_an_edit_that_changes_nothing_writes_no_revision_no_audit_row_and_no_updated_time(session, incident):
    postmortem = written(session, incident)
    editing.publish(session, ACTOR, incident, postmortem, ZONE, notify=False)
    session.commit()
    audit_rows, updated_at = count(session, AuditEntry), postmortem.updated_at
    same_timeline = [dict(line) for line in postmortem.timeline]
    assert editing.edit(session, ACTOR, incident, postmortem, ZONE,
                        sections={key: f"  {value}\r\n" for key, value in postmortem.sections.items()},
                        timeline=same_timeline) is False
    assert editing.regenerate_timeline(session, ACTOR, incident, postmortem, ZONE) is False
    session.commit()
    assert count(session, PostmortemRevision) == 0 and count(session, AuditEntry) == audit_rows
    assert postmortem.revised_at is None and postmortem.updated_at == updated_at

    assert editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={"root_cause": "A pool bug."})
    assert count(session, PostmortemRevision) == 1 and postmortem.revised_at is not None


def test_an_item_saved_unchanged_writes_no_audit_row(session, incident):
    item = action_items.add_item(session, ACTOR, incident, title="Patch the pooler", owner="Dana",
                            due_date=T0.date() + timedelta(days=10), link="https://tracker.example/1")
    session.commit()
    audit_rows = count(session, AuditEntry)
    fields = {"title": " Patch the pooler ", "owner": "Dana", "due_date": item.due_date.isoformat(),
              "status": "open", "link": "https://tracker.example/1", "public": False}
    assert action_items.update_item(session, ACTOR, item, **fields) is False
    assert count(session, AuditEntry) == audit_rows
    assert action_items.update_item(session, ACTOR, item, **{**fields, "status": "done"}) is True
    assert count(session, AuditEntry) == audit_rows + 1


def test_an_explicit_empty_timeline_empties_it_and_no_timeline_leaves_it(session, incident):
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    lines = list(postmortem.timeline)
    editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={"root_cause": "A bug."})
    assert postmortem.timeline == lines
    editing.edit(session, ACTOR, incident, postmortem, ZONE, timeline=[])
    assert postmortem.timeline == []


@pytest.mark.parametrize("value, message", [
    ("A pool\x00bug.", "Root cause contains a control character"),
    ("A pool\x1bbug.", "Root cause contains a control character"),
])
def test_sections_refuse_control_characters_but_keep_line_breaks_and_tabs(session, incident, value, message):
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    with pytest.raises(InvalidInput, match=message):
        editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={"root_cause": value})
    editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={"root_cause": "Line one\r\n\tLine two"})
    assert postmortem.sections["root_cause"] == "Line one\n\tLine two"


# --- partial and full restoration ----------------------------------------------------------------------------


def restoration_lines(session, incident) -> list[tuple[str, str]]:
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    return [(line["at"], line["text"]) for line in postmortem.timeline if "restoration" in line["key"]]


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def test_a_recovery_in_one_step_is_a_full_restoration_without_a_partial_one(session):
    incident = outage(session, [(10, {"Database cluster": "major_outage"}), (120, {"Database cluster": "operational"})])
    assert restoration_lines(session, incident) == [
        (at(120), "Full restoration: all affected components operational in one step.")]
    figures = dict(recorded.figures(session, incident, ZONE).rows)
    assert figures["Time to mitigate (to partial restoration)"] == figures["Time to full restoration"] == "2 h"


def test_components_restored_at_the_same_moment_are_one_step(session):
    incident = outage(session, [(10, {"Database cluster": "major_outage", "Website": "partial_outage"}),
                                (60, {"Database cluster": "operational", "Website": "operational"})],
                      names=("Database cluster", "Website"))
    assert restoration_lines(session, incident) == [
        (at(60), "Full restoration: all affected components operational in one step.")]


def test_partial_restoration_is_the_first_improvement_after_the_worst_point(session):
    incident = outage(session, [(10, {"Database cluster": "partial_outage"}),
                                (20, {"Database cluster": "degraded_performance"}),
                                (40, {"Database cluster": "major_outage"}),
                                (60, {"Database cluster": "partial_outage", "Website": "degraded_performance"}),
                                (90, {"Database cluster": "operational", "Website": "operational"})],
                      names=("Database cluster", "Website"))
    assert restoration_lines(session, incident) == [
        (at(60), "Partial restoration: Database cluster improved to Partial Outage; "
                 "not everything is operational yet."),
        (at(90), "Full restoration: all affected components operational."),
    ]


def test_a_component_degraded_until_resolution_is_fully_restored_when_resolving(session):
    incident = outage(session, [(10, {"Database cluster": "major_outage"}),
                                (60, {"Database cluster": "degraded_performance"})])
    assert restoration_lines(session, incident) == [
        (at(60), "Partial restoration: Database cluster improved to Degraded Performance; "
                 "not everything is operational yet."),
        (at(240), "Full restoration: all affected components operational."),
    ]


def test_a_status_row_that_changed_nothing_is_not_in_the_timeline(session, incident):
    database = incident.components[0]
    session.add(StatusChange(component=database, from_status="major_outage", to_status="major_outage",
                             at=T0 + timedelta(minutes=20), source="probe", cause="recorded twice"))
    session.commit()
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    texts = [line["text"] for line in postmortem.timeline]
    assert "Database cluster: Major Outage → Major Outage." not in texts
    assert "Database cluster: Operational → Major Outage." in texts


def test_the_replayed_outage_lists_no_unchanged_status(runner, session):
    result = runner.invoke(args=["statuspage", "demo", "--scenario", "aug14"])
    assert result.exit_code == 0, result.output
    for postmortem_text in session.scalars(select(models.Postmortem)):
        for line in postmortem_text.timeline:
            assert not re.search(r"(\b[A-Z][\w ]+) → \1\.$", line["text"]), line["text"]


# --- one public view for every channel ---------------------------------------------------------------------


@pytest.fixture
def published(session, incident):
    """Published with three public items (out of due order, one linked and owned) and an internal one."""
    postmortem = written(session, incident)
    start = T0.date()
    action_items.add_item(session, ACTOR, incident, title="Patch the *pooler*", owner="Dana Secret",
                     due_date=start + timedelta(days=30), status="in_progress",
                     link="https://tracker.example/issues/1", public=True)
    action_items.add_item(session, ACTOR, incident, title="Write the runbook", public=True)
    action_items.add_item(session, ACTOR, incident, title="Update monitoring", owner="SRE",
                     due_date=start + timedelta(days=10), public=True)
    action_items.add_item(session, ACTOR, incident, title="Internal follow-up", owner="Dana Secret")
    editing.publish(session, ACTOR, incident, postmortem, ZONE)
    session.commit()
    return postmortem


def expected_items() -> str:
    def day(days: int) -> str:
        due = T0.date() + timedelta(days=days)
        return f"{due.strftime('%b')} {due.day}, {due.year}"

    return "\n".join([
        f"- Update monitoring — Open, due {day(10)}",
        f"- [Patch the \\*pooler\\*](<https://tracker.example/issues/1>) — In progress, due {day(30)}",
        "- Write the runbook — Open",
    ])


def postmortem_html(html: str) -> str:
    return re.search(r'<section class="postmortem".*?</section>', html, re.S).group(0)


def items_list(html: str) -> str:
    return re.search(r"<h[23]>Action items</h[23]>\s*(<ul>.*?</ul>)", html, re.S).group(1)


def test_markdown_channels_list_the_same_items_and_sections(session, client, incident, published, api_token,
                                                             page_code):
    block = "## Action items\n\n" + expected_items() + "\n"
    api = client.get(f"/api/v1/pages/{page_code}/incidents/{incident.code}", headers=api_token()).get_json()
    email = session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "postmortem")).one().payload["body"]
    for body in (api["postmortem_body"], email):
        assert block in body + "\n"
        assert "Dana Secret" not in body and "Internal follow-up" not in body and "SRE" not in body
        assert "## Lessons learned" not in body  # still the template's prompts
        assert "## Root cause\n\nA connection pool bug." in body
    assert api["postmortem_body"].startswith("# Postmortem: Elevated error rates\n")
    text = session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "postmortem")).one().payload["text"]
    plain_items = expected_items().replace("\\*", "*").replace(
        "[Patch the *pooler*](<https://tracker.example/issues/1>)", "Patch the *pooler* <https://tracker.example/issues/1>")
    assert "Action items\n------------\n" + plain_items in text and "Dana Secret" not in text
    assert not email.startswith("# Postmortem")


def test_the_page_the_feed_and_the_static_copy_show_the_same_postmortem(
        app, client, runner, session, incident, published, tmp_path: Path):
    app.extensions["statuspage.public_cache"].clear()
    page = postmortem_html(client.get(f"/incidents/{incident.code}").get_data(as_text=True))
    assert "Lessons learned" not in page and "Dana Secret" not in page and "Internal follow-up" not in page
    assert "Monitoring:" not in page
    feed = feedparser.parse(client.get("/history.atom").get_data()).entries[0].content[0].value
    assert "Lessons learned" not in feed and "Dana Secret" not in feed
    assert items_list(page) == items_list(feed)
    titles = re.findall(r"<li>(?:<a [^>]*>)?([^<—]+?)(?:</a>)? —", items_list(page))
    assert titles == ["Update monitoring", "Patch the *pooler*", "Write the runbook"]
    assert 'href="https://tracker.example/issues/1"' in items_list(page)

    result = runner.invoke(args=["statuspage", "export-static", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    static = (tmp_path / "site" / "incidents" / incident.code / "index.html").read_text()
    assert postmortem_html(static) == page


def test_the_postmortem_email_has_one_title_and_a_summary_that_reads_as_a_sentence(session, incident):
    postmortem = editing.start(session, ACTOR, incident, ZONE)
    summary = postmortem.sections["summary"]
    assert summary == ("On August 14, 2024, at approximately 14:30 CEST, Database cluster was affected by the "
                       "incident “Elevated error rates”. The issue lasted approximately 4 hours and was resolved "
                       "at 18:30 CEST; normal operations have since resumed.")
    editing.edit(session, ACTOR, incident, postmortem, ZONE, sections={
        "root_cause": "A connection pool bug.", "impact": "All users.", "resolution": "Restarted."})
    editing.publish(session, ACTOR, incident, postmortem, ZONE)
    session.commit()
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.kind == "postmortem")).one()
    ctx = MailContext(base_url="http://status.test", page_name="Acme", mail_from="status@acme.test",
                      secret_key="k", time_zone=ZONE)
    rendered = render_event(ctx, event, personal=False)
    assert rendered.subject == "[Acme] Postmortem: Elevated error rates"
    assert rendered.text.count("Postmortem: Elevated error rates") == 1
    assert rendered.text.startswith(f"Postmortem: Elevated error rates\n\nSummary\n-------\n{summary}\n\nTimeline")
    assert "Conclusion\n----------\nWe apologize" in rendered.text and "Lessons learned" not in rendered.text
    assert rendered.html.count("Postmortem: Elevated error rates") == 1


# --- the management API --------------------------------------------------------------------------------------


def test_a_draft_read_from_the_api_and_sent_back_changes_nothing(client, session, incident, api_token, page_code):
    headers = api_token()
    postmortem = written(session, incident)
    action_items.add_item(session, ACTOR, incident, title="Patch the pooler", owner="Dana",
                     due_date=T0.date() + timedelta(days=5))
    session.commit()
    url = f"/api/v1/pages/{page_code}/incidents/{incident.code}/postmortem"
    before = client.get(url, headers=headers).get_json()
    audit_rows = count(session, AuditEntry)
    again = client.put(url, headers=headers, json={"postmortem": {"body_draft": before["body_draft"]}})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["sections"] == before["sections"] and again.get_json()["body_draft"] == before["body_draft"]
    assert count(session, AuditEntry) == audit_rows
    session.expire_all()
    assert postmortem.sections["action_items"] == ""


@pytest.mark.parametrize("body, field", [
    ({"sections": {"root_cause": "A pool\u0000bug."}}, "root_cause"),
    ({"timeline": [{"at": "2024-08-14T15:20:00+02:00", "text": "Manual\u0000intervention"}]}, "text"),
    ({"body_draft": "## Root cause\n\nA pool\u0000bug."}, "body_draft"),
    ({"sections": {"root_cause": "A pool\u001bbug."}}, "root_cause"),
    ({"timeline": [{"at": "2024-08-14T15:20:00+02:00", "text": "Manual\u0007intervention"}]}, "timeline"),
])
def test_the_api_refuses_nul_and_control_characters_with_a_clear_422(client, session, incident, api_token,
                                                                     page_code, body, field):
    url = f"/api/v1/pages/{page_code}/incidents/{incident.code}/postmortem"
    response = client.put(url, headers=api_token(), json={"postmortem": body})
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["field"] == field and re.search("NUL|control character", error["message"]), error
    assert "\x00" not in str(client.get(url, headers=api_token("responder")).get_json())
