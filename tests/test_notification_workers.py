"""Several workers share one fan-out without sending anything twice (leases; SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

from statuspage.audit import Actor
from statuspage.incidents import lifecycle
from statuspage.notify import subscribers
from statuspage.worker import Worker

ACTOR = Actor.system("test")
RECIPIENTS = 240


def test_two_workers_deliver_every_message_exactly_once(mail_app, smtp_settings, smtp_server):
    sink, _port = smtp_server
    sink.delay = 0.002  # a little time per message, so both workers are busy at once
    database = mail_app.extensions["statuspage.db"]
    with database.transaction() as session:
        for number in range(RECIPIENTS):
            subscribers.create(session, ACTOR, email=f"reader{number}@example.org", skip_confirmation=True)
        lifecycle.open_incident(session, ACTOR, name="Database cluster down", body="Investigating.")
    workers = [Worker(database, settings=smtp_settings) for _ in range(2)]
    for worker in workers:
        worker.notifier.batch_size = 10  # many small batches, so the two really interleave
    assert workers[0].notifier.handle_one_event_expansion()  # the fan-out exists before both start
    done = [0, 0]

    start = threading.Barrier(2)

    def run(index: int) -> None:
        start.wait()
        done[index] = workers[index].run_once()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    received = Counter(m["To"] for m in sink.messages)
    assert len(received) == RECIPIENTS
    assert set(received.values()) == {1}, "a message was sent twice"
    assert all(done), f"one worker did no work at all: {done}"
