"""A batch keeps its lease while it is being sent, however long the sending takes.

A batch of 100 over 4 connections with a 30 s SMTP timeout can outlast a 60 s lease; the
rule is that the lease is renewed (compare-and-set) every third of its length until the
batch is done, and rows another worker took over are left to it. Real SMTP, real clock.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from statuspage.audit import Actor
from statuspage.db import utcnow
from statuspage.models import Delivery
from statuspage.notify import subscribers
from statuspage.notify.sender import LeaseKeeper, Notifier
from statuspage.outbox import queue

ACTOR = Actor.system("test")


def fan_out(mail_app, addresses: list[str]) -> None:
    db = mail_app.extensions["statuspage.db"]
    with db.transaction() as session:
        for address in addresses:
            subscribers.create(session, ACTOR, email=address, skip_confirmation=True)
        queue.enqueue(session, "owner_notice", {"to": "owner@acme.test", "subject": "s", "text": "t"}, [])
        queue.enqueue(session, "incident", {
            "incident": "inc000000001", "update": "upd000000001", "name": "Outage", "kind": "incident",
            "status": "investigating", "impact": "major", "body": "x", "display_at": utcnow().isoformat(),
            "scheduled_for": None, "scheduled_until": None, "components": [], "affected": [], "first": True,
        }, [])


def test_a_batch_slower_than_its_lease_is_not_taken_over_while_it_is_being_sent(
        mail_app, smtp_settings, smtp_server, session):
    sink, _port = smtp_server
    sink.delay = 0.3  # each message takes 0.3 s: the batch of 8 takes 2.4 s, the lease is 1 s
    addresses = [f"r{n}@example.org" for n in range(7)]
    fan_out(mail_app, addresses)
    settings = dataclasses.replace(smtp_settings, delivery_lease_seconds=1, smtp_connections=1,
                                   delivery_batch_size=8)
    db = mail_app.extensions["statuspage.db"]
    first, second = (Notifier(db, settings, utcnow) for _ in range(2))
    while first.handle_one_event_expansion():
        pass

    sending = threading.Thread(target=first.handle_one_delivery_batch)
    sending.start()
    while not all(d.lease_until for d in session.scalars(select(Delivery).execution_options(populate_existing=True))):
        time.sleep(0.01)  # the first worker has claimed the whole batch
    took_over = 0
    while sending.is_alive():
        took_over += second.handle_one_delivery_batch()  # another worker, looking for due rows all along
        time.sleep(0.1)
    sending.join()

    assert took_over == 0
    assert sorted(m["To"] for m in sink.messages) == sorted([*addresses, "owner@acme.test"])
    session.expire_all()
    assert {d.status.value for d in session.scalars(select(Delivery))} == {"sent"}


def test_rows_taken_over_after_the_lease_ran_out_are_left_to_their_new_owner(mail_app, session):
    fan_out(mail_app, ["a@example.org", "b@example.org", "c@example.org"])
    db = mail_app.extensions["statuspage.db"]
    now = utcnow()
    lease = timedelta(seconds=60)
    with db.transaction() as tx:
        event = queue.claim_event(tx, now)
        queue.expand(tx, event, now, subscribers.recipients)
    with db.transaction() as tx:
        event = queue.claim_event(tx, now)
        queue.expand(tx, event, now, subscribers.recipients)
    with db.transaction() as tx:
        ids = queue.claim_deliveries(tx, now, 10, lease)
    assert len(ids) == 4
    stolen = ids[1]
    with db.transaction() as tx:  # our lease ran out and another worker claimed this row
        tx.execute(update(Delivery).where(Delivery.id == stolen).values(lease_until=now + timedelta(minutes=5)))

    clock = [now + timedelta(seconds=30)]
    keeper = LeaseKeeper(db, lambda: clock[0], lease, ids, now + lease)
    keeper.renew()

    assert not keeper.owns(stolen)
    assert all(keeper.owns(i) for i in ids if i != stolen)
    session.expire_all()
    leases = {d.id: d.lease_until for d in session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}
    assert leases[stolen] == now + timedelta(minutes=5)  # the new owner's lease is untouched
    assert leases[ids[0]] == leases[ids[2]] == leases[ids[3]] == clock[0] + lease

    clock[0] += timedelta(seconds=30)
    keeper.renew()  # the next renewal goes on from the value it set
    session.expire_all()
    assert session.get(Delivery, ids[3]).lease_until == clock[0] + lease
