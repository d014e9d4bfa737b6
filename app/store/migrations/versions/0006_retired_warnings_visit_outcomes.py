"""Schema v6 (sync protocol 3): who retired a warning and when; what came of a visit (done, no
access, not in, cancelled by the person or by us) with a word on it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.String(32)  # app.store.types.UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    with op.batch_alter_table("warnings") as table:
        table.add_column(sa.Column("retired_by", sa.String, nullable=True))
        table.add_column(sa.Column("retired_at", TS, nullable=True))
    with op.batch_alter_table("visits") as table:
        table.add_column(sa.Column("outcome", sa.String, nullable=True))
        table.add_column(sa.Column("outcome_note", sa.String, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("visits") as table:
        table.drop_column("outcome_note")
        table.drop_column("outcome")
    with op.batch_alter_table("warnings") as table:
        table.drop_column("retired_at")
        table.drop_column("retired_by")
