"""The postmortem editor in the admin: a refused form keeps what the responder typed, an unchanged
form saves nothing, and every message names what to fix."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from statuspage.models import AuditEntry, PostmortemRevision
from statuspage.postmortems import action_items, editing
from tests.postmortem_builders import ACTOR, T0, ZONE, form_fields, outage, written


@pytest.fixture
def incident(session):
    return outage(session, [(10, {"Database cluster": "major_outage"}),
                            (90, {"Database cluster": "partial_outage"}),
                            (150, {"Database cluster": "operational"})])


@pytest.fixture
def editor(client, incident, login_as):
    """The responder's editor: GET gives the page, `fields()` what its form would post unchanged."""
    login_as("responder")

    class Editor:
        url = f"/admin/incidents/{incident.code}/postmortem"

        def page(self) -> str:
            response = client.get(self.url)
            assert response.status_code == 200
            return response.get_data(as_text=True)

        def fields(self) -> dict[str, str]:
            return form_fields(self.page())

        def post(self, fields: dict[str, str], action: str = "save"):
            return client.post(self.url, data={**fields, "action": action})

    return Editor()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def alert(response) -> str:
    match = re.search(r'<p class="error" role="alert">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)[:2000]
    return match.group(1)


def stored(session, incident):
    session.expire_all()
    return editing.get(session, incident)


def new_row(fields: dict[str, str]) -> int:
    """The number of the first empty row the form offers for a new line."""
    return min(int(n) for n in re.findall(r"line-(\d+)-text", " ".join(fields)) if fields[f"line-{n}-text"] == "")


# --- an unchanged form saves nothing ---------------------------------------------------------------------


def test_saving_the_form_unchanged_writes_nothing(client, session, incident, editor):
    fields = editor.fields()
    before = stored(session, incident)
    updated_at, audit_rows = before.updated_at, count(session, AuditEntry)
    response = editor.post(fields)
    assert response.status_code == 302
    assert "Nothing changed" in client.get(response.location).get_data(as_text=True)
    after = stored(session, incident)
    assert after.updated_at == updated_at and count(session, AuditEntry) == audit_rows


def test_an_unchanged_published_postmortem_gets_no_revision_and_no_updated_time(client, session, incident, editor):
    postmortem = written(session, incident)
    editing.publish(session, ACTOR, incident, postmortem, ZONE, notify=False)
    session.commit()
    page = editor.page()
    assert "Save and update the published postmortem" in page and "Save draft" not in page
    audit_rows = count(session, AuditEntry)
    assert editor.post(form_fields(page)).status_code == 302
    assert count(session, PostmortemRevision) == 0 and count(session, AuditEntry) == audit_rows
    assert stored(session, incident).revised_at is None

    fields = {**form_fields(page), "section-root_cause": "A connection pool bug, now patched."}
    assert editor.post(fields).status_code == 302
    assert count(session, PostmortemRevision) == 1 and stored(session, incident).revised_at is not None
    assert re.search(r"Revisions since publishing.*by responder@example\.com", editor.page(), re.S)


def test_the_draft_button_says_save_draft_before_publishing(editor):
    page = editor.page()
    assert ">Save draft</button>" in page and ">Save and publish</button>" in page
    assert "Revisions since publishing" not in page


# --- a refused form keeps what was typed -----------------------------------------------------------------


def test_a_refused_publish_shows_the_message_and_everything_that_was_typed(session, incident, editor):
    fields = editor.fields()
    number = new_row(fields)
    fields.update({"section-root_cause": "Our careful analysis of the pooler.",
                   "section-lessons": "Alert on pool exhaustion.",
                   f"line-{number}-at": "2024-08-14T15:20", f"line-{number}-text": "Manual intervention began."})
    response = editor.post(fields, action="publish")
    assert response.status_code == 422
    assert "Resolution and recovery" in alert(response) and "Impact" in alert(response)
    html = response.get_data(as_text=True)
    for typed in ("Our careful analysis of the pooler.", "Alert on pool exhaustion.", "Manual intervention began.",
                  'value="2024-08-14T15:20"'):
        assert typed in html, typed
    postmortem = stored(session, incident)
    assert postmortem.published_at is None and postmortem.sections["root_cause"] == ""


@pytest.mark.parametrize("at, text, message", [
    ("2024-08-14T15:20", "", "has a time but no text"),
    ("", "The database team began manual intervention.", "has no valid time"),
])
def test_a_half_filled_timeline_line_is_refused_naming_it(session, incident, editor, at, text, message):
    fields = editor.fields()
    number = new_row(fields)
    fields.update({"section-root_cause": "Typed before the mistake.",
                   f"line-{number}-at": at, f"line-{number}-text": text})
    response = editor.post(fields)
    assert response.status_code == 422
    assert re.match(rf"Timeline line {number}\b.*{message}", alert(response)), alert(response)
    html = response.get_data(as_text=True)
    assert "Typed before the mistake." in html and f'<span class="line-number">{number}.</span>' in html
    assert (text or f'value="{at}"') in html
    assert stored(session, incident).sections["root_cause"] == ""


def test_control_characters_in_a_section_are_refused_with_a_message(session, incident, editor):
    fields = {**editor.fields(), "section-root_cause": "A pool\x01bug."}
    response = editor.post(fields)
    assert response.status_code == 422
    assert "Root cause contains a control character" in alert(response)
    assert stored(session, incident).sections["root_cause"] == ""


def test_a_post_without_timeline_rows_leaves_the_timeline_alone(client, session, incident, editor):
    editor.page()
    lines = list(stored(session, incident).timeline)
    fields = {k: v for k, v in editor.fields().items() if not k.startswith("line-")}
    fields["section-root_cause"] = "A connection pool bug."
    assert editor.post(fields).status_code == 302
    postmortem = stored(session, incident)
    assert postmortem.timeline == lines and postmortem.sections["root_cause"] == "A connection pool bug."


# --- action items -------------------------------------------------------------------------------------------


def test_the_item_form_is_labelled(editor):
    page = editor.page()
    assert re.search(r"<label>Title <input name=\"title\"", page)
    assert re.search(r"<label>Owner <input name=\"owner\"", page)


def test_a_refused_new_item_keeps_what_was_typed(client, session, incident, editor):
    fields = {**form_fields(editor.page(), "action-item-form"), "title": "Rotate the pool credentials",
              "owner": "Dana", "due_date": (T0.date() - timedelta(days=1)).isoformat(),
              "link": "https://tracker.example/2"}
    response = client.post(f"/admin/incidents/{incident.code}/action-items", data=fields)
    assert response.status_code == 422
    assert "before the incident started" in alert(response)
    html = response.get_data(as_text=True)
    for typed in ('value="Rotate the pool credentials"', 'value="Dana"', 'value="https://tracker.example/2"'):
        assert typed in html, typed
    assert action_items.items_for(session, incident) == []


def test_a_refused_item_change_keeps_what_was_typed(client, session, incident, editor):
    item = action_items.add_item(session, ACTOR, incident, title="Patch the pooler", owner="Dana")
    session.commit()
    fields = {**form_fields(editor.page(), "action-item-form"), "title": "Patch the pooler\x07 today",
              "owner": "Sam"}
    response = client.post(f"/admin/action-items/{item.code}", data=fields)
    assert response.status_code == 422
    assert "Title must be one line without control characters" in alert(response)
    assert 'value="Sam"' in response.get_data(as_text=True)
    session.expire_all()
    assert (item.title, item.owner) == ("Patch the pooler", "Dana")
