"""People the council's provider provisions through SCIM 2.0 (issue 16): ``scim_user`` keeps
each one's ``externalId`` (the provider's subject, which meets ``app_user.sso_subject``), its
``userName`` and whether the provider says it is ``active``.

Revision ID: 0017_scim_users
Revises: 0016_single_sign_on
Create Date: 2026-12-05 01:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_scim_users"
down_revision: str | None = "0016_single_sign_on"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scim_user",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("external_id", sa.String(length=200), nullable=False, unique=True),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scim_user_user_name", "scim_user", ["user_name"])


def downgrade() -> None:
    op.drop_index("ix_scim_user_user_name", table_name="scim_user")
    op.drop_table("scim_user")
