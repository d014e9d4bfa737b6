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

import contextlib
import json
import logging
import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app import vault
from app.domain.enums import DocumentState
from app.store.models import KIND_MODELS, Case, Document, Record
from app.store.profile import Profile
from app.store.records import dumps, from_wire
from app.store.tables import Conflict, Outbox, RefBlock, SyncState
from sync.protocol import (
    Change,
    ChangeResult,
    ChangeStatus,
    ConflictInfo,
    PullResponse,
    RecordState,
)
from sync.protocol import RefBlock as WireRefBlock
from sync.records import FIELDS, RecordKind
from sync.store import DeviceCredential, PendingDocument

log = logging.getLogger("fieldcase.store.sync")

CURSOR = "cursor"
CREDENTIAL = "device_credential"
DEVICE_CODE = "device_code"
LAST_SYNC = "last_sync"
#: JSON list of case ids the service removed while they still had unsent local edits.
REMOVED_PENDING = "removed_pending"
DOCUMENT_SUFFIX = ".fcd"  # as app.core.casework names them

CONFIRMED = frozenset({ChangeStatus.APPLIED, ChangeStatus.DUPLICATE, ChangeStatus.CONFLICT})


def document_path(profile: Profile, document_id: UUID) -> Path:
    """Where a document's encrypted content lives in the profile."""
    return profile.documents_dir / f"{document_id}{DOCUMENT_SUFFIX}"


def _state(session: Session, key: str) -> str | None:
    row = session.get(SyncState, key)
    return row.value if row else None


def _set_state(session: Session, key: str, value: str) -> None:
    session.merge(SyncState(key=key, value=value))


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


