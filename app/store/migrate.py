"""Schema migrations (Alembic), applied when a profile is opened.

The scripts live in ``app/store/migrations/versions`` so they ship inside the package. They
always run against the live SQLCipher engine, inside one transaction: a migration that fails
leaves the profile exactly as it was (and the backup made on unlock is there as well).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.store.tables import FTS_TABLE_PREFIX

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import Connection, Engine

# Alembic is imported inside the functions that use it: it costs a good part of a second
# to load, and only opening a profile needs it (not the window's unlock screen).

log = logging.getLogger("fieldcase.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Every revision in ``migrations/versions``, oldest first, written down so that opening a
#: profile already at the newest one loads no Alembic at all (a test keeps this list equal to
#: Alembic's own; a new migration adds its id here).
REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return REVISIONS[-1]


def known_revisions() -> set[str]:
    return set(REVISIONS)


def alembic_revisions() -> list[str]:
    """The revisions Alembic finds in the scripts, oldest first (for the test of REVISIONS)."""
    return [rev.revision for rev in reversed(list(_scripts().walk_revisions()))]


def current_revision(connection: Connection) -> str | None:
    """The profile's schema revision, read with plain SQL from Alembic's version table (None
    for a database Alembic never touched)."""
    from sqlalchemy import text

    exists = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
    ).first()
    if exists is None:
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave the full-text index's virtual and shadow tables out of schema comparisons."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE_PREFIX))


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` in one transaction; return the revision it was at."""
    with engine.begin() as conn:
        before = current_revision(conn)
        target = head_revision() if revision == "head" else revision
        if before != target:
            from alembic import command

            command.upgrade(alembic_config(conn), revision)
            log.info("upgraded the profile's schema from %s to %s", before, target)
    return before
