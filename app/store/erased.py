"""Cases the service erased (records management: a subject's request or the retention
schedule): gone from everything on this laptop that held them. The one owner of that rule.

When a pull names a case in ``erased_cases``, or the service refuses a change with ``erased``,
:func:`erase_cases` takes out, in the caller's transaction, the case's rows of every kind, its
search index entries (by the index's triggers), its conflicts, set-aside records, the changes
waiting to be sent (the service would refuse them) and the drafts typed on it, and keeps only
the fact (:class:`app.store.tables.ErasedCase`: its id and when). Its document files go
once that is committed (:func:`remove_document_files`). Connections run with
``secure_delete`` (app/store/db.py), so freed pages hold no plaintext inside the encrypted
file either; :func:`optimise_search` then merges the full-text index so no old segment keeps
a word of it.

The backups and the copies a restore set aside are older states of the same file: each that
holds an erased case is purged the same way on a copy, vacuumed, and put in its place
(:func:`purge_copies`), with the backed-up document files of its documents; until that is
done the tombstone says so (``backups_done``), and the next sync finishes the job.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.files import fsync_dir
from app.store import db, document_backups, outbox, state
from app.store.document_files import SUFFIX
from app.store.models import KIND_MODELS, Case
from app.store.state import DRAFT_PREFIX
from sync.clock import Clock
from sync.protocol import ChangeResult, ErrorCode

if TYPE_CHECKING:
    from app.store.profile import Profile

log = logging.getLogger("fieldcase.store.erased")

#: Every table that holds a case's data, with the column naming the case.
CASE_TABLES: tuple[tuple[str, str], ...] = (
    *((str(model.__tablename__), "case_id") for model in KIND_MODELS.values() if model is not Case),
    ("cases", "id"),
    ("conflict", "case_id"),
    ("set_aside_record", "case_id"),
    ("outbox", "case_id"),
)


def _tables(conn: Connection | db.sqlcipher.Connection) -> set[str]:
    rows = _Execute(conn)("SELECT name FROM sqlite_master WHERE type = 'table'", ())
    return {str(row[0]) for row in rows}


def _ids(case_ids: Iterable[UUID]) -> list[str]:
    """Case ids as the store keeps them (32 hex digits)."""
    return sorted({case_id.hex for case_id in case_ids})


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _purge_rows(execute: _Execute, tables: set[str], ids: Sequence[str]) -> list[UUID]:
    """Delete the rows of the cases ``ids`` from every table there is; the ids of their
    documents."""
    if not ids:
        return []
    documents: list[UUID] = []
    if "documents" in tables:
        documents = [
            UUID(str(row[0]))
            for row in execute(
                f"SELECT id FROM documents WHERE case_id IN ({_marks(len(ids))})", ids
            )
        ]
    for table, column in CASE_TABLES:
        if table in tables:
            execute(f"DELETE FROM {table} WHERE {column} IN ({_marks(len(ids))})", ids)
    if "meta" in tables:
        for case_id in ids:
            dashed = str(UUID(case_id))
            for form in (case_id, dashed):
                execute(
                    "DELETE FROM meta WHERE key LIKE ? ESCAPE '\\'",
                    [_like(DRAFT_PREFIX) + "%" + form],
                )
    return documents


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Execute:
    """Run a statement with positional values on either kind of connection; rows back."""

    def __init__(self, conn: Connection | db.sqlcipher.Connection) -> None:
        self.conn = conn

    def __call__(self, sql: str, values: Sequence[str]) -> list[tuple[object, ...]]:
        if isinstance(self.conn, Connection):
            result = self.conn.exec_driver_sql(sql, tuple(values))
            return [tuple(row) for row in result] if result.returns_rows else []
        return [tuple(row) for row in self.conn.execute(sql, tuple(values)).fetchall()]


def erase_cases(conn: Connection, case_ids: Iterable[UUID], *, now: datetime) -> list[UUID]:
    """Take the erased cases out of the live profile (in the caller's transaction) and keep
    their tombstones; returns the ids of their documents, whose files go once committed
    (:func:`remove_document_files`)."""
    ids = _ids(case_ids)
    if not ids:
        return []
    documents = _purge_rows(_Execute(conn), _tables(conn), ids)
    stamp = now.isoformat()
    for case_id in ids:
        conn.exec_driver_sql(
            "INSERT INTO erased_case (case_id, erased_at, backups_done) VALUES (?, ?, 0) "
            "ON CONFLICT (case_id) DO UPDATE SET backups_done = 0",
            (case_id, stamp),
        )
    log.info("erased %d case(s) the service erased", len(ids))
    return documents


def is_erased(conn: Connection, case_id: UUID) -> bool:
    found = conn.exec_driver_sql(
        "SELECT 1 FROM erased_case WHERE case_id = ?", (case_id.hex,)
    ).first()
    return found is not None


def erased_count(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT count(*) FROM erased_case").scalar_one())


def backups_to_purge(conn: Connection) -> list[UUID]:
    """Erased cases whose backups' copies are still to be purged."""
    rows = conn.exec_driver_sql("SELECT case_id FROM erased_case WHERE backups_done = 0")
    return [UUID(str(row[0])) for row in rows]


def backups_purged(conn: Connection, case_ids: Iterable[UUID]) -> None:
    for case_id in _ids(case_ids):
        conn.exec_driver_sql(
            "UPDATE erased_case SET backups_done = 1 WHERE case_id = ?", (case_id,)
        )


def optimise_search(conn: Connection) -> None:
    """Merge the full-text index into one segment, leaving out every deleted entry (a deleted
    document's words otherwise stay in older segments until they happen to be merged)."""
    conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('optimize')")


def remove_document_files(documents_dir: Path, document_ids: Iterable[UUID]) -> int:
    """Remove the documents' files, and any copy a restore set aside beside them."""
    folder = Path(documents_dir)
    gone = 0
    for document_id in document_ids:
        for path in folder.glob(f"{document_id}{SUFFIX}*"):
            path.unlink(missing_ok=True)
            gone += 1
    return gone


# ------------------------------------------------------------------------- older copies


def copies_of_the_data_file(profile_dir: Path, backups_dir: Path) -> list[Path]:
    """Every older state of the data file on this laptop: the backups and the copies a
    restore set aside (their -wal/-shm companions are read with them)."""
    from app.store.profile import list_backups

    found = [backup.path for backup in list_backups(profile_dir)]
    found += sorted(
        path
        for path in Path(profile_dir).glob(f"{db.DB_FILE}.before-restore-*")
        if "-wal" not in path.name and "-shm" not in path.name
    )
    return found


def purge_copies(profile_dir: Path, backups_dir: Path, key: bytes, case_ids: Sequence[UUID]) -> int:
    """Purge the cases from every older copy of the data file and from the document copies
    the backups keep; returns how many data-file copies held any of them."""
    ids = _ids(case_ids)
    if not ids:
        return 0
    changed = 0
    documents: set[UUID] = set()
    for path in copies_of_the_data_file(profile_dir, backups_dir):
        held = _purge_copy(path, key, ids)
        if held is not None:
            changed += 1
            documents.update(held)
    if documents:
        from app.store.profile import DOCUMENTS_DIR

        document_backups.forget_documents(backups_dir, documents)
        remove_document_files(Path(profile_dir) / DOCUMENTS_DIR, documents)
    log.info("purged %d older copies of the data file of erased cases", changed)
    return changed


def _companions(path: Path) -> dict[str, Path]:
    """The -wal/-shm files a copy was set aside with (a restore names them after it)."""
    found: dict[str, Path] = {}
    for suffix in ("-wal", "-shm"):
        for candidate in (Path(f"{path}{suffix}"), *path.parent.glob(f"{path.name}{suffix}.*")):
            if candidate.exists():
                found[suffix] = candidate
    return found


def _purge_copy(path: Path, key: bytes, ids: Sequence[str]) -> list[UUID] | None:
    """Purge one copy (on a working copy put in its place when done); None when it held
    none of the cases (left untouched)."""
    companions = _companions(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".purging-") as work_dir:
        work = Path(work_dir) / db.DB_FILE
        shutil.copyfile(path, work)
        for suffix, companion in companions.items():
            shutil.copyfile(companion, Path(f"{work}{suffix}"))
        conn = db.connect_copy(work, key)
        try:
            before = conn.total_changes
            tables = _tables(conn)
            conn.execute("BEGIN IMMEDIATE")
            documents = _purge_rows(_Execute(conn), tables, ids)
            if conn.total_changes == before:
                conn.execute("ROLLBACK")
                return None
            conn.execute("COMMIT")
            if "search_fts" in tables:
                conn.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
            conn.execute("VACUUM")
            conn.execute("PRAGMA journal_mode = DELETE").fetchall()
        finally:
            conn.close()
        with open(work, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(work, path)
        for companion in companions.values():
            companion.unlink(missing_ok=True)
        fsync_dir(path.parent)
    return documents


class Erasures:
    """The sync adapter's share of erasure (mixed into
    :class:`app.store.sync_adapter.SyncAdapter`): erased cases out of the profile in the
    page's or the push answer's transaction, then their files and older copies."""

    profile: Profile
    clock: Clock
    #: cases erased by this adapter since it was made (a sync reports them)
    erased: int = 0
    #: documents of cases erased in the transaction being written (files go after it)
    _erased_documents: set[UUID]

    def _session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _erased_by_refusal(self, s: Session, results: Sequence[ChangeResult]) -> set[UUID]:
        """The cases of the changes the service refused as ``erased``."""
        gone = [r.change_id for r in results if r.error and r.error.code == ErrorCode.ERASED]
        found = [outbox.find_change(s, change_id) for change_id in gone]
        return {change.case_id for change in found if change is not None}

    def _erase(self, s: Session, case_ids: Iterable[UUID]) -> None:
        """Cases the service erased: out of the profile at once, in this transaction."""
        case_ids = set(case_ids)
        self._erased_documents.update(erase_cases(s.connection(), case_ids, now=self.clock.now()))
        pending = state.removed_pending(s)
        left = [value for value in pending if UUID(value) not in case_ids]
        if len(left) != len(pending):
            state.set_removed_pending(s, left)
        self.erased += len(case_ids)

    def finish_erasure(self) -> None:
        """After an erasure is committed: its document files, the search index's old segments,
        and every older copy of the data file (backups, copies a restore set aside). A step
        that fails is logged and done at the next sync (the tombstones say what is left)."""
        documents, self._erased_documents = self._erased_documents, set()
        remove_document_files(self.profile.documents_dir, documents)
        try:
            with self._session() as s, s.begin():
                optimise_search(s.connection())
            self.profile.purge_erased_copies()
        except (SQLAlchemyError, OSError, db.sqlcipher.Error) as err:
            log.warning("erased cases not yet purged from every copy: %s", type(err).__name__)
