"""The laptop's side of :class:`sync.store.LocalStore`, over the encrypted profile's tables.

Every method is one local transaction. The rules that keep edits safe live here:

* a change leaves the outbox only when the service confirmed it; a refused one stays, marked
  ``rejected`` with its plain-English error, never dropped;
* a pulled page, its conflicts, its removals and the new cursor commit together, so a cut
  connection resumes from the last committed page; the page's records are written in bulk
  (:mod:`app.store.bulk_apply`: one ``executemany`` per table, no ORM object per record), and
  only when that fails is the page written again one record at a time;
* a field with a local edit still waiting to be sent keeps the local value over a pulled one
  (the service merges it when it arrives, or keeps both as a clash);
* a case that left this user's scope is purged only once its local edits have been sent;
  a case the service erased is purged at once, unsent work, drafts and backups' copies
  included (:mod:`app.store.erased`): the service refuses that work, and it must not stay;
* a record's ``version`` only moves forward, and only to a version whose content this laptop
  has seen (a push confirmation counts only when no one else's change came in between);
* a pulled record that cannot be stored (whatever the reason) is set aside
  (:mod:`app.store.set_aside`) and the page, its cursor and the team's sync carry on past it;
  the data file's own troubles (a full disk, a read-only or locked file) stop the sync with
  their own plain message instead (:class:`StoreStopped`), and nothing is set aside.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, BinaryIO, ClassVar
from uuid import UUID

from sqlalchemy import Connection, delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from app import vault
from app.domain.enums import DocumentState
from app.errors import SyncError
from app.store import conflicts, db, erased, first_sync, outbox, people, set_aside, state
from app.store.bulk_apply import refusal, schema_reason, write_records
from app.store.document_files import DocumentFiles
from app.store.erased import Erasures
from app.store.errors import stop_cause
from app.store.models import KIND_MODELS, Case, Document, Record
from app.store.profile import Profile
from app.store.records import from_wire
from app.store.refs import MarksAndRefs
from app.store.set_aside import Reason, Refusal
from app.store.tables import Conflict
from sync import records as sync_records
from sync.clock import Clock
from sync.protocol import (
    Change,
    ChangeResult,
    ConflictInfo,
    PullResponse,
    RecordState,
)
from sync.protocol import RefBlock as WireRefBlock
from sync.records import FIELDS, RecordKind
from sync.store import DeviceCredential, PendingDocument

log = logging.getLogger("fieldcase.store.sync")

#: A pulled record that cannot be stored, and why.
_Aside = tuple[RecordState, Reason]


_NO_DEFAULT = object()


@functools.cache
def _fill_for_null(model: type[Record], name: str) -> Any:
    """What a null from the service becomes in ``model.name``: None for a nullable column,
    the column's own default for one that has it, else ``_NO_DEFAULT`` (the field is needed)."""
    column = model.__table__.c[name]  # type: ignore[attr-defined]
    if column.nullable:
        return None
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return default.arg
    return _NO_DEFAULT


def _convert(incoming: RecordState) -> dict[str, Any]:
    """The pulled fields as column values, or :class:`Refusal` saying why they cannot be
    stored (checked in Python first, so a bad record rarely reaches the database)."""
    problems = sync_records.check_fields(incoming.kind, incoming.fields, whole=True)
    if problems:
        raise Refusal(schema_reason(incoming, problems[0]))
    model = KIND_MODELS[incoming.kind]
    values: dict[str, Any] = {}
    for name in FIELDS[incoming.kind]:
        if name not in incoming.fields:
            continue
        try:
            converted = from_wire(model, name, incoming.fields[name])
        except (ValueError, TypeError, OverflowError):
            raise Refusal(Reason.of(set_aside.WRONG_TYPE, name)) from None
        if converted is None:
            converted = _fill_for_null(model, name)
            if converted is _NO_DEFAULT:
                raise Refusal(Reason.of(set_aside.MISSING, name))
        values[name] = converted
    return values


#: What one record can raise when the data file refuses it (or a value cannot be bound).
RECORD_ERRORS = (SQLAlchemyError, ValueError, TypeError, OverflowError)


