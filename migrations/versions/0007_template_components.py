"""incident templates remember components and whether to notify

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Statuspage's templates carry the components they concern and whether an update
made from them is sent to subscribers; saved messages made before keep no
components and notify, as every update did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("component_ids", sa.JSON(), server_default=sa.text("'[]'"),
                                      nullable=False))
        batch_op.add_column(sa.Column("should_send_notifications", sa.Boolean(), server_default=sa.true(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("incident_template", schema=None) as batch_op:
        batch_op.drop_column("should_send_notifications")
        batch_op.drop_column("component_ids")
