"""page settings: brand colour, sender name, footer text, refresh policy, and the logo and favicon

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("page") as batch:
        batch.add_column(sa.Column("brand_color", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("sender_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("footer_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("refresh_seconds", sa.Integer(), nullable=False, server_default="60"))
    op.create_table(
        "page_asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mimetype", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind"),
    )


def downgrade() -> None:
    op.drop_table("page_asset")
    with op.batch_alter_table("page") as batch:
        batch.drop_column("refresh_seconds")
        batch.drop_column("footer_text")
        batch.drop_column("sender_name")
        batch.drop_column("brand_color")
