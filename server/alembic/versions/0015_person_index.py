"""Records are found by the person they name: an index on each record's ``person_id`` field
(a case's person, a warning's), so that a person's cases and warnings (a merge, a share, an
erasure, a subject access request, an import bringing a second team's case) are looked up
instead of read from every record. ``server.models.person_named`` writes the same expression.

Revision ID: 0015_person_index
Revises: 0014_duplicate_people
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_person_index"
down_revision: str | None = "0014_duplicate_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXPRESSION = {
    "postgresql": "(fields ->> 'person_id')",
    "sqlite": "json_extract(fields, '$.person_id')",
}


def upgrade() -> None:
    expression = EXPRESSION[op.get_bind().dialect.name]
    op.execute(f"CREATE INDEX ix_record_person_id ON record ({expression})")


def downgrade() -> None:
    op.execute("DROP INDEX ix_record_person_id")
