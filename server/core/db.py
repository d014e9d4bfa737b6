"""Database engines, units of work and migrations.

A request's writes form one unit of work, owned by the session dependency
(:func:`server.api.deps.get_session`); the CLI and seeding use :func:`unit_of_work`. Those two
are the only places a transaction commits: the functions they call never commit.

PostgreSQL in production; an SQLite file as the embedded default. On SQLite every transaction
starts with ``BEGIN IMMEDIATE`` (one writer at a time, no lock upgrades that fail halfway) in
WAL mode. The schema is owned by the Alembic migrations shipped in ``server/alembic``;
:func:`migrate` applies them (under an advisory lock on PostgreSQL so several processes may
start at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from server.core.config import normalise_db_url

ALEMBIC_DIR = Path(__file__).resolve().parents[1] / "alembic"
_MIGRATION_LOCK = 7_346_201


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """The engine for ``url``. Its errors never carry the statement's values
    (``hide_parameters``): an error's text may reach a log, and values are case content."""
    url = normalise_db_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            pool_size=pool_size,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Readers (pulls) take a snapshot without blocking writers; writers go one by one.
            if conn.get_execution_options().get("fieldcase_read_only"):
                conn.exec_driver_sql("BEGIN DEFERRED")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, hide_parameters=True
    )


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Bring the database's schema up to the newest migration (creating it when new)."""
    config = alembic_config()
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                connection.commit()


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: commits when the block ends normally, rolls back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def snapshot_session(engine: Engine) -> Iterator[Session]:
    """A read-only session whose queries all see one snapshot (REPEATABLE READ on
    PostgreSQL; SQLite transactions are snapshots already)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with Session(bind=connection, expire_on_commit=False) as session:
                try:
                    yield session
                finally:
                    session.rollback()
        return
    with engine.connect() as connection:
        connection.execution_options(fieldcase_read_only=True)
        with Session(bind=connection, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()
