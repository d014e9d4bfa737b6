"""Erasure: the tombstones of erased cases (``erased_case``: id, reference, rule or reason,
officer; never personal data) and the record ids they held (``erased_record``), so a change
to an erased case is refused with ``erased`` (protocol 5).

Revision ID: 0010_erasure
Revises: 0009_legal_hold
Create Date: 2026-12-03 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_erasure"
down_revision: str | None = "0009_legal_hold"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_case",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=50), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("erased_by", sa.String(length=200), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "erased_record",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index("ix_erased_record_case_id", "erased_record", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_erased_record_case_id", table_name="erased_record")
    op.drop_table("erased_record")
    op.drop_table("erased_case")
