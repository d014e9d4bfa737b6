"""Team moves: a device whose user moved team may send its unsent work on the old team's
cases until it has pulled past the move (``move_grace``).

Revision ID: 0011_move_grace
Revises: 0010_erasure
Create Date: 2026-12-03 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_move_grace"
down_revision: str | None = "0010_erasure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "move_grace",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("old_team", sa.String(length=200), nullable=False),
        sa.Column("until_seq", sa.BigInteger(), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "old_team"),
    )


def downgrade() -> None:
    op.drop_table("move_grace")
