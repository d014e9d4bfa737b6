"""Records are found by the person they name: a case's or warning's ``person_id`` field is
kept in its own indexed column (``record.person_id``, NULL for other kinds), so that a person's
cases and warnings (a merge, a share, an erasure, a subject access request, an import bringing
a second team's case) are looked up instead of read from every record.

A person's fields gained ``external_ids`` (protocol 7): each person's stored wire JSON is
cleared, so pulls make it again with the new field (as :mod:`server.records.wire` asks).

Revision ID: 0015_person_index
Revises: 0014_duplicate_people
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0015_person_index"
down_revision: str | None = "0014_duplicate_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _person(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def upgrade() -> None:
    op.add_column("record", sa.Column("person_id", sa.Uuid(), nullable=True))
    record = sa.table(
        "record",
        sa.column("record_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("fields", sa.JSON()),
        sa.column("person_id", sa.Uuid()),
    )
    if context.is_offline_mode():  # printed as SQL for a DBA (PostgreSQL): the same, in SQL
        op.execute(_BACKFILL_SQL)
    else:
        _backfill(record)
    op.create_index("ix_record_person_id", "record", ["person_id"])
    op.execute("UPDATE record SET wire = NULL WHERE kind = 'person'")


#: :func:`_backfill` as one PostgreSQL statement (a value that is not a UUID stays NULL).
_BACKFILL_SQL = """
UPDATE record SET person_id = CAST(fields->>'person_id' AS uuid)
WHERE kind IN ('case', 'warning')
  AND fields->>'person_id' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
"""


def _backfill(record: Any) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(record.c.record_id, record.c.fields).where(record.c.kind.in_(["case", "warning"]))
    ).all()
    named = [
        {"rid": record_id, "pid": person}
        for record_id, fields in rows
        if (person := _person((fields or {}).get("person_id"))) is not None
    ]
    if named:
        connection.execute(
            record.update()
            .where(record.c.record_id == sa.bindparam("rid"))
            .values(person_id=sa.bindparam("pid")),
            named,
        )


def downgrade() -> None:
    op.execute("UPDATE record SET wire = NULL WHERE kind = 'person'")
    op.drop_index("ix_record_person_id", table_name="record")
    op.drop_column("record", "person_id")
