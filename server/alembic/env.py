"""Alembic environment: runs the migrations on the connection :func:`server.core.db.migrate`
hands over (or on ``sqlalchemy.url`` when run by the alembic command line), or writes them as
SQL (:func:`server.core.db.migration_sql`, offline mode)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from server.models import ServerTable

config = context.config
target_metadata = ServerTable.metadata


def run() -> None:
    if context.is_offline_mode():  # `fieldcase-server migrate --sql`: the SQL, for a DBA
        context.configure(
            dialect_name=config.attributes.get("dialect", "postgresql"),
            target_metadata=target_metadata,
            literal_binds=True,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
