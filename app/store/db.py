"""The SQLCipher database: connections, the SQLAlchemy engine, integrity checks and backups.

Every connection is keyed first (``PRAGMA key`` with the raw 256-bit key from the vault), then
set up for durability: WAL with ``synchronous=FULL``, foreign keys on, temporary tables and
indices in memory only (so nothing plaintext ever reaches a temp file). Transactions begin
with ``BEGIN IMMEDIATE``: one writer at a time, and a read-then-write action never meets a
stale snapshot.

Threads: connections are made with ``check_same_thread=False`` so an engine made on one thread
can be used on another (the window's single database worker). Calls must still be
serialised: use the profile from one thread at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3.dbapi2 as sqlcipher
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from app.files import fsync_dir

log = logging.getLogger("fieldcase.store")

DB_FILE = "fieldcase.db"
BUSY_TIMEOUT_MS = 10_000
#: Page cache per connection (decrypted pages): large enough that searching a big profile
#: does not decrypt the same pages over and over.
CACHE_KIB = 32 * 1024
#: Page cache while a pulled page is written: a first sync of a large profile then holds
#: little more memory than one of a small one (its pages are written once, not searched).
#: 12 MB holds the random-access index pages of 10,000 cases: 10 MB or less made their
#: first sync re-read and decrypt pages, 20% more CPU (bench/bench_memory.py, issue 11).
SYNC_CACHE_KIB = 12 * 1024
#: Leading bytes of every unencrypted SQLite file; ours must never start with them.
PLAIN_SQLITE_HEADER = b"SQLite format 3\x00"

# None and booleans are bound through adapters of their own. Without one the driver takes its
# slow way for any value not exactly an int, float, str or bytes: two attribute look-ups that
# fail, each raising and dropping an exception, about 3 µs a value. A first sync binds a null
# or a boolean or two per record: that way cost it a tenth of its instructions.
sqlcipher.register_adapter(type(None), lambda value: value)
sqlcipher.register_adapter(bool, int)  # stored as the 0/1 it stands for


class DamagedDatabase(Exception):
    """Internal: the file failed to decrypt or failed an integrity check (``str`` = detail)."""


class DiskUnavailable(Exception):
    """Internal: the file could not be read, or SQLite's working files (``-wal``, ``-shm``) not
    made, for a reason of the disk (full, failing, gone), not of the file's content."""


#: SQLite's words for a failure of the disk rather than of the file's content.
_DISK_WORDS = ("disk i/o error", "database or disk is full", "unable to open database file")


def _disk_not_content(err: BaseException) -> bool:
    return any(word in str(err).lower() for word in _DISK_WORDS)


def _key_pragma(key: bytes) -> str:
    if len(key) != 32:
        raise ValueError("the database key must be 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


@contextmanager
def cache_of(conn: Connection, kib: int) -> Iterator[None]:
    """The connection's page cache at ``kib`` for the block, then back at :data:`CACHE_KIB`."""
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{CACHE_KIB}")


def connect(path: Path, key: bytes) -> sqlcipher.Connection:
    """A raw keyed connection in autocommit mode, set up for durability."""
    conn = sqlcipher.connect(
        str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        conn.execute(_key_pragma(key))
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # what is deleted is overwritten, so a freed page holds none of it (erasure)
        conn.execute("PRAGMA secure_delete = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_copy(path: Path, key: bytes) -> sqlcipher.Connection:
    """A raw keyed connection in autocommit mode to an older copy of the data file (a backup,
    or a copy a restore set aside), to purge erased cases from it: its -wal (if any) is taken
    in, and it is left in rollback-journal mode as backups are."""
    conn = sqlcipher.connect(
        str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        conn.execute(_key_pragma(key))
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("PRAGMA journal_mode = DELETE").fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


def make_engine(path: Path, key: bytes) -> Engine:
    """The SQLAlchemy engine over the encrypted file (a small pool of keyed connections)."""

    def creator() -> sqlcipher.Connection:
        return connect(path, key)

    engine = create_engine(
        "sqlite://",
        creator=creator,
        module=sqlcipher,
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=4,
        # an error's text names the statement but never its values (note text, names)
        hide_parameters=True,
    )

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def check_database(path: Path, key: bytes) -> None:
    """Raise :class:`DamagedDatabase` unless the file decrypts and passes the checks.

    Reads only: ``cipher_integrity_check`` verifies every page's HMAC, ``quick_check`` the
    b-tree structure. Nothing is written to the file.
    """
    try:
        conn = sqlcipher.connect(str(path), check_same_thread=False, isolation_level=None)
    except sqlcipher.Error as err:
        if _disk_not_content(err):
            raise DiskUnavailable(str(err)) from err
        raise DamagedDatabase(f"cannot open: {err}") from err
    try:
        conn.execute(_key_pragma(key))
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher.DatabaseError as err:
            if _disk_not_content(err):
                raise DiskUnavailable(str(err)) from err
            raise DamagedDatabase(f"does not decrypt: {err}") from err
        try:
            bad = conn.execute("PRAGMA cipher_integrity_check").fetchall()
            if bad:
                raise DamagedDatabase(f"cipher_integrity_check: {len(bad)} problem(s)")
            quick = conn.execute("PRAGMA quick_check").fetchall()
        except sqlcipher.DatabaseError as err:
            if _disk_not_content(err):
                raise DiskUnavailable(str(err)) from err
            raise DamagedDatabase(f"integrity check failed: {err}") from err
        if [row[0] for row in quick] != ["ok"]:
            raise DamagedDatabase(f"quick_check: {len(quick)} problem(s)")
    finally:
        conn.close()


def read_snapshot(path: Path, key: bytes) -> sqlcipher.Connection:
    """A keyed connection holding a read transaction: what it reads, and a backup made from it
    (:func:`backup_to`), is the file as it was now, whatever other connections write later.
    The caller closes it."""
    conn = connect(path, key)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


def backup_to(
    engine_or_path: Engine | Path | sqlcipher.Connection, key: bytes, target: Path
) -> None:
    """Copy the live database into ``target`` through SQLite's online backup API, keyed with
    the same key. Written beside ``target`` first, fsynced, then renamed into place. Given a
    :func:`read_snapshot` connection, the copy is that snapshot (the connection stays open)."""
    partial = target.with_name(target.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    with _source(engine_or_path, key) as src:
        dst = sqlcipher.connect(str(partial), check_same_thread=False, isolation_level=None)
        try:
            dst.execute(_key_pragma(key))
            dst.execute("PRAGMA temp_store = MEMORY")
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE").fetchall()
        finally:
            dst.close()
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    fsync_dir(target.parent)


@contextmanager
def _source(
    engine_or_path: Engine | Path | sqlcipher.Connection, key: bytes
) -> Iterator[sqlcipher.Connection]:
    if isinstance(engine_or_path, sqlcipher.Connection):
        yield engine_or_path
    elif isinstance(engine_or_path, Engine):
        raw = engine_or_path.raw_connection()
        try:
            yield raw.driver_connection
        finally:
            raw.close()
    else:
        conn = connect(engine_or_path, key)
        try:
            yield conn
        finally:
            conn.close()
