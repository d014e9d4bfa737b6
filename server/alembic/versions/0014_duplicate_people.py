"""Duplicate people (issue 14): the review queue of likely pairs (``duplicate_pair``), merges
of two person records into one (``person_merge``), and records seen through another case
than their own (``shared_record``).

Revision ID: 0014_duplicate_people
Revises: 0013_import_keys
Create Date: 2026-12-03 09:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_duplicate_people"
down_revision: str | None = "0013_import_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duplicate_pair",
        sa.Column("person_a", sa.Uuid(), nullable=False),
        sa.Column("person_b", sa.Uuid(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(none_as_null=False), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merge_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("person_a", "person_b"),
    )
    op.create_index("ix_duplicate_pair_state", "duplicate_pair", ["state"])
    op.create_table(
        "person_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_id", sa.Uuid(), nullable=False),
        sa.Column("kept_version", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("merged_case_id", sa.Uuid(), nullable=False),
        sa.Column("merged_record", sa.JSON(none_as_null=False), nullable=True),
        sa.Column("moved", sa.JSON(none_as_null=False), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("merged_by", sa.String(length=200), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("split_by", sa.String(length=200), nullable=True),
        sa.Column("split_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("split_reason", sa.String(length=1000), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("kept_id", "merged_id", "merged_case_id", "seq"):
        op.create_index(f"ix_person_merge_{column}", "person_merge", [column])
    op.create_table(
        "shared_record",
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "case_id"),
    )
    op.create_index("ix_shared_record_case_id", "shared_record", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_shared_record_case_id", table_name="shared_record")
    op.drop_table("shared_record")
    for column in ("seq", "merged_case_id", "merged_id", "kept_id"):
        op.drop_index(f"ix_person_merge_{column}", table_name="person_merge")
    op.drop_table("person_merge")
    op.drop_index("ix_duplicate_pair_state", table_name="duplicate_pair")
    op.drop_table("duplicate_pair")
