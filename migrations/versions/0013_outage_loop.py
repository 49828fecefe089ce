"""the outage loop: alert routes, retry interval and delayed publishing of probes, overdue alerts

Existing probes keep the settings they were created with; only new probes take the new defaults.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("alert_channel_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_delivery_alert_channel_id", "alert_channel", ["alert_channel_id"], ["id"],
                                 ondelete="SET NULL")
    with op.batch_alter_table("probe") as batch:
        batch.add_column(sa.Column("retry_interval_seconds", sa.Integer(), nullable=False, server_default="10"))
        batch.add_column(sa.Column("publish_after_minutes", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("auto_resolve_minutes", sa.Integer(), nullable=True))
    with op.batch_alter_table("incident_draft") as batch:
        batch.add_column(sa.Column("publish_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("action_item") as batch:
        batch.add_column(sa.Column("overdue_alerted_at", sa.DateTime(timezone=True), nullable=True))
    # Items overdue before this release are not alerted all at once on the first start.
    op.execute("UPDATE action_item SET overdue_alerted_at = updated_at "
               "WHERE status != 'done' AND due_date < CURRENT_DATE")


def downgrade() -> None:
    with op.batch_alter_table("action_item") as batch:
        batch.drop_column("overdue_alerted_at")
    with op.batch_alter_table("incident_draft") as batch:
        batch.drop_column("publish_at")
    with op.batch_alter_table("probe") as batch:
        batch.drop_column("auto_resolve_minutes")
        batch.drop_column("publish_after_minutes")
        batch.drop_column("retry_interval_seconds")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_constraint("fk_delivery_alert_channel_id", type_="foreignkey")
        batch.drop_column("alert_channel_id")
    op.drop_table("alert_channel")
