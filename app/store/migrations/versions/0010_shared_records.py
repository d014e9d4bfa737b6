"""Schema v10 (sync protocol 6): the records this laptop holds through a share, with the team
whose case holds them (app/store/people.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shared_from",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )


def downgrade() -> None:
    op.drop_table("shared_from")
