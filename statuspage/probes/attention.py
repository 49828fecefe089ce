"""What waits for a responder: open incident drafts and outages no incident explains.

The admin's dashboard and Incidents page show them first, and sign-in leads to Incidents while any wait.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from statuspage.incidents import lookups
from statuspage.models import Component, IncidentDraft
from statuspage.probes import drafts


@dataclass(frozen=True)
class Waiting:
    """Drafts to publish or dismiss (newest first), and components down with neither an incident nor a draft."""

    drafts: list[IncidentDraft]
    outages: list[Component]

    def __bool__(self) -> bool:
        return bool(self.drafts or self.outages)


def waiting(session: Session) -> Waiting:
    """What a responder should act on now; an outage with an open draft is listed once, as the draft."""
    open_drafts = drafts.open_drafts(session)
    drafted = {draft.component_id for draft in open_drafts}
    return Waiting(open_drafts, [c for c in lookups.unexplained_outages(session) if c.id not in drafted])
