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

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pydantic_core
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from server.core.config import normalise_db_url

ALEMBIC_DIR = Path(__file__).resolve().parents[1] / "alembic"
_MIGRATION_LOCK = 7_346_201


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
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
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        hide_parameters=True,
        # a database host that does not answer at all is given up on, not waited for forever;
        # text travels as UTF-8 whatever the database's own encoding (so it can be checked)
        connect_args={"connect_timeout": 10, "client_encoding": "utf8"},
    )

    @event.listens_for(engine, "connect")
    def _utf8_only(dbapi_connection: Any, _record: Any) -> None:
        # the server reports its encoding when the connection opens: no query (and so no
        # transaction left open on the new connection) is needed to know it
        found = dbapi_connection.info.parameter_status("server_encoding") or "UTF8"
        if found.upper() not in ("UTF8", "UTF-8"):
            raise DatabaseEncodingError(found)

    return engine


class DatabaseEncodingError(Exception):
    """The database stores text in an encoding other than UTF-8 (SQL_ASCII, LATIN1...): names
    and notes in any language could not be kept faithfully, so it is not used."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"database encoding {encoding}")
        self.encoding = encoding


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    return config


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against the migrations this service ships."""

    current: str | None  # the newest migration applied; None: no Fieldcase schema yet
    pending: tuple[str, ...]  # the migrations still to apply, oldest first
    newer: bool = False  # the database was migrated by a newer version of the service

    @property
    def head(self) -> str:
        return _script().get_current_head() or ""


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def schema_state(engine: Engine) -> SchemaState:
    """The database's schema against the shipped migrations (a read; connects)."""
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    current = heads[0] if heads else None
    script = _script()
    known = [rev.revision for rev in script.walk_revisions()]  # newest first
    if current is not None and current not in known:
        return SchemaState(current, (), newer=True)
    pending: list[str] = []
    for revision in known:
        if revision == current:
            break
        pending.append(revision)
    return SchemaState(current, tuple(reversed(pending)))


def migration_sql(engine: Engine) -> str:
    """The SQL that brings a PostgreSQL database from where it stands to the newest migration,
    for a database administrator to read and run (Alembic's offline mode). The steps that
    move data are written as SQL there too."""
    state = schema_state(engine)
    if not state.pending:
        return ""
    config = alembic_config()
    buffer = io.StringIO()
    config.output_buffer = buffer
    config.attributes["dialect"] = engine.dialect.name
    start = f"{state.current}:" if state.current else ""
    command.upgrade(config, f"{start}head", sql=True)
    return buffer.getvalue()


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


# ------------------------------------------------------------------------ bulk writes


def compact_json(value: Any) -> str:
    """``value`` as compact JSON text, non-ASCII kept as it is: exactly what
    ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` makes, made by
    pydantic-core's encoder (about three times quicker; the bulk writers make one for every
    record). Anything it will not take (a legacy lone surrogate) goes the slow way."""
    try:
        return pydantic_core.to_json(value).decode("utf-8")
    except (ValueError, TypeError, UnicodeDecodeError, pydantic_core.PydanticSerializationError):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of every column of ``table``, a SQLAlchemy table) in the
    session's own transaction: by PostgreSQL's COPY, several times quicker than an INSERT a
    row for a large batch; elsewhere by one executemany."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, sa.JSON)}
    raw = session.connection().connection.driver_connection
    assert raw is not None
    plain = [c for c in columns if c not in as_json]
    json_columns = [c for c in columns if c in as_json]
    names = ", ".join(plain + json_columns)  # the table's own column names, never input
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = [row[c] for c in plain]
            values += [compact_json(row[c]) for c in json_columns]
            copy.write_row(values)


def among(session: Session, column: Any, values: list[Any]) -> Any:
    """A condition: ``column`` is one of ``values``. On PostgreSQL one array parameter
    (``= ANY(:values)``): a list of thousands (a batch's ids) is neither spelled out as as many
    parameters nor parsed again by the driver for each new length; elsewhere ``IN (...)``."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(column.type)))
