"""notification channels: SMS numbers, one chat subscriber per webhook URL, phone codes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Adds columns and indexes only: no stored value of an existing row changes. The new unique
indexes cover modes no row had before this revision (sms and the chat modes), so they cannot
fail on existing data.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SMS_ONLY = sa.text("mode = 'sms'")
NEW_MODES = "('sms', 'slack', 'mattermost', 'teams', 'discord')"
CHAT_ONLY = sa.text("mode IN ('slack', 'mattermost', 'teams', 'discord')")


def upgrade() -> None:
    op.add_column("subscriber", sa.Column("phone_number", sa.String(length=16), nullable=True))
    op.add_column("subscriber", sa.Column("phone_country", sa.String(length=2), nullable=True))
    op.create_index("uq_subscriber_phone", "subscriber", ["phone_number"], unique=True,
                    sqlite_where=SMS_ONLY, postgresql_where=SMS_ONLY)
    op.create_index("uq_subscriber_chat_endpoint", "subscriber", ["mode", "endpoint"], unique=True,
                    sqlite_where=CHAT_ONLY, postgresql_where=CHAT_ONLY)
    op.create_table(
        "phone_code",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscriber.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subscriber_id"),
    )


def downgrade() -> None:
    # Subscribers and deliveries of the new modes cannot exist without this revision's code.
    op.drop_table("phone_code")
    op.execute(f"DELETE FROM delivery WHERE channel IN {NEW_MODES}")
    op.execute(f"DELETE FROM subscriber WHERE mode IN {NEW_MODES}")
    op.drop_index("uq_subscriber_chat_endpoint", table_name="subscriber", sqlite_where=CHAT_ONLY,
                  postgresql_where=CHAT_ONLY)
    op.drop_index("uq_subscriber_phone", table_name="subscriber", sqlite_where=SMS_ONLY,
                  postgresql_where=SMS_ONLY)
    with op.batch_alter_table("subscriber") as batch_op:
        batch_op.drop_column("phone_country")
        batch_op.drop_column("phone_number")
