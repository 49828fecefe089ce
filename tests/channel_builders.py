"""Small builders for the channel tests: settings with SMS on a local Twilio, a worker, subscribers."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from statuspage.audit import Actor
from statuspage.config import Settings, SmsSettings
from statuspage.incidents import lifecycle
from statuspage.models import Delivery, Incident, Subscriber
from statuspage.notify import subscribers
from statuspage.outbound.guard import Policy
from statuspage.worker import Worker
from tests.channel_receivers import Receiver

ACTOR = Actor.system("test")
SENDER = "+15005550006"


def with_sms(settings: Settings, twilio: Receiver) -> Settings:
    """`settings` texting through the local Twilio-compatible receiver."""
    return dataclasses.replace(settings, sms=SmsSettings("twilio", twilio.account, twilio.token, SENDER, twilio.url))


def worker(app: Flask, settings: Settings, clock: list[datetime]) -> Worker:
    return Worker(app.extensions["statuspage.db"], clock=lambda: clock[0], settings=settings)


def subscribe(session: Session, mode: str, address: str, confirmed: bool = True, **fields: object) -> Subscriber:
    """A subscriber of `mode` at `address` (a URL, or a number for sms), confirmed unless told."""
    where = {"phone_number": address} if mode == "sms" else {"endpoint": address}
    subscriber = subscribers.create(session, ACTOR, mode=mode, skip_confirmation=confirmed,
                                    policy=Policy(deny_private=False), **where, **fields)  # type: ignore[arg-type]
    session.commit()
    return subscriber


def open_incident(session: Session, name: str = "Checkout fails", body: str = "We are looking into it.",
                  **fields: object) -> Incident:
    incident = lifecycle.open_incident(session, ACTOR, name=name, body=body, **fields)
    session.commit()
    return incident


def deliveries(session: Session) -> list[Delivery]:
    session.expire_all()
    return list(session.scalars(select(Delivery).order_by(Delivery.id)))
