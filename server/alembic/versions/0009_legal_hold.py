"""Legal holds: a case held may not be erased until the hold is released (table
``legal_hold``; ``fieldcase-server admin hold REF --reason``, ``release REF``, ``holds``).

Revision ID: 0009_legal_hold
Revises: 0008_wire_protocol_3
Create Date: 2026-12-02 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_legal_hold"
down_revision: str | None = "0008_wire_protocol_3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_hold",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )


def downgrade() -> None:
    op.drop_table("legal_hold")
