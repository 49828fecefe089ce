"""`demo --scenario aug14`: the outage of the postmortem we serve, replayed on a simulated clock.

On August 14th, 2024 a failed database cluster took the web stack down: probes on the cluster fail
from 14:30, the alert arrives at 14:35, responders publish the drafted incident at 14:40 and identify
the cause at 15:00, restore service partly at 16:00 and fully at 17:00, and resolve it at 18:30. Then
the postmortem is drafted from that record and published. Every step goes through the same domain
functions as the live system (probes, alert webhook, draft publishing, updates, postmortem), so the
replay also shows that the record tells the story.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage import audit
from statuspage.audit import Actor
from statuspage.config import Settings
from statuspage.incidents import lifecycle
from statuspage.models import AuditEntry, Component, Incident
from statuspage.page.record import get_page
from statuspage.postmortems import action_items, editing
from statuspage.probes import drafts, rules, service
from statuspage.probes.base import CheckResult
from statuspage.tools.demo import seed_components

DAY = date(2024, 8, 14)
NAME = "Elevated error rates and latency across the web stack"
SEEDED = "demo.seeded"
RESPONDER = Actor.system("demo", "on-call engineer")
SECTIONS = {
    "summary": (
        "On August 14th, 2024, at approximately 14:30, our web stack service experienced a major outage "
        "affecting users globally. The issue lasted for approximately 4 hours, during which time users were "
        "unable to access our services. The incident was resolved at 18:30, and normal operations have since "
        "resumed."),
    "root_cause": (
        "The outage was caused by a failure in our primary database cluster. Specifically, a bug in the "
        "database connection pooling software led to an excessive number of failed connections, which made "
        "the cluster unresponsive under load."),
    "impact": (
        "1. **Users**: all users experienced complete service unavailability or degraded performance.\n"
        "2. **Business**: significant customer dissatisfaction and potential loss of revenue.\n"
        "3. **Systems**: high resource utilization and errors in the web stack's monitoring and alerting."),
    "resolution": (
        "- **Immediate actions**: the database team restarted the affected database cluster and applied a "
        "temporary fix to the connection pooling software.\n"
        "- **Long-term actions**: a patch for the connection pooling bug was developed and applied to "
        "production, and our monitoring now detects and alerts on such issues sooner."),
    "lessons": (
        "1. **Monitoring**: detect database performance issues before they lead to widespread outages.\n"
        "2. **Incident response**: improve coordination between engineering and database teams.\n"
        "3. **Testing**: validate database-related changes more rigorously."),
    "conclusion": (
        "The outage highlighted critical areas for improvement in our monitoring and incident response. "
        "We are committed to the lessons above to make our web stack more reliable and resilient. **We "
        "apologize for the inconvenience caused** and appreciate the understanding and patience of our "
        "users during this incident."),
}
ACTION_ITEMS = [
    ("Update monitoring tools: integrate detailed database performance metrics", "SRE team", date(2024, 9, 1)),
    ("Improve documentation: document the incident response process", "Engineering", date(2024, 9, 15)),
    ("Review testing procedures for database and web stack changes", "Database team", date(2024, 9, 30)),
]


def _at(hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=ZoneInfo(zone))


def _component(session: Session, name: str) -> Component:
    return session.scalars(select(Component).where(Component.name == name)).one()


def replayed(session: Session) -> AuditEntry | None:
    """The mark the replay left, if it ran on this page (pages replayed before marks existed get one now)."""
    mark = session.scalars(select(AuditEntry).where(AuditEntry.action == SEEDED, AuditEntry.target_type == "incident")
                           .order_by(AuditEntry.id).limit(1)).first()
    if mark is not None:
        return mark
    legacy = session.scalars(select(Incident).where(Incident.name == NAME).limit(1)).first()
    return _mark(session, legacy) if legacy is not None else None


def _mark(session: Session, incident: Incident) -> AuditEntry:
    # An audit row, not the incident's name: responders may rename or delete the incident, and a
    # second `demo --scenario aug14` (every `make run`) must still leave the page alone.
    return audit.record(session, Actor.system("demo"), SEEDED, "incident", incident.code, {"scenario": "aug14"})


def aug14(session: Session, settings: Settings) -> Incident | None:
    """Replay the outage and publish its postmortem, notifying no one.

    Runs once per page: afterwards it returns the replayed incident, or None if it was deleted since.
    """
    mark = replayed(session)
    if mark is not None:
        return session.scalars(select(Incident).where(Incident.code == mark.target_code)).first()
    seed_components(session, settings)
    page = get_page(session)
    if page is None:  # seed_components sets the page up
        raise RuntimeError("the demo page is not set up")
    zone = page.time_zone
    database = _component(session, "Database cluster")
    website, api = _component(session, "Website"), _component(session, "REST API")

    # Monitoring: a connection probe on the cluster and the Alertmanager webhook.
    probe = service.create_probe(session, RESPONDER, {
        "name": "Primary cluster connections", "kind": "tcp", "component_id": database.code,
        "target": "db-primary.internal:5432", "interval_seconds": 60, "timeout_seconds": 5,
        "failures_to_outage": 3, "outage_status": "major_outage", "auto_incident": "draft",
    }, _at(14, 0, zone))
    alerts = service.create_probe(session, RESPONDER, {
        "name": "Alertmanager", "kind": "alertmanager", "component_id": database.code,
    }, _at(14, 0, zone))
    for minute in range(25, 30):
        rules.apply_check(session, probe, CheckResult(ok=True, latency_ms=4.0, reason="ok"), _at(14, minute, zone))
    for minute in range(30, 36):
        rules.apply_check(session, probe, CheckResult(
            ok=False, reason="connection refused: too many connections (pool exhausted)"), _at(14, minute, zone))
    service.receive_alerts(session, alerts, {"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "fingerprint": "dbconn0814",
        "labels": {"alertname": "DatabaseConnectionErrors", "severity": "critical", "component": database.code},
        "startsAt": _at(14, 35, zone).isoformat()}]}, _at(14, 35, zone))

    # Responders: publish the drafted incident, then update it as service is restored.
    draft = drafts.open_draft_for(session, database)
    if draft is None:  # the failing checks above draft it (the probe's auto_incident is "draft")
        raise RuntimeError("the replayed checks drafted no incident")
    draft.name = NAME
    draft.body = "We are investigating elevated error rates and latency across the web stack; many requests fail."
    incident = drafts.publish_draft(session, RESPONDER, draft, _at(14, 40, zone), notify=False)
    steps = [
        (_at(15, 0, zone), "identified",
         "The issue is related to a malfunctioning database cluster: connection attempts are exhausting its "
         "pool. The website and API fail for many users.",
         {website.code: "partial_outage", api.code: "partial_outage"}),
        (_at(15, 20, zone), "identified",
         "The database team has begun manual intervention to restore functionality.", {}),
        (_at(16, 0, zone), "identified",
         "Service is partly restored; some requests still fail with intermittent connectivity errors.",
         {database.code: "partial_outage", website.code: "degraded_performance", api.code: "degraded_performance"}),
        (_at(17, 0, zone), "monitoring",
         "Service is fully restored after additional fixes and validation. We are monitoring.",
         {database.code: "operational", website.code: "operational", api.code: "operational"}),
        (_at(18, 30, zone), "resolved",
         "All systems are verified to be functioning normally. A postmortem will follow.", {}),
    ]
    for when, status, body, statuses in steps:
        lifecycle.post_update(session, RESPONDER, incident, status=status, body=body,
                              component_statuses=statuses, deliver_notifications=False, now=when)
        if when == _at(15, 20, zone):
            # Responders take over the cluster's status while they repair it; probes only record.
            database.pinned = True
    service.receive_alerts(session, alerts, {"version": "4", "status": "resolved", "alerts": [{
        "status": "resolved", "fingerprint": "dbconn0814",
        "labels": {"alertname": "DatabaseConnectionErrors", "severity": "critical", "component": database.code},
        "startsAt": _at(14, 35, zone).isoformat()}]}, _at(17, 0, zone))
    for minute in range(0, 3):
        rules.apply_check(session, probe, CheckResult(ok=True, latency_ms=5.0, reason="ok"), _at(17, minute, zone))
    # Paused so a worker on this page never checks a host that exists only in the story.
    probe.paused = True
    database.pinned = False
    session.flush()

    # The postmortem: drafted from the record, written by people, published.
    postmortem = editing.start(session, RESPONDER, incident, zone)
    sections = dict(SECTIONS)
    sections["impact"] = SECTIONS["impact"] + "\n\n" + postmortem.sections["impact"].split("\n\n", 1)[-1]
    editing.edit(session, RESPONDER, incident, postmortem, zone, sections=sections)
    for title, owner, due in ACTION_ITEMS:
        action_items.add_item(session, RESPONDER, incident, title=title, owner=owner, due_date=due, public=True)
    editing.publish(session, RESPONDER, incident, postmortem, zone, notify=False)
    incident.updated_at = _at(18, 30, zone) + timedelta(days=2)
    postmortem.published_at = postmortem.updated_at = incident.updated_at
    _mark(session, incident)
    return incident
