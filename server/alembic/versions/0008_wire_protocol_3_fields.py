"""Protocol 3 added fields to warnings (``retired_by``, ``retired_at``) and visits (``outcome``,
``outcome_note``): every record's stored wire JSON is cleared, so pulls make it again with
the new fields (as null until a record is written again), as :mod:`server.records.wire` asks.

Revision ID: 0008_wire_protocol_3
Revises: 0007_record_echo_free
Create Date: 2026-12-02 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_wire_protocol_3"
down_revision: str | None = "0007_record_echo_free"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE record SET wire = NULL WHERE kind IN ('warning', 'visit')")


def downgrade() -> None:
    op.execute("UPDATE record SET wire = NULL WHERE kind IN ('warning', 'visit')")
