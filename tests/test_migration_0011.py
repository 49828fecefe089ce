"""Migration 0011 (channels) adds columns, indexes and a table: every stored value of existing rows stays."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests import test_migrations
from tests.test_migration_0006 import fill
from tests.test_migrations import migrate

scratch_database = test_migrations.scratch_database  # an empty database of its own, per backend

SUBSCRIBER = ("SELECT id, code, mode, email, endpoint, webhook_secret, all_components, confirmed_at, created_at, "
              "token_nonce, quarantined_at, consecutive_failures FROM subscriber ORDER BY id")
DELIVERY = ("SELECT id, event_id, subscriber_id, channel, key, address, status, attempts, sent_at "
            "FROM delivery ORDER BY id")


def test_existing_subscribers_and_deliveries_keep_every_value(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, "0010")
    fill(connection)
    before = (connection.execute(text(SUBSCRIBER)).all(), connection.execute(text(DELIVERY)).all())

    migrate(connection, command.upgrade, "0011")

    assert (connection.execute(text(SUBSCRIBER)).all(), connection.execute(text(DELIVERY)).all()) == before
    assert connection.execute(text("SELECT phone_number, phone_country FROM subscriber")).all() == [(None, None)] * 2


def test_one_sms_subscriber_per_number_and_one_chat_subscriber_per_url(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, "0011")

    def add(number: int, mode: str, endpoint: str | None = None, phone: str | None = None) -> None:
        connection.execute(text(
            "INSERT INTO subscriber (code, mode, endpoint, phone_number, all_components, created_at, token_nonce, "
            "consecutive_failures) VALUES (:code, :mode, :endpoint, :phone, true, CURRENT_TIMESTAMP, 'n', 0)"),
            {"code": f"sub{number:09d}", "mode": mode, "endpoint": endpoint, "phone": phone})

    add(1, "sms", phone="+12025550100")
    add(2, "slack", "https://hooks.slack.com/services/a")
    add(3, "discord", "https://hooks.slack.com/services/a")  # another mode: allowed
    add(4, "webhook", "https://hooks.example.org/a")
    add(5, "webhook", "https://hooks.example.org/a")  # Statuspage webhooks keep their check in code
    connection.commit()
    for clash in (lambda: add(6, "sms", phone="+12025550100"), lambda: add(7, "slack", "https://hooks.slack.com/services/a")):
        with pytest.raises(IntegrityError):
            clash()
        connection.rollback()


def test_going_back_removes_only_what_0011_made_possible(scratch_database):
    connection = scratch_database
    migrate(connection, command.upgrade, "0010")
    fill(connection)
    migrate(connection, command.upgrade, "0011")
    connection.execute(text(
        "INSERT INTO subscriber (id, code, mode, phone_number, all_components, created_at, token_nonce, "
        "consecutive_failures) VALUES (3, 'sms000000001', 'sms', '+12025550100', true, CURRENT_TIMESTAMP, 'n', 0)"))
    connection.commit()

    migrate(connection, command.downgrade, "0010")

    assert connection.execute(text("SELECT mode FROM subscriber ORDER BY id")).scalars().all() == ["email", "webhook"]
