"""A draft is never hidden: open drafts and outages no incident explains stand first on the admin's dashboard and
Incidents page, each with its action, and every draft has a page of its own that responders' alerts link to."""

from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.components import status_rules
from statuspage.incidents import lifecycle, lookups
from statuspage.models import Component, ComponentStatus, Incident, IncidentDraft, Probe
from statuspage.probes import drafts
from statuspage.probes.rules import apply_check
from tests.conftest import post_form
from tests.probe_builders import ACTOR, T0, a_component, a_probe, bad, good, minutes, sign_in

ADMIN_PAGES = ["/admin/", "/admin/incidents"]


# --- builders ---------------------------------------------------------------------------------


def a_draft(session: Session, component: Component) -> IncidentDraft:
    """The draft a probe proposes when one failed check takes `component` into a major outage."""
    probe = a_probe(session, component, failures_to_outage=1, successes_to_recover=1, auto_incident="draft")
    apply_check(session, probe, bad(), T0)
    session.commit()
    return session.scalars(select(IncidentDraft).where(IncidentDraft.component_id == component.id)).one()


def recover(session: Session, draft: IncidentDraft) -> None:
    """A good check of the draft's probe: its component is operational again, and the draft set aside."""
    apply_check(session, session.get(Probe, draft.probe_id), good(), T0 + minutes(1))
    session.commit()


def a_component_down(session: Session, name: str, status: ComponentStatus = ComponentStatus.MAJOR_OUTAGE,
                     ) -> Component:
    """A component a responder set down by hand, with no incident saying why."""
    component = a_component(session, name)
    status_rules.set_status(session, component, status, ACTOR)
    session.commit()
    return component


def an_incident_about(session: Session, component: Component, status: str = "major_outage") -> Incident:
    incident = lifecycle.open_incident(session, ACTOR, name=f"{component.name} trouble", body="Looking.",
                                       status="investigating", component_statuses={component.code: status})
    session.commit()
    return incident


# --- reading ----------------------------------------------------------------------------------


def parse(response) -> lxml.html.HtmlElement:
    assert response.status_code == 200, response.get_data(as_text=True)
    return lxml.html.fromstring(response.get_data(as_text=True))


def text(element) -> str:
    return " ".join(element.text_content().split())


def first_after_heading(document) -> lxml.html.HtmlElement:
    """The first thing of the page's own content, right under its title."""
    [heading] = document.xpath("//main//h1")
    return heading.getnext()


def waiting_cards(document) -> list[str]:
    """The titles of what waits for a responder, in the order shown."""
    return [text(h) for h in document.xpath("//section[@class='waiting']//article/h3")]


def actions(document) -> list[str]:
    """Where the forms and links of what waits lead."""
    box = document.xpath("//section[@class='waiting']")[0]
    return box.xpath(".//form/@action") + box.xpath(".//a/@href")


