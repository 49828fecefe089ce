"""the public snapshot, rendered once per version and shared by every web process

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshot_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=2048), nullable=False),
        sa.Column("mimetype", sa.String(length=100), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("gzipped", sa.LargeBinary(), nullable=True),
        sa.Column("brotli", sa.LargeBinary(), nullable=True),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version", "key", name="uq_snapshot_entry_version_key"),
    )


def downgrade() -> None:
    op.drop_table("snapshot_entry")
