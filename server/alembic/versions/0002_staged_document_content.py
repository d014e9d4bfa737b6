"""Document content may be staged before its record: who uploaded it and for which case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document_content", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uploaded_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("uploaded_by_device", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("staged_case_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document_content", schema=None) as batch_op:
        batch_op.drop_column("staged_case_id")
        batch_op.drop_column("uploaded_by_device")
        batch_op.drop_column("uploaded_by")
