"""Schema v7 (sync protocol 4): when a clash was settled, and whether this laptop's user is
still to be told that someone else's decision went against them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.String(32)  # app.store.types.UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    with op.batch_alter_table("conflict") as table:
        table.add_column(sa.Column("resolved_at", TS, nullable=True))
        table.add_column(sa.Column("tell", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("conflict") as table:
        table.drop_column("tell")
        table.drop_column("resolved_at")
