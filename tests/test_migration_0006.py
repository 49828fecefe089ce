"""Migration 0006 (subscriber uniqueness, deliveries kept) keeps every row it finds, on every backend.

SQLite cannot drop a constraint in place: the table is rebuilt, and dropping the old table would
fire the ON DELETE actions of the tables that refer to it. These tests fill those tables first.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests import test_migrations
from tests.test_migrations import migrate

scratch_database = test_migrations.scratch_database  # an empty database of its own, per backend

BEFORE = "0005"
NOW = "'2026-11-28 12:00:00'"


def fill(connection) -> None:
    """A component, two subscribers (one choosing it), an event with a delivery to each, as 0005 held them."""
    connection.execute(text(
        "INSERT INTO component (id, code, name, status, position, showcase, only_show_if_degraded, pinned, "
        f"created_at, updated_at) VALUES (1, 'cmp000000001', 'Website', 'operational', 1, true, false, false, "
        f"{NOW}, {NOW})"))
    connection.execute(text(
        "INSERT INTO outbox_event (id, kind, component_ids, payload, created_at, expanded_at) "
        f"VALUES (1, 'incident', '[]', '{{}}', {NOW}, {NOW})"))
    for number, (mode, email, endpoint) in enumerate([("email", "ana@example.org", None),
                                                      ("webhook", "hooks@example.org", "https://a.example/h")], 1):
        connection.execute(text(
            "INSERT INTO subscriber (id, code, mode, email, endpoint, all_components, confirmed_at, created_at, "
            "token_nonce, consecutive_failures) VALUES (:id, :code, :mode, :email, :endpoint, :all, "
            f"{NOW}, {NOW}, 'nonce', 0)"),
            {"id": number, "code": f"sub00000000{number}", "mode": mode, "email": email, "endpoint": endpoint,
             "all": number == 2})
        connection.execute(text(
            "INSERT INTO delivery (id, event_id, subscriber_id, channel, key, address, status, attempts, "
            f"next_attempt_at, sent_at) VALUES (:id, 1, :id, :mode, :key, :address, 'sent', 1, {NOW}, {NOW})"),
            {"id": number, "mode": mode, "key": f"1:{number}:{mode}", "address": endpoint or email})
    connection.execute(text("INSERT INTO subscription (subscriber_id, component_id) VALUES (1, 1)"))
    connection.commit()


def rows(connection) -> dict[str, list]:
    return {
        "subscriber": connection.execute(text("SELECT id, mode, email FROM subscriber ORDER BY id")).all(),
        "subscription": connection.execute(text("SELECT subscriber_id, component_id FROM subscription")).all(),
        "delivery": connection.execute(text("SELECT id, subscriber_id FROM delivery ORDER BY id")).all(),
    }


def add_webhook(connection, number: int, email: str, mode: str = "webhook") -> None:
    connection.execute(text(
        "INSERT INTO subscriber (id, code, mode, email, endpoint, all_components, created_at, token_nonce, "
        f"consecutive_failures) VALUES (:id, :code, :mode, :email, :endpoint, true, {NOW}, 'nonce', 0)"),
        {"id": number, "code": f"sub0000000{number:02d}", "mode": mode, "email": email,
         "endpoint": f"https://{number}.example/h" if mode == "webhook" else None})


def test_the_upgrade_keeps_subscribers_their_choices_and_their_deliveries(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, BEFORE)
    fill(connection)
    before = rows(connection)

    migrate(connection, command.upgrade, "0006")

    assert rows(connection) == before
    assert before["subscription"] == [(1, 1)] and len(before["delivery"]) == 2


def test_after_it_webhooks_may_share_a_contact_address_and_email_subscribers_may_not(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, "0006")
    add_webhook(connection, 10, "hooks@example.org")
    add_webhook(connection, 11, "hooks@example.org")
    add_webhook(connection, 12, "hooks@example.org", mode="email")
    connection.commit()
    with pytest.raises(IntegrityError):
        add_webhook(connection, 13, "hooks@example.org", mode="email")
    connection.rollback()


def test_after_it_removing_a_subscriber_keeps_its_deliveries(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, BEFORE)
    fill(connection)
    migrate(connection, command.upgrade, "0006")
    connection.execute(text("DELETE FROM subscriber WHERE id = 1"))
    connection.commit()
    assert rows(connection)["delivery"] == [(1, None), (2, 2)]
    assert rows(connection)["subscription"] == []


def test_the_downgrade_keeps_what_the_old_rules_allow(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, BEFORE)
    fill(connection)
    migrate(connection, command.upgrade, "0006")
    add_webhook(connection, 10, "hooks@example.org")  # shares its contact with subscriber 2
    connection.commit()
    migrate(connection, command.downgrade, BEFORE)
    kept = rows(connection)
    assert [row[0] for row in kept["subscriber"]] == [1, 2]
    assert kept["subscription"] == [(1, 1)] and [row[0] for row in kept["delivery"]] == [1, 2]
