"""unique component names within their group, unique group names

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME_MAX = 255


def _rename_duplicates(table: str, scope: str | None) -> None:
    """Give every name that clashes (case-insensitively, in its scope) a numbered suffix.

    Two concurrent creations could store the same name twice before this index
    existed; the oldest row keeps its name, the others become "Name (2)", "Name (3)".
    """
    connection = op.get_bind()
    columns = "id, name" + (f", {scope}" if scope else "")
    rows = connection.execute(sa.text(f"SELECT {columns} FROM {table} ORDER BY id")).all()
    taken: set[tuple[object, str]] = set()
    for row in rows:
        key_scope = row[2] if scope else None
        taken.add((key_scope, row.name.lower()))
    seen: set[tuple[object, str]] = set()
    for row in rows:
        key_scope = row[2] if scope else None
        key = (key_scope, row.name.lower())
        if key not in seen:
            seen.add(key)
            continue
        number = 2
        while True:
            suffix = f" ({number})"
            candidate = row.name[: NAME_MAX - len(suffix)] + suffix
            if (key_scope, candidate.lower()) not in taken:
                break
            number += 1
        taken.add((key_scope, candidate.lower()))
        seen.add((key_scope, candidate.lower()))
        connection.execute(
            sa.text(f"UPDATE {table} SET name = :name WHERE id = :id"),
            {"name": candidate, "id": row.id},
        )


def upgrade() -> None:
    _rename_duplicates("component_group", None)
    _rename_duplicates("component", "group_id")
    # Expression indexes (SQLite 3.9+ and PostgreSQL): the database, not a
    # check-then-insert, keeps two concurrent requests from storing one name twice.
    op.create_index(
        "uq_component_group_name", "component_group", [sa.text("lower(name)")], unique=True
    )
    op.create_index(
        "uq_component_scope_name",
        "component",
        [sa.text("coalesce(group_id, 0)"), sa.text("lower(name)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_component_scope_name", table_name="component")
    op.drop_index("uq_component_group_name", table_name="component_group")
