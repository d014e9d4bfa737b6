"""Schema v3: ``set_aside_record`` keeps records pulled from the service that this laptop could
not store (so one bad record never stops a sync), with why, when and by which Fieldcase.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "set_aside_record",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("reason_code", sa.String, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_aside_at", sa.String(32), nullable=False),
        sa.Column("app_version", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index("ix_set_aside_record_case_id", "set_aside_record", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_set_aside_record_case_id", table_name="set_aside_record")
    op.drop_table("set_aside_record")
