"""What subscribers read: a list in an update keeps its bullets in the plain-text part, and a scheduled
maintenance says its components will be under maintenance (not "Operational", their status today)."""

from __future__ import annotations

from datetime import timedelta

from statuspage.audit import Actor
from statuspage.components import catalog
from statuspage.db import utcnow
from statuspage.incidents import lifecycle, windows
from statuspage.markdown import plain
from tests.test_notifications import subscribe_and_confirm

ACTOR = Actor.system("test")


def test_plain_text_keeps_bullets_and_numbers():
    text = plain("We did:\n\n- restart the pool\n- watch\n\n1. one\n2. two\n\n3. three")
    lines = [line for line in text.splitlines() if line]
    assert lines == ["We did:", "- restart the pool", "- watch", "1. one", "2. two", "3. three"]


def emails_after(mail_app, worker_for, smtp_server, session, change) -> list:
    sink, _port = smtp_server
    client = mail_app.test_client()
    worker = worker_for(mail_app)
    subscribe_and_confirm(client, worker, sink, "ana@example.org")
    change(session)
    session.commit()
    worker.run_once()
    return sink.to("ana@example.org")[1:]


def test_an_update_with_a_list_reads_as_a_list_in_the_text_part(mail_app, worker_for, smtp_server, session):
    def open_with_a_list(session) -> None:
        database = catalog.create_component(session, ACTOR, "Database")
        lifecycle.open_incident(session, ACTOR, name="Errors", body="So far:\n\n- failover started\n- reads OK",
                                status="investigating", component_statuses={database.code: "major_outage"})

    [message] = emails_after(mail_app, worker_for, smtp_server, session, open_with_a_list)
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "- failover started\n- reads OK" in text
    assert "- Database: Major outage" in text


def test_a_scheduled_maintenance_says_its_components_will_be_under_maintenance(mail_app, worker_for, smtp_server,
                                                                               session):
    def schedule(session) -> None:
        database = catalog.create_component(session, ACTOR, "Database")
        start = utcnow() + timedelta(days=2)
        windows.schedule_maintenance(session, ACTOR, name="Database upgrade", body="Planned.",
                                     scheduled_for=start, scheduled_until=start + timedelta(hours=2),
                                     component_codes=[database.code])

    [message] = emails_after(mail_app, worker_for, smtp_server, session, schedule)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Database: under maintenance during the window" in text
    assert "Database: under maintenance during the window" in html
    assert "Operational" not in text


def _first_heading_level(html: str) -> int:
    import re
    return int(re.search(r"<h([1-6])", html).group(1))


def test_an_email_opens_with_the_pages_logo_and_a_stripe_in_the_incidents_colour(mail_app, worker_for, smtp_server,
                                                                                 session):
    from statuspage.page import settings
    from statuspage.page.record import get_page

    def open_major(session) -> None:
        png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
        settings.update_settings(session, ACTOR, get_page(session), {"brand_color": "#5b21b6"},
                                 {"logo": settings.Upload(png, "logo.png")})
        database = catalog.create_component(session, ACTOR, "Database")
        lifecycle.open_incident(session, ACTOR, name="Errors", body="Looking.",
                                component_statuses={database.code: "major_outage"})

    [message] = emails_after(mail_app, worker_for, smtp_server, session, open_major)
    html = message.get_body(("html",)).get_content()
    digest = settings.digests(session)["logo"][:12]
    assert f'<img src="http://status.test/assets/logo?v={digest}"' in html
    assert "border-top:6px solid #b3261e" in html  # a major outage is a critical incident: red, not the brand
    assert _first_heading_level(html) == 1  # the incident's name is the first and largest heading


def test_an_email_of_a_page_without_a_logo_names_the_page_in_its_header(mail_app, worker_for, smtp_server, session):
    def open_minor(session) -> None:
        lifecycle.open_incident(session, ACTOR, name="Slow pages", body="Looking.", impact_override="minor")

    [message] = emails_after(mail_app, worker_for, smtp_server, session, open_minor)
    html = message.get_body(("html",)).get_content()
    assert "<img" not in html and "border-top:6px solid #b58100" in html
    assert html.index("status</span>") < html.index("<h1")
