"""Schema v9 (sync protocol 5): the cases the service erased, by id only, and whether this
laptop's backups were purged of them as well (app/store/erased.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.String(32)  # app.store.types.UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "erased_case",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", TS, nullable=False),
        sa.Column("backups_done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    op.drop_table("erased_case")
