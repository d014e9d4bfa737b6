"""Imports from predecessor councils' systems: which record each source's id became
(``import_key``).

Revision ID: 0013_import_keys
Revises: 0012_subject_access_log
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_import_keys"
down_revision: str | None = "0012_subject_access_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_key",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.JSON(none_as_null=False), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "kind", "external_id"),
    )
    op.create_index("ix_import_key_record_id", "import_key", ["record_id"])
    op.create_index("ix_import_key_case_id", "import_key", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_import_key_case_id", table_name="import_key")
    op.drop_index("ix_import_key_record_id", table_name="import_key")
    op.drop_table("import_key")
