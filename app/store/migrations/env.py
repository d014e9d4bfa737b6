"""Alembic environment: runs only against the connection the store hands in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import app.store.models
import app.store.tables
from app.store.migrate import include_name

assert app.store.models  # the record tables are on the metadata too

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - a developer running `alembic` by hand
    raise RuntimeError("Fieldcase migrations run through app.store.migrate on an unlocked profile")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    include_name=include_name,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
