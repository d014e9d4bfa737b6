"""Single sign-on with the council's OpenID Connect provider (issue 16).

A user may be linked to the provider's stable subject (``app_user.sso_subject``: Entra ID's
object id, else ``sub``); ``sso_seen_at`` is the last time the provider vouched for them and
``sso_refused_at`` the first time it would not (a leaver's grace period starts there). Each
single sign-on starts with a nonce the service hands out (``sso_nonce``, kept as its hash
until used once or expired), so an ID token cannot be replayed.

Revision ID: 0016_single_sign_on
Revises: 0015_person_index
Create Date: 2026-12-05 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_single_sign_on"
down_revision: str | None = "0015_person_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as table:
        table.add_column(sa.Column("sso_subject", sa.String(length=200), nullable=True))
        table.add_column(sa.Column("sso_seen_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("sso_refused_at", sa.DateTime(timezone=True), nullable=True))
        table.create_unique_constraint("uq_app_user_sso_subject", ["sso_subject"])
    op.create_table(
        "sso_nonce",
        sa.Column("nonce_hash", sa.String(length=64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sso_nonce_expires_at", "sso_nonce", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sso_nonce_expires_at", table_name="sso_nonce")
    op.drop_table("sso_nonce")
    with op.batch_alter_table("app_user") as table:
        table.drop_constraint("uq_app_user_sso_subject", type_="unique")
        table.drop_column("sso_refused_at")
        table.drop_column("sso_seen_at")
        table.drop_column("sso_subject")
