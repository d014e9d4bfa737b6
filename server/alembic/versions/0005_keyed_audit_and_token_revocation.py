"""The audit chain is keyed (HMAC): each row names the rule that made its hash; the head names
the rule of the next row and where the keyed rule starts. Access tokens can be revoked.

Rows already in the trail keep the old unkeyed rule ("sha256"); the keyed rule starts at the
first row written after this upgrade (``audit_head.keyed_from``).

Revision ID: 0005_keyed_audit
Revises: 0004_record_quarantine
Create Date: 2026-12-02 00:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_keyed_audit"
down_revision: str | None = "0004_record_quarantine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("key_id", sa.String(length=16), nullable=False, server_default="sha256")
        )
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("key_id", sa.String(length=16), nullable=False, server_default="sha256")
        )
        batch_op.add_column(
            sa.Column("keyed_from", sa.BigInteger(), nullable=False, server_default="1")
        )
    # the keyed rule starts at the first row after the rows already written
    op.execute("UPDATE audit_head SET keyed_from = last_id + 1")
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("keyed_from")
        batch_op.drop_column("key_id")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_id")
