"""Records that fail the record schema can be moved aside: table ``record_quarantine``
(``fieldcase-server admin check-records --quarantine``).

Revision ID: 0004_record_quarantine
Revises: 0003_unique_refs
Create Date: 2026-12-02 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_record_quarantine"
down_revision: str | None = "0003_unique_refs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_quarantine",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(none_as_null=False), nullable=False),
        sa.Column("stamps", sa.JSON(none_as_null=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("problems", sa.JSON(none_as_null=False), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quarantined_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index("ix_record_quarantine_case_id", "record_quarantine", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_record_quarantine_case_id", table_name="record_quarantine")
    op.drop_table("record_quarantine")
