"""Schema v2: people get a local-only ``sort_name`` (surname first, without case or accents),
filled from the names already stored, so lists sort by surname quickly.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def _sort_name(name: str) -> str:
    # Frozen copy of app.domain.names.sort_name as it was when this migration was written:
    # a migration must keep giving the same result even if the app's function changes later.
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = ["".join(ch for ch in word if ch.isalnum()) for word in plain.split()]
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return " ".join([words[-1], *words[:-1]])


def upgrade() -> None:
    # A plain ADD COLUMN: recreating the table would drop its full-text triggers.
    op.add_column("people", sa.Column("sort_name", sa.String, nullable=False, server_default=""))
    op.create_index("ix_people_sort_name", "people", ["sort_name"])

    # Data migration: derive every existing person's sort key from their name.
    conn = op.get_bind()
    people = sa.table(
        "people",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("sort_name", sa.String),
    )
    last = ""
    while True:
        rows = conn.execute(
            sa.select(people.c.id, people.c.name)
            .where(people.c.id > last)
            .order_by(people.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            people.update().where(people.c.id == sa.bindparam("pid")),
            [{"pid": row.id, "sort_name": _sort_name(row.name)} for row in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_people_sort_name", table_name="people")
    op.drop_column("people", "sort_name")  # SQLite >= 3.35 drops a column in place