class SyncAdapter:
    """Implements :class:`sync.store.LocalStore` for one open :class:`Profile`."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def _session(self) -> Session:
        return self.profile.session()

    # ------------------------------------------------------------------ outbox

    def pending_changes(self, limit: int) -> list[Change]:
        with self._session() as s:
            rows = s.exec(
                select(Outbox)
                .where(col(Outbox.rejected).is_(False))
                .order_by(col(Outbox.seq))
                .limit(limit)
            )
            return [
                Change(
                    change_id=row.change_id,
                    kind=RecordKind(row.kind),
                    record_id=row.record_id,
                    case_id=row.case_id,
                    base_version=row.base_version,
                    fields=json.loads(row.fields),
                    resolves=[UUID(x) for x in json.loads(row.resolves)],
                    made_at=row.made_at,
                )
                for row in rows
            ]

    def pending_count(self) -> int:
        with self._session() as s:
            return int(
                s.exec(
                    select(func.count()).select_from(Outbox).where(col(Outbox.rejected).is_(False))
                ).one()
            )

    def rejected_changes(self) -> list[tuple[UUID, str]]:
        """(change id, plain-English reason) of changes the service refused, kept aside."""
        with self._session() as s:
            rows = s.exec(
                select(Outbox).where(col(Outbox.rejected).is_(True)).order_by(col(Outbox.seq))
            )
            return [(row.change_id, row.error or "") for row in rows]

    def mark_sent(self, results: Sequence[ChangeResult]) -> None:
        with self._session() as s, s.begin():
            for result in results:
                row = s.exec(
                    select(Outbox).where(Outbox.change_id == result.change_id)
                ).one_or_none()
                for info in result.conflicts:
                    _store_conflict(s, info)
                if row is None:
                    continue  # confirmed before (a replayed answer)
                if result.status in CONFIRMED:
                    self._advance_version(s, row, result.version)
                    s.delete(row)
                else:
                    row.rejected = True
                    row.error = (
                        result.error.message if result.error else "The service refused this change."
                    )
                    s.add(row)
                    log.info("change %s refused and kept aside", row.change_id)

    @staticmethod
    def _advance_version(s: Session, row: Outbox, version: int | None) -> None:
        """Move the local record to ``version`` only if nothing but this change separates
        the version it was made on from the confirmed one."""
        if version is None or version != row.base_version + 1:
            return
        model = KIND_MODELS.get(RecordKind(row.kind))
        if model is None:
            return
        record = s.get(model, row.record_id)
        if record is not None and record.version == row.base_version:
            record.version = version
            s.add(record)

    # ------------------------------------------------------------------ pull

    def cursor(self) -> str | None:
        with self._session() as s:
            return _state(s, CURSOR)

    def _pending_fields(self, s: Session, record_ids: set[UUID]) -> dict[UUID, set[str]]:
        pending: dict[UUID, set[str]] = {}
        if not record_ids:
            return pending
        ids = list(record_ids)
        for start in range(0, len(ids), 500):
            rows = s.exec(
                select(Outbox.record_id, Outbox.fields).where(
                    col(Outbox.rejected).is_(False),
                    col(Outbox.record_id).in_(ids[start : start + 500]),
                )
            ).all()
            for record_id, fields in rows:
                pending.setdefault(record_id, set()).update(json.loads(fields))
        return pending

    @staticmethod
    def _preload(s: Session, states: Sequence[RecordState]) -> dict[UUID, Record]:
        """The page's rows already on this laptop, loaded in a few queries."""
        by_kind: dict[RecordKind, list[UUID]] = {}
        for state in states:
            by_kind.setdefault(state.kind, []).append(state.record_id)
        found: dict[UUID, Record] = {}
        for kind, ids in by_kind.items():
            model = KIND_MODELS[kind]
            for start in range(0, len(ids), 500):
                rows = s.exec(select(model).where(col(model.id).in_(ids[start : start + 500])))
                found.update((row.id, row) for row in rows.all())
        return found

    def _apply_record(
        self, s: Session, state: RecordState, keep: set[str], obj: Record | None
    ) -> None:
        model = KIND_MODELS[state.kind]
        if obj is not None and obj.version > state.version:
            return  # never move a record backwards
        new = obj is None
        if obj is None:
            obj = model(id=state.record_id)
            if state.kind is not RecordKind.CASE:
                obj.case_id = state.case_id
        old_sha = obj.sha256 if isinstance(obj, Document) else None
        allowed = set(FIELDS[state.kind])
        for name, value in state.fields.items():
            if name not in allowed or (name in keep and not new):
                continue
            try:
                converted = from_wire(model, name, value)
            except ValueError:
                log.warning("pulled %s %s: bad value in %s", state.kind, state.record_id, name)
                continue
            if converted is None:
                column = model.__table__.c[name]  # type: ignore[attr-defined]
                if not column.nullable:
                    converted = _column_default(model, name)
                    if converted is None:
                        continue
            setattr(obj, name, converted)
        obj.version = state.version
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
            pending = self._pending_fields(s, {r.record_id for r in page.records})
            existing = self._preload(s, page.records)
            with s.no_autoflush:
                # cases first, so that anything looking a record's case up finds it
                for state in sorted(page.records, key=lambda r: r.kind is not RecordKind.CASE):
                    self._apply_record(
                        s,
                        state,
                        pending.get(state.record_id, set()),
                        existing.get(state.record_id),
                    )
            for info in page.conflicts:
                _store_conflict(s, info)
            if page.removed_cases:
                deferred = set(json.loads(_state(s, REMOVED_PENDING) or "[]"))
                for case_id in page.removed_cases:
                    if self._pending_for_case(s, case_id):
                        deferred.add(str(case_id))
                    else:
                        self._purge_case(s, case_id)
                        deferred.discard(str(case_id))
                _set_state(s, REMOVED_PENDING, json.dumps(sorted(deferred)))
            _set_state(s, CURSOR, page.next_cursor)
            _set_state(s, LAST_SYNC, page.server_time.astimezone(UTC).isoformat())

    @staticmethod
    def _pending_for_case(s: Session, case_id: UUID) -> int:
        return int(
            s.exec(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.case_id == case_id, col(Outbox.rejected).is_(False))
            ).one()
        )

    def pending_for_case(self, case_id: UUID) -> int:
        with self._session() as s:
            return self._pending_for_case(s, case_id)

    def _purge_case(self, s: Session, case_id: UUID) -> None:
        documents = s.exec(select(Document.id).where(Document.case_id == case_id)).all()
        for model in KIND_MODELS.values():
            if model is Case:
                continue
            s.execute(delete(model).where(model.case_id == case_id))  # type: ignore[attr-defined]
        s.execute(delete(Case).where(col(Case.id) == case_id))
        s.execute(delete(Conflict).where(col(Conflict.case_id) == case_id))
        for document_id in documents:
            with contextlib.suppress(FileNotFoundError):
                document_path(self.profile, document_id).unlink()
        log.info("purged case %s: it left this user's scope", case_id)

    def purge_removed_cases(self) -> int:
        with self._session() as s:
            if not json.loads(_state(s, REMOVED_PENDING) or "[]"):
                return 0  # the usual case: no write transaction at all
        with self._session() as s, s.begin():
            deferred = json.loads(_state(s, REMOVED_PENDING) or "[]")
            if not deferred:
                return 0
            left = []
            purged = 0
            for value in deferred:
                case_id = UUID(value)
                if self._pending_for_case(s, case_id):
                    left.append(value)
                else:
                    self._purge_case(s, case_id)
                    purged += 1
            _set_state(s, REMOVED_PENDING, json.dumps(left))
            return purged

    # ------------------------------------------------------------------ conflicts

    def conflicts(self) -> list[ConflictInfo]:
        with self._session() as s:
            rows = s.exec(select(Conflict).order_by(col(Conflict.other_at)))
            return [conflict_info(row) for row in rows]

    # ------------------------------------------------------------------ reference blocks

    def unused_refs(self) -> int:
        year = datetime.now(UTC).year
        with self._session() as s:
            rows = s.exec(select(RefBlock).where(RefBlock.year == year))
            return sum(max(0, row.end - row.next + 1) for row in rows)

    def add_ref_blocks(self, blocks: Sequence[WireRefBlock], device_code: str) -> None:
        with self._session() as s, s.begin():
            existing = {(row.year, row.start) for row in s.exec(select(RefBlock))}
            for block in blocks:
                if (block.year, block.start) in existing:
                    continue
                s.add(RefBlock(year=block.year, start=block.start, end=block.end, next=block.start))
            if device_code:
                _set_state(s, DEVICE_CODE, device_code)

    # ------------------------------------------------------------------ documents

    def _documents(self, state: DocumentState) -> list[PendingDocument]:
        with self._session() as s:
            rows = s.exec(select(Document).where(Document.local_state == state.value))
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
                raise vault.DocumentMissing(document_path(self.profile, document_id))
            key = row.file_key
        return vault.open_decrypted(
            document_path(self.profile, document_id), file_id=document_id, key=key
        )

    def save_document(self, document_id: UUID, chunks: Iterator[bytes]) -> None:
        key = vault.new_file_key()
        path = document_path(self.profile, document_id)
        vault.encrypt_chunks(chunks, path, file_id=document_id, key=key)
        with self._session() as s, s.begin():
            row = s.get(Document, document_id)
            if row is None:  # purged meanwhile
                path.unlink(missing_ok=True)
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
            value = _state(s, CREDENTIAL)
        return DeviceCredential.model_validate_json(value) if value else None

    def set_credential(self, credential: DeviceCredential) -> None:
        """Keep the device credential inside the encrypted database (enrolment)."""
        with self._session() as s, s.begin():
            _set_state(s, CREDENTIAL, credential.model_dump_json())

    def last_sync(self) -> datetime | None:
        with self._session() as s:
            value = _state(s, LAST_SYNC)
        return datetime.fromisoformat(value) if value else None

    def wipe(self) -> None:
        """Destroy the wrapped key first (nothing can be opened after that), then the files."""
        folder = self.profile.profile_dir
        vault.destroy_key(folder)
        self.profile.close()
        for name in ("fieldcase.db", "fieldcase.db-wal", "fieldcase.db-shm"):
            (folder / name).unlink(missing_ok=True)
        for sub in ("documents", "backups"):
            shutil.rmtree(folder / sub, ignore_errors=True)
        log.warning("wiped the profile: the service revoked this device")