class StoreStopped(SyncError):
    """The laptop's data file or disk could not take the updates: the sync stops (nothing is
    set aside, the pull resumes from the last saved page)."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "disk_full": (
            "The disk is full, so the updates from the service could not be saved on this "
            "laptop. Nothing has been lost; free some space and sync again."
        ),
        "read_only": (
            "Fieldcase cannot write to its data file (the file or its folder is read-only), so "
            "the updates from the service could not be saved. Nothing has been lost; ask your "
            "IT team to check the profile folder."
        ),
        "busy": (
            "Fieldcase's data file is in use by another Fieldcase window or command, so the "
            "updates from the service could not be saved. Nothing has been lost; close the "
            "other one and sync again."
        ),
        "disk": (
            "Fieldcase could not write to this laptop's disk, so the updates from the service "
            "could not be saved. Nothing has been lost; sync again, and if it happens again "
            "contact your IT team."
        ),
    }

    def __init__(self, cause: str, *, detail: str = "") -> None:
        self.cause = cause
        super().__init__(self.MESSAGES[cause], detail=detail)


def _put(
    s: Session,
    incoming: RecordState,
    values: dict[str, Any],
    keep: set[str],
    obj: Record | None,
) -> None:
    """Write one pulled record's converted ``values`` (fields in ``keep`` have a local edit
    waiting to be sent and keep the local value)."""
    model = KIND_MODELS[incoming.kind]
    if obj is not None and obj.version > incoming.version:
        return  # never move a record backwards
    new = obj is None
    if obj is None:
        obj = model(id=incoming.record_id)
        if incoming.kind is not RecordKind.CASE:
            obj.case_id = incoming.case_id
    old_sha = obj.sha256 if isinstance(obj, Document) else None
    for name, value in values.items():
        if name in keep and not new:
            continue
        setattr(obj, name, value)
    obj.version = incoming.version
    changed_content = (
        isinstance(obj, Document)
        and obj.local_state == DocumentState.UPLOADED.value
        and obj.sha256 != old_sha
    )
    if isinstance(obj, Document) and (new or changed_content):
        obj.local_state = DocumentState.REMOTE.value
    s.add(obj)


def _store_records(s: Session, records: Sequence[RecordState]) -> list[_Aside]:
    """Store pulled records one by one, each in its own savepoint (so one bad record never
    costs the good ones); return those that cannot be stored, with why. Values are checked in
    Python first. The careful way, after a page failed in bulk and for set-aside records
    tried again."""
    refused: list[_Aside] = []
    ready: list[tuple[RecordState, dict[str, Any]]] = []
    for incoming in records:
        try:
            ready.append((incoming, _convert(incoming)))
        except Refusal as refusal:
            refused.append((incoming, refusal.reason))
    # cases first, so that anything looking a record's case up finds it
    ready.sort(key=lambda item: item[0].kind is not RecordKind.CASE)
    pending = outbox.pending_fields(s, {incoming.record_id for incoming, _ in ready})
    for incoming, values in ready:
        model = KIND_MODELS[incoming.kind]
        try:
            with s.begin_nested():
                keep = pending.get(incoming.record_id, set())
                _put(s, incoming, values, keep, s.get(model, incoming.record_id))
                s.flush()
        except RECORD_ERRORS as err:
            if stop_cause(err) is not None:
                raise
            refused.append((incoming, set_aside.reason_of(err)))
    return refused


def _store_in_bulk(
    s: Session, records: Sequence[RecordState], *, first_sync: bool = False
) -> list[_Aside]:
    """Store pulled records together (:mod:`app.store.bulk_apply`: no ORM object per record);
    return those that do not fit, with why. A failure fails the transaction, and the caller
    stores the page again carefully (:func:`_store_records`).

    ``first_sync``: the profile held nothing when the pull began, so the records are written
    as new, without looking each one up; when one is here after all (it changed on the
    service while the pull went on, and came again), its insert fails the transaction, and
    the caller writes the page again the usual way (:meth:`SyncAdapter.apply_page`)."""
    refused: list[_Aside] = []
    checked: list[RecordState] = []
    by_kind: dict[RecordKind, list[RecordState]] = {}
    for incoming in records:
        by_kind.setdefault(incoming.kind, []).append(incoming)
    # each kind's records checked in one call; only those that do not fit one by one (why)
    for kind, items in by_kind.items():
        unfit = sync_records.unfit_records(kind, [incoming.fields for incoming in items])
        for at, incoming in enumerate(items):
            why = refusal(incoming) if at in unfit else None
            if why is None:
                checked.append(incoming)
            else:
                refused.append((incoming, why))
    if not first_sync:
        return refused + write_records(s, checked)
    try:
        return refused + write_records(s, checked, all_new=True)
    except IntegrityError as err:  # a constraint (never the data file's own trouble)
        raise _NotAllNew from err


class _NotAllNew(Exception):
    """A first sync's page held a record already here: the page is written again with
    look-ups (:meth:`SyncAdapter.apply_page`)."""


class SyncAdapter(MarksAndRefs, Erasures):
    """Implements :class:`sync.store.LocalStore` for one open :class:`Profile` (push marks,
    rollbacks and re-referencing: :class:`app.store.refs.MarksAndRefs`; erased cases:
    :class:`app.store.erased.Erasures`)."""

    def __init__(self, profile: Profile, *, clock: Clock | None = None) -> None:
        self.profile = profile
        self.clock: Clock = clock or profile.clock
        self.files = DocumentFiles(profile.documents_dir)
        self._erased_documents: set[UUID] = set()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A session whose data file's troubles (full disk, read-only, locked) become their
        plain message; everything else passes as it is."""
        try:
            with self.profile.session() as s:
                yield s
        except (SQLAlchemyError, OSError) as err:
            cause = stop_cause(err)
            if cause in StoreStopped.MESSAGES:
                raise StoreStopped(cause, detail=type(err).__name__) from err
            raise

    # ------------------------------------------------------------------ outbox

    def pending_changes(self, limit: int) -> list[Change]:
        with self._session() as s:
            return outbox.pending_changes(s, limit)

    def pending_count(self) -> int:
        """Changes waiting to be sent (the one rule of :func:`app.store.outbox.waiting_count`)."""
        with self._session() as s:
            return outbox.waiting_count(s)

    def rejected_changes(self) -> list[tuple[UUID, str]]:
        """(change id, plain-English reason) of changes the service refused, kept aside."""
        with self._session() as s:
            return outbox.rejected_changes(s)

    def mark_sent(self, results: Sequence[ChangeResult]) -> None:
        self._erased_documents = set()
        with self._session() as s, s.begin():
            settled = [result for result in results if result.settled]
            chosen = {r.change_id: outbox.find_change(s, r.change_id) for r in settled}
            erased_cases = self._erased_by_refusal(s, results)
            conflicts.store(s, [info for result in results for info in result.conflicts])
            outbox.mark_sent(s, results)
            for result in settled:
                conflicts.settled_first(s, result, chosen[result.change_id])
            if erased_cases:
                self._erase(s, erased_cases)
        if erased_cases:
            self.finish_erasure()

    # ------------------------------------------------------------------ pull

    def cursor(self) -> str | None:
        with self._session() as s:
            return state.cursor(s)

    def _set_aside(
        self, s: Session, records: Sequence[RecordState], refused: Sequence[_Aside]
    ) -> int:
        """Forget stored set-aside records, keep the refused; how many were set aside anew."""
        aside = set_aside.ids(s)
        if aside:
            bad = {incoming.record_id for incoming, _ in refused}
            set_aside.stored(s, (r.record_id for r in records if r.record_id not in bad), aside)
        if not refused:
            return 0
        now, user = self.clock.now(), self.profile.user
        return sum(
            set_aside.keep(s, incoming, why, now=now, user=user) for incoming, why in refused
        )

    def apply_page(self, page: PullResponse) -> int:
        """Store a pulled page and its cursor; how many records it set aside (passed over)."""
        try:
            try:
                return self._apply_page(page, careful=False, all_new=True)
            except _NotAllNew:
                # a first sync's record came again: nothing of the page was kept; store it
                # again, looking each record up
                log.info("a first sync's page held a record already here: storing it again")
            return self._apply_page(page, careful=False)
        except RECORD_ERRORS as err:
            if stop_cause(err) is not None:
                raise
            # nothing of the page was kept: store it again, one record at a time
            log.info("a pulled record could not be stored: storing the page one by one")
        return self._apply_page(page, careful=True)

    def _apply_page(self, page: PullResponse, *, careful: bool, all_new: bool = False) -> int:
        self._erased_documents = set()
        with self._session() as s, s.begin():
            conn = s.connection()
            # a small page cache while writing: a first sync holds as much memory for a large
            # profile as for a small one
            with db.cache_of(conn, db.SYNC_CACHE_KIB):
                news = self._store_page(s, conn, page, careful=careful, all_new=all_new)
        if page.erased_cases:
            self.finish_erasure()
        return news

    def _store_page(
        self, s: Session, conn: Connection, page: PullResponse, *, careful: bool, all_new: bool
    ) -> int:
        # a profile with nothing in it yet (a first sync) builds its search index once, at
        # the pull's end, not record by record
        paused = first_sync.pause_if_empty(conn)
        if careful:
            refused = _store_records(s, page.records)
        else:
            # a first sync's page is written as all new (no look-ups) the first time it is tried
            refused = _store_in_bulk(s, page.records, first_sync=paused and all_new)
        news = self._set_aside(s, page.records, refused)
        # a decision against this user is news, except in a first sync (history, not news)
        against = () if paused else conflicts.decided_against(s, page.conflicts, self.profile.user)
        conflicts.store(s, page.conflicts, against)
        if page.removed_cases:
            deferred = set(state.removed_pending(s))
            for case_id in page.removed_cases:
                if outbox.unsent_rows(s, case_id):
                    deferred.add(str(case_id))
                else:
                    self._purge_case(s, case_id)
                    deferred.discard(str(case_id))
            state.set_removed_pending(s, deferred)
        if page.erased_cases:
            self._erase(s, page.erased_cases)
        people.after_page(s, page)  # after purges: what they shared with this laptop goes too
        state.set_cursor(s, page.next_cursor)
        state.set_last_sync(s, page.server_time)
        if not page.more and paused:
            first_sync.build(conn)
        return news

    def pull_stopped(self) -> None:
        """A first sync stopped part way: its search index is built from what came (the rest
        arrives through the triggers), so search works meanwhile."""
        try:
            first_sync.finish_pause(self.profile.engine)
        except SQLAlchemyError as err:  # the sync's own error is the one to report
            log.warning("search index not built after a stopped pull: %s", err)

    def retry_set_aside(self) -> int:
        """Try again the records set aside by another Fieldcase version (or for a reference
        another case held); those stored leave the table. Returns how many were stored."""
        with self._session() as s:
            due = set_aside.due_for_retry(s)
        if not due:
            return 0  # the usual case: no write transaction at all
        with self._session() as s, s.begin():
            refused = _store_records(s, due)
            bad = {incoming.record_id for incoming, _ in refused}
            stored = set_aside.stored(s, (r.record_id for r in due if r.record_id not in bad))
            set_aside.still_aside(s, [r for r, _ in refused], [why for _, why in refused])
        log.info("tried %d set-aside record(s) again: %d stored", len(due), stored)
        return stored

    def set_aside_count(self) -> int:
        with self._session() as s:
            return set_aside.count(s)

    def pending_for_case(self, case_id: UUID) -> int:
        """Rows of the case still to go out (audit events too): it is purged only at 0."""
        with self._session() as s:
            return outbox.unsent_rows(s, case_id)

    def _purge_case(self, s: Session, case_id: UUID) -> None:
        documents = s.exec(select(Document.id).where(Document.case_id == case_id)).all()
        for model in (m for m in KIND_MODELS.values() if m is not Case):  # the case last
            s.execute(delete(model).where(model.case_id == case_id))  # type: ignore[attr-defined]
        s.execute(delete(Case).where(col(Case.id) == case_id))
        s.execute(delete(Conflict).where(col(Conflict.case_id) == case_id))
        set_aside.forget_case(s, case_id)
        for document_id in documents:
            self.files.remove(document_id)
        log.info("purged case %s: it left this user's scope", case_id)

    def purge_removed_cases(self) -> int:
        with self._session() as s:
            if erased.backups_to_purge(s.connection()):
                self.finish_erasure()  # a step an earlier sync could not finish
            if not state.removed_pending(s):
                return 0  # the usual case: no write transaction at all
        with self._session() as s, s.begin():
            deferred = state.removed_pending(s)
            if not deferred:
                return 0
            left = []
            purged = 0
            for value in deferred:
                case_id = UUID(value)
                if outbox.unsent_rows(s, case_id):
                    left.append(value)
                else:
                    self._purge_case(s, case_id)
                    purged += 1
            state.set_removed_pending(s, left)
            return purged

    # ------------------------------------------------------------------ conflicts

    def conflicts(self) -> list[ConflictInfo]:
        with self._session() as s:
            rows = s.exec(select(Conflict).order_by(col(Conflict.other_at)))
            return [conflicts.info_of(row) for row in rows]

    def decisions_to_tell(self) -> list[ConflictInfo]:
        """Clashes someone else settled against this user, each told once."""
        with self._session() as s, s.begin():
            return conflicts.take_decisions_to_tell(s)

    # ------------------------------------------------------------------ reference blocks

    def unused_refs(self) -> int:
        """Reserved numbers left for this year (the laptop's local year, as allocation uses)."""
        with self._session() as s:
            return state.unused_refs(s, self.clock.local_today().year)

    def add_ref_blocks(self, blocks: Sequence[WireRefBlock], device_code: str) -> None:
        with self._session() as s, s.begin():
            state.add_ref_blocks(s, blocks, device_code)

    # ------------------------------------------------------------------ documents

    def _documents(self, wanted: DocumentState) -> list[PendingDocument]:
        with self._session() as s:
            rows = s.exec(select(Document).where(Document.local_state == wanted.value))
            return [
                PendingDocument(
                    document_id=row.id, case_id=row.case_id, size=row.size, sha256=row.sha256
                )
                for row in rows
            ]

    def documents_to_upload(self) -> list[PendingDocument]:
        return self._documents(DocumentState.LOCAL)

    def documents_to_download(self) -> list[PendingDocument]:
        return self._documents(DocumentState.REMOTE)

    def open_document(self, document_id: UUID) -> BinaryIO:
        with self._session() as s:
            row = s.get(Document, document_id)
            if row is None or row.file_key is None:
                raise vault.DocumentMissing(self.files.path(document_id))
            key = row.file_key
        return self.files.open(document_id, key)

    def save_document(self, document_id: UUID, chunks: Iterator[bytes]) -> None:
        key, _size = self.files.store(document_id, chunks)
        with self._session() as s, s.begin():
            row = s.get(Document, document_id)
            if row is None:  # purged meanwhile
                self.files.remove(document_id)
                return
            row.file_key = key
            row.local_state = DocumentState.UPLOADED.value
            s.add(row)

    def mark_document_uploaded(self, document_id: UUID) -> None:
        with self._session() as s, s.begin():
            row = s.get(Document, document_id)
            if row is not None and row.local_state == DocumentState.LOCAL.value:
                row.local_state = DocumentState.UPLOADED.value
                s.add(row)

    # ------------------------------------------------------------------ credentials and state

    def credential(self) -> DeviceCredential | None:
        with self._session() as s:
            return state.credential(s)

    def set_credential(self, credential: DeviceCredential) -> None:
        """Keep the device credential inside the encrypted database (enrolment)."""
        with self._session() as s, s.begin():
            state.set_credential(s, credential)

    def last_sync(self) -> datetime | None:
        with self._session() as s:
            return state.last_sync(s)

    def wipe(self) -> int:
        """Erase this laptop's profile (device revoked): the wrapped key first, then every
        file (:func:`app.store.erase.erase_profile`). Returns how many changes were waiting
        to be sent, counted by the outbox's one rule just before they were erased."""
        from app.store.erase import erase_profile

        try:
            unsent = self.pending_count()
        except Exception:  # a store that cannot be read must not stop the erasure
            log.warning("could not count the unsent changes before erasing")
            unsent = 0
        self.profile.close()
        erase_profile(self.profile.profile_dir)
        return unsent
