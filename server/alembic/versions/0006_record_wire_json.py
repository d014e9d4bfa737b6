"""Each record keeps its wire JSON (``record.wire``), written with the record, so pulls send
bytes without decoding and encoding the stored fields (see :mod:`server.records.wire`).

Rows already stored keep NULL (a pull makes their JSON from the row, as before) until they
are next written. A trigger clears ``wire`` whenever an UPDATE changes a row without setting
``wire`` too (an old writer, IT by hand), so the stored JSON never goes stale. Pulls read
pages by the change log's ``seq`` index (its index exists since 0001; the scope test is an
EXISTS, tests/server/test_pull_plan.py).

SQLite: a later ``batch_alter_table("record")`` recreates the table and drops its triggers;
such a migration must create ``record_wire_stale`` again.

Revision ID: 0006_record_wire
Revises: 0005_keyed_audit
Create Date: 2026-12-02 04:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_record_wire"
down_revision: str | None = "0005_keyed_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGER = """
CREATE TRIGGER record_wire_stale AFTER UPDATE ON record
FOR EACH ROW WHEN NEW.wire IS NOT NULL AND NEW.wire IS OLD.wire
BEGIN
    UPDATE record SET wire = NULL WHERE rowid = NEW.rowid;
END
"""

POSTGRES_FUNCTION = """
CREATE FUNCTION record_wire_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.wire IS NOT DISTINCT FROM OLD.wire THEN
        NEW.wire := NULL;
    END IF;
    RETURN NEW;
END
$$
"""

POSTGRES_TRIGGER = """
CREATE TRIGGER record_wire_stale BEFORE UPDATE ON record
FOR EACH ROW EXECUTE FUNCTION record_wire_stale()
"""


def upgrade() -> None:
    op.add_column("record", sa.Column("wire", sa.LargeBinary(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS record_wire_stale ON record")
        op.execute("DROP FUNCTION IF EXISTS record_wire_stale()")
    else:
        op.execute("DROP TRIGGER IF EXISTS record_wire_stale")
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_column("wire")
