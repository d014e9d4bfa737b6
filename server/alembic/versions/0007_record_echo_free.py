"""A record remembers the device whose push made its current version exactly as that laptop
holds it (``record.echo_free_for``, ``DEVICE@VERSION``), so that device's later pulls do not
send it back while the version is still that one.

Rows already stored keep NULL: they are sent as before.

Revision ID: 0007_record_echo_free
Revises: 0006_record_wire
Create Date: 2026-12-02 05:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_record_echo_free"
down_revision: str | None = "0006_record_wire"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table rebuild on SQLite, so 0006's trigger stays)
    op.add_column("record", sa.Column("echo_free_for", sa.String(length=64), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("record", "echo_free_for")
    else:
        op.execute("ALTER TABLE record DROP COLUMN echo_free_for")
