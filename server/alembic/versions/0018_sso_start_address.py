"""Each single sign-on started remembers the address that started it (issue 16), so one
address cannot hold more than its share of the unfinished sign-ons: ``sso_nonce.address``.
Unfinished sign-ons (15 minutes at most) are dropped: their people sign in again.

Revision ID: 0018_sso_start_address
Revises: 0017_scim_users
Create Date: 2026-12-05 02:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_sso_start_address"
down_revision: str | None = "0017_scim_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM sso_nonce")
    op.add_column("sso_nonce", sa.Column("address", sa.String(length=64), nullable=False))
    op.create_index("ix_sso_nonce_address", "sso_nonce", ["address"])


def downgrade() -> None:
    op.drop_index("ix_sso_nonce_address", table_name="sso_nonce")
    op.drop_column("sso_nonce", "address")
