"""subscriber uniqueness for email subscribers only; deliveries kept when a subscriber is removed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

A second webhook with the same contact address was refused by the unique (mode, email) constraint;
only email subscribers need one row per address. Deliveries of a removed subscriber used to be
deleted with it, shrinking the counts of what was sent; they now stay with subscriber_id NULL.

SQLite cannot drop a constraint in place, so batch mode rebuilds `subscriber`; dropping the old
table fires the ON DELETE actions of the rows that refer to it (subscription: CASCADE, delivery:
SET NULL). The links are copied aside first and put back afterwards.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

EMAIL_ONLY = sa.text("mode = 'email'")
# 0003 left the delivery -> subscriber key unnamed; this names it so batch mode (SQLite) can drop it.
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _replace_subscriber_key(ondelete: str) -> None:
    """delivery.subscriber_id's foreign key, now with `ondelete`."""
    if not _sqlite():
        old = sa.inspect(op.get_bind()).get_foreign_keys("delivery")
        [name] = [fk["name"] for fk in old if fk["constrained_columns"] == ["subscriber_id"]]
        op.drop_constraint(name, "delivery", type_="foreignkey")
        op.create_foreign_key("fk_delivery_subscriber_id", "delivery", "subscriber", ["subscriber_id"], ["id"],
                              ondelete=ondelete)
        return
    with op.batch_alter_table("delivery", naming_convention=SQLITE_NAMES, recreate="always") as batch_op:
        batch_op.drop_constraint("fk_delivery_subscriber_id", type_="foreignkey")
        batch_op.create_foreign_key("fk_delivery_subscriber_id", "subscriber", ["subscriber_id"], ["id"],
                                    ondelete=ondelete)


def _rebuild_subscriber(change) -> None:
    """Apply `change` to a batch of `subscriber`, keeping the rows that refer to it (see above)."""
    if not _sqlite():
        with op.batch_alter_table("subscriber", schema=None) as batch_op:
            change(batch_op)
        return
    op.execute("CREATE TEMP TABLE keep_subscription AS SELECT subscriber_id, component_id FROM subscription")
    op.execute("CREATE TEMP TABLE keep_delivery AS SELECT id, subscriber_id FROM delivery "
               "WHERE subscriber_id IS NOT NULL")
    with op.batch_alter_table("subscriber", schema=None, recreate="always") as batch_op:
        change(batch_op)
    op.execute("INSERT INTO subscription (subscriber_id, component_id) SELECT k.subscriber_id, k.component_id "
               "FROM keep_subscription k WHERE NOT EXISTS (SELECT 1 FROM subscription s "
               "WHERE s.subscriber_id = k.subscriber_id AND s.component_id = k.component_id)")
    op.execute("UPDATE delivery SET subscriber_id = (SELECT k.subscriber_id FROM keep_delivery k "
               "WHERE k.id = delivery.id) WHERE id IN (SELECT id FROM keep_delivery)")
    op.execute("DROP TABLE keep_subscription")
    op.execute("DROP TABLE keep_delivery")


def upgrade() -> None:
    # First, so that rebuilding `subscriber` below sets delivery links to NULL instead of deleting rows.
    _replace_subscriber_key("SET NULL")
    _rebuild_subscriber(lambda batch_op: batch_op.drop_constraint("uq_subscriber_mode_email", type_="unique"))
    op.create_index("uq_subscriber_email", "subscriber", ["email"], unique=True,
                    sqlite_where=EMAIL_ONLY, postgresql_where=EMAIL_ONLY)


def downgrade() -> None:
    # Webhooks sharing a contact address break the old rule: only the oldest of each stays.
    # Deliveries left without their subscriber are valid under both.
    op.drop_index("uq_subscriber_email", table_name="subscriber", sqlite_where=EMAIL_ONLY,
                  postgresql_where=EMAIL_ONLY)
    op.execute("DELETE FROM subscriber WHERE mode = 'webhook' AND email IS NOT NULL AND id NOT IN "
               "(SELECT min(id) FROM subscriber WHERE mode = 'webhook' AND email IS NOT NULL GROUP BY email)")
    _rebuild_subscriber(lambda batch_op: batch_op.create_unique_constraint("uq_subscriber_mode_email",
                                                                           ["mode", "email"]))
    _replace_subscriber_key("CASCADE")
