"""The laptop's side of :class:`sync.store.LocalStore`, over the encrypted profile's tables.

Every method is one local transaction. The rules that keep edits safe live here:

* a change leaves the outbox only when the service confirmed it; a refused one stays, marked
  ``rejected`` with its plain-English error, never dropped;
* a pulled page, its conflicts, its removals and the new cursor commit together, so a cut
  connection resumes from the last committed page;
* a field with a local edit still waiting to be sent keeps the local value over a pulled one
  (the service merges it when it arrives, or keeps both as a clash);
* a case that left this user's scope is purged only once its local edits have been sent;
* a record's ``version`` only moves forward, and only to a version whose content this laptop
  has seen (a push confirmation counts only when no one else's change came in between).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, BinaryIO
from uuid import UUID

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app import vault
from app.domain.enums import DocumentState
from app.store import outbox, state
from app.store.document_files import DocumentFiles
from app.store.models import KIND_MODELS, Case, Document, Record
from app.store.profile import Profile
from app.store.records import dumps, from_wire
from app.store.refs import MarksAndRefs
from app.store.tables import Conflict
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


def conflict_info(row: Conflict) -> ConflictInfo:
    return ConflictInfo(
        conflict_id=row.conflict_id,
        kind=RecordKind(row.kind),
        record_id=row.record_id,
        case_id=row.case_id,
        field=row.field,
        kept_value=json.loads(row.kept_value),
        kept_by=row.kept_by,
        kept_at=row.kept_at,
        other_value=json.loads(row.other_value),
        other_by=row.other_by,
        other_at=row.other_at,
        resolved=row.resolved,
        resolved_value=json.loads(row.resolved_value),
        resolved_by=row.resolved_by,
    )


def _store_conflict(session: Session, info: ConflictInfo) -> None:
    session.merge(
        Conflict(
            conflict_id=info.conflict_id,
            kind=info.kind.value,
            record_id=info.record_id,
            case_id=info.case_id,
            field=info.field,
            kept_value=dumps(info.kept_value),
            kept_by=info.kept_by,
            kept_at=info.kept_at,
            other_value=dumps(info.other_value),
            other_by=info.other_by,
            other_at=info.other_at,
            resolved=info.resolved,
            resolved_value=dumps(info.resolved_value),
            resolved_by=info.resolved_by,
        )
    )


def _column_default(model: type[Record], name: str) -> Any:
    column = model.__table__.c[name]  # type: ignore[attr-defined]
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return default.arg
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return None
    return {str: "", int: 0, bool: False}.get(python_type)


class SyncAdapter(MarksAndRefs):
    """Implements :class:`sync.store.LocalStore` for one open :class:`Profile` (push marks,
    rollbacks and re-referencing: :class:`app.store.refs.MarksAndRefs`)."""

    def __init__(self, profile: Profile, *, clock: Clock | None = None) -> None:
        self.profile = profile
        self.clock: Clock = clock or profile.clock
        self.files = DocumentFiles(profile.documents_dir)

    def _session(self) -> Session:
        return self.profile.session()

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
        with self._session() as s, s.begin():
            for result in results:
                for info in result.conflicts:
                    _store_conflict(s, info)
            outbox.mark_sent(s, results)

    # ------------------------------------------------------------------ pull

    def cursor(self) -> str | None:
        with self._session() as s:
            return state.cursor(s)

    @staticmethod
    def _preload(s: Session, states: Sequence[RecordState]) -> dict[UUID, Record]:
        """The page's rows already on this laptop, loaded in a few queries."""
        by_kind: dict[RecordKind, list[UUID]] = {}
        for incoming in states:
            by_kind.setdefault(incoming.kind, []).append(incoming.record_id)
        found: dict[UUID, Record] = {}
        for kind, ids in by_kind.items():
            model = KIND_MODELS[kind]
            for start in range(0, len(ids), 500):
                rows = s.exec(select(model).where(col(model.id).in_(ids[start : start + 500])))
                found.update((row.id, row) for row in rows.all())
        return found

    def _apply_record(
        self, s: Session, incoming: RecordState, keep: set[str], obj: Record | None
    ) -> None:
        model = KIND_MODELS[incoming.kind]
        if obj is not None and obj.version > incoming.version:
            return  # never move a record backwards
        new = obj is None
        if obj is None:
            obj = model(id=incoming.record_id)
            if incoming.kind is not RecordKind.CASE:
                obj.case_id = incoming.case_id
        old_sha = obj.sha256 if isinstance(obj, Document) else None
        allowed = set(FIELDS[incoming.kind])
        for name, value in incoming.fields.items():
            if name not in allowed or (name in keep and not new):
                continue
            try:
                converted = from_wire(model, name, value)
            except ValueError:
                log.warning(
                    "pulled %s %s: bad value in %s", incoming.kind, incoming.record_id, name
                )
                continue
            if converted is None:
                column = model.__table__.c[name]  # type: ignore[attr-defined]
                if not column.nullable:
                    converted = _column_default(model, name)
                    if converted is None:
                        continue
            setattr(obj, name, converted)
        obj.version = incoming.version
        changed_content = (
            isinstance(obj, Document)
            and obj.local_state == DocumentState.UPLOADED.value
            and obj.sha256 != old_sha
        )
        if isinstance(obj, Document) and (new or changed_content):
            obj.local_state = DocumentState.REMOTE.value
        s.add(obj)

    def apply_page(self, page: PullResponse) -> None:
        with self._session() as s, s.begin():
            pending = outbox.pending_fields(s, {r.record_id for r in page.records})
            existing = self._preload(s, page.records)
            with s.no_autoflush:
                # cases first, so that anything looking a record's case up finds it
                for incoming in sorted(page.records, key=lambda r: r.kind is not RecordKind.CASE):
                    self._apply_record(
                        s,
                        incoming,
                        pending.get(incoming.record_id, set()),
                        existing.get(incoming.record_id),
                    )
            for info in page.conflicts:
                _store_conflict(s, info)
            if page.removed_cases:
                deferred = set(state.removed_pending(s))
                for case_id in page.removed_cases:
                    if outbox.unsent_rows(s, case_id):
                        deferred.add(str(case_id))
                    else:
                        self._purge_case(s, case_id)
                        deferred.discard(str(case_id))
                state.set_removed_pending(s, deferred)
            state.set_cursor(s, page.next_cursor)
            state.set_last_sync(s, page.server_time)

    def pending_for_case(self, case_id: UUID) -> int:
        """Rows of the case still to go out (audit events too): it is purged only at 0."""
        with self._session() as s:
            return outbox.unsent_rows(s, case_id)

    def _purge_case(self, s: Session, case_id: UUID) -> None:
        documents = s.exec(select(Document.id).where(Document.case_id == case_id)).all()
        for model in KIND_MODELS.values():
            if model is Case:
                continue
            s.execute(delete(model).where(model.case_id == case_id))  # type: ignore[attr-defined]
        s.execute(delete(Case).where(col(Case.id) == case_id))
        s.execute(delete(Conflict).where(col(Conflict.case_id) == case_id))
        for document_id in documents:
            self.files.remove(document_id)
        log.info("purged case %s: it left this user's scope", case_id)

    def purge_removed_cases(self) -> int:
        with self._session() as s:
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
            return [conflict_info(row) for row in rows]

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