# --- drafts and unexplained outages come first ------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_an_open_draft_stands_first_with_publish_dismiss_and_a_link_to_review_it(client, session, path):
    draft = a_draft(session, a_component(session, "Checkout API"))
    sign_in(client, session, "responder")

    document = parse(client.get(path))

    assert first_after_heading(document).get("class") == "waiting"
    assert waiting_cards(document) == ["Elevated errors on Checkout API"]
    assert actions(document) == [f"/admin/drafts/{draft.code}/publish", f"/admin/drafts/{draft.code}/dismiss",
                                 f"/admin/drafts/{draft.code}"]
    buttons = [text(b) for b in document.xpath("//section[@class='waiting']//button")]
    assert buttons == ["Publish incident: Elevated errors on Checkout API", "Dismiss Elevated errors on Checkout API"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_an_outage_no_incident_explains_stands_first_with_a_link_to_open_one(client, session, path):
    search = a_component_down(session, "Search", ComponentStatus.PARTIAL_OUTAGE)
    sign_in(client, session, "responder")

    document = parse(client.get(path))

    assert first_after_heading(document).get("class") == "waiting"
    assert waiting_cards(document) == ["Search: Partial Outage, no incident"]
    assert actions(document) == [f"/admin/incidents/new?component={search.code}"]


def test_the_link_opens_the_incident_form_with_the_component_at_its_status_now(client, session):
    search = a_component_down(session, "Search", ComponentStatus.PARTIAL_OUTAGE)
    a_component(session, "Website")
    sign_in(client, session, "responder")

    document = parse(client.get(f"/admin/incidents/new?component={search.code}&component=nope"))

    chosen = {select.get("name"): select.xpath("./option[@selected]/@value")
              for select in document.xpath("//select[starts-with(@name, 'component-')]")}
    assert chosen == {f"component-{search.code}": ["partial_outage"], "component-" + _code(session, "Website"): []}


def _code(session: Session, name: str) -> str:
    return session.scalars(select(Component.code).where(Component.name == name)).one()


def test_drafts_come_before_outages_and_an_outage_with_a_draft_is_listed_once_as_the_draft(client, session):
    a_component_down(session, "Search")
    a_draft(session, a_component(session, "Checkout API"))
    sign_in(client, session, "responder")

    document = parse(client.get("/admin/incidents"))

    assert waiting_cards(document) == ["Elevated errors on Checkout API", "Search: Major Outage, no incident"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_when_nothing_waits_nothing_extra_is_shown(client, session, path):
    an_incident_about(session, a_component(session, "Database"))  # down, and said why
    a_component_down(session, "Website", ComponentStatus.DEGRADED_PERFORMANCE)  # slow is not down
    recover(session, a_draft(session, a_component(session, "Checkout API")))
    sign_in(client, session, "responder")

    response = client.get(path)

    assert "Waiting for a responder" not in response.get_data(as_text=True)
    assert parse(response).xpath("//section[@class='waiting']") == []


def test_unexplained_outages_are_components_down_that_no_unresolved_incident_affects(session):
    explained = a_component(session, "Database")
    an_incident_about(session, explained)
    over = a_component(session, "Website")
    lifecycle.post_update(session, ACTOR, an_incident_about(session, over), status="resolved", body="Fixed.",
                          restore_components=False)
    partial = a_component_down(session, "Search", ComponentStatus.PARTIAL_OUTAGE)
    a_component_down(session, "Email", ComponentStatus.DEGRADED_PERFORMANCE)
    session.commit()

    assert [c.name for c in lookups.unexplained_outages(session)] == ["Website", "Search"]
    assert over.status == ComponentStatus.MAJOR_OUTAGE and partial.status == ComponentStatus.PARTIAL_OUTAGE


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_publishing_from_the_top_opens_the_incident_and_dismissing_comes_back_to_the_page(client, session, path):
    first = a_draft(session, a_component(session, "Checkout API"))
    second = a_draft(session, a_component(session, "Search"))
    sign_in(client, session, "responder")

    published = post_form(client, f"/admin/drafts/{first.code}/publish", {"back": path}, token_from=path)
    dismissed = post_form(client, f"/admin/drafts/{second.code}/dismiss", {"back": path}, token_from=path)

    session.rollback()
    session.expire_all()
    [incident] = session.scalars(select(Incident)).all()
    assert published.headers["Location"] == f"/admin/incidents/{incident.code}"
    assert dismissed.headers["Location"] == path
    assert session.get(IncidentDraft, second.id).state == "dismissed"
    # Dismissing a draft does not explain the outage: Search is still down with nothing said about it.
    assert waiting_cards(parse(client.get(path))) == ["Search: Major Outage, no incident"]


# --- a draft's own page ---------------------------------------------------------------------------


def test_an_open_draft_shows_what_it_proposes_with_publish_and_dismiss(client, session):
    draft = a_draft(session, a_component(session, "Checkout API"))
    sign_in(client, session, "responder")

    document = parse(client.get(f"/admin/drafts/{draft.code}"))

    facts = dict(zip([text(t) for t in document.xpath("//dl/dt")], [text(d) for d in document.xpath("//dl/dd")],
                     strict=True))
    assert facts["Component"] == "Checkout API (now Major Outage)"
    assert facts["Proposed status"] == "Major Outage"
    assert facts["Since"].startswith("Aug 14, 2024 14:00 CEST")
    assert facts["Proposed name"] == "Elevated errors on Checkout API"
    assert facts["Proposed message"] == draft.body
    assert document.xpath("//main//form/@action") == [f"/admin/drafts/{draft.code}/publish",
                                                      f"/admin/drafts/{draft.code}/dismiss"]


def test_a_draft_that_publishes_itself_later_says_when_on_its_page_and_at_the_top(client, session):
    draft = a_draft(session, a_component(session, "Checkout API"))
    draft.publish_at = T0 + minutes(5)  # a probe in `publish` mode that waits before telling customers
    session.commit()
    sign_in(client, session, "responder")

    for path in (f"/admin/drafts/{draft.code}", "/admin/incidents"):
        assert "publishes itself at Aug 14, 2024 14:05 CEST" in text(parse(client.get(path))), path


def test_an_admin_sees_the_draft_page_too_and_outsiders_are_sent_to_sign_in(client, session):
    draft = a_draft(session, a_component(session, "Checkout API"))

    outsider = client.get(f"/admin/drafts/{draft.code}")
    sign_in(client, session, "admin")

    assert outsider.status_code == 302 and "/login" in outsider.headers["Location"]
    assert client.get(f"/admin/drafts/{draft.code}").status_code == 200


def test_a_published_draft_links_to_its_incident(client, session):
    draft = a_draft(session, a_component(session, "Checkout API"))
    sign_in(client, session, "responder")
    post_form(client, f"/admin/drafts/{draft.code}/publish", {"back": f"/admin/drafts/{draft.code}"},
              token_from=f"/admin/drafts/{draft.code}")
    session.rollback()
    [incident] = session.scalars(select(Incident)).all()

    document = parse(client.get(f"/admin/drafts/{draft.code}"))

    [notice] = document.xpath("//p[@class='notice']")
    assert text(notice) == "Published as Elevated errors on Checkout API (Investigating)."
    assert notice.xpath(".//a/@href") == [f"/admin/incidents/{incident.code}"]
    assert document.xpath("//main//form") == []


def test_a_dismissed_draft_says_so_and_offers_to_open_an_incident_by_hand(client, session):
    draft = a_draft(session, a_component(session, "Checkout API"))
    sign_in(client, session, "responder")

    dismissed = post_form(client, f"/admin/drafts/{draft.code}/dismiss", {"back": f"/admin/drafts/{draft.code}"},
                          token_from=f"/admin/drafts/{draft.code}")
    document = parse(client.get(dismissed.headers["Location"]))

    [notice] = document.xpath("//p[@class='notice']")
    assert text(notice).startswith("Dismissed: a responder set it aside without publishing it")
    assert notice.xpath(".//a/@href") == [f"/admin/incidents/new?component={draft.component.code}"]
    assert "Draft dismissed." in text(document)
    assert document.xpath("//main//form") == []


def test_a_draft_whose_component_recovered_says_so(client, session):
    draft = a_draft(session, a_component(session, "Checkout API"))
    recover(session, draft)
    sign_in(client, session, "responder")

    document = parse(client.get(f"/admin/drafts/{draft.code}"))

    [notice] = document.xpath("//p[@class='notice']")
    assert text(notice).startswith("Recovered: Checkout API was operational again before anyone published it")
    assert document.xpath("//main//form") == []


def test_publishing_a_draft_twice_from_its_page_says_what_happened_there(client, session):
    draft = a_draft(session, a_component(session, "Checkout API"))
    sign_in(client, session, "responder")
    page = f"/admin/drafts/{draft.code}"
    drafts.publish_draft(session, ACTOR, session.get(IncidentDraft, draft.id), T0 + minutes(1))
    session.commit()

    again = post_form(client, f"/admin/drafts/{draft.code}/publish", {"back": page}, token_from=page)

    assert again.headers["Location"] == page
    assert "This draft was already published." in client.get(page).get_data(as_text=True)


def test_an_unknown_draft_is_a_404_page(client, session):
    sign_in(client, session, "responder")

    response = client.get("/admin/drafts/nope")

    assert response.status_code == 404
    assert "There is no draft with that id." in response.get_data(as_text=True)
