"""Document contents: resumable chunked upload (checked by SHA-256) and ranged download.

Contents live in the database in chunks, so any API process on any host can serve them.
A laptop uploads a document's content *before* it pushes the document's record (kind
``document``), so content may arrive for a record the service does not hold yet. Such content
is *staged*: it belongs to the uploading device and to the case named by ``X-Case-Id``
(which the uploader must be allowed to see when the service knows that case; a case created
offline is not known yet). Nobody else may read or continue a staged upload. Once the record
is pushed, its case decides who may upload or fetch the content as usual; staged content for a
different case than the record names counts as not uploaded.

Nothing here commits: the request's unit of work does. A refused access raises an
:class:`ApiError` carrying its audit entry (kept although the request fails).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

from sqlalchemy import Engine, and_, delete, func
from sqlmodel import Session, col, select

from server import audit
from server.audit import AuditEvent
from server.core.db import snapshot_session
from server.crud import Actor
from server.errors import ApiError
from server.models import CaseScope, DocumentChunk, DocumentContent, Record
from server.records import erasure
from server.records.scope import case_visible_to
from sync.clock import Clock
from sync.protocol import ErrorCode, UploadStatus
from sync.records import RecordKind

_NOT_HERE = (
    "That document is not on the central service yet. It arrives with the next sync of the "
    "laptop it was added on."
)


def _deny(
    actor: Actor, document_id: uuid.UUID, reason: str, case_id: uuid.UUID | None = None
) -> ApiError:
    """A refused document access, with its audit entry (kept although the request fails)."""
    denied = AuditEvent(
        "access_denied",
        actor=actor.username,
        device_id=actor.device_key,
        record_kind="document",
        record_id=str(document_id),
        case_id=str(case_id) if case_id is not None else None,
        detail={"reason": reason},
    )
    if reason == "forbidden":
        return ApiError(ErrorCode.FORBIDDEN, audit=[denied])
    return ApiError(ErrorCode.NOT_FOUND, _NOT_HERE, audit=[denied])


def check_access(session: Session, actor: Actor, document_id: uuid.UUID) -> Record:
    """The document's record if the actor may see its case; otherwise refuse and audit."""
    record = session.get(Record, document_id)
    if record is None or record.kind != RecordKind.DOCUMENT.value:
        raise _deny(actor, document_id, "not_found")
    if not case_visible_to(session, record.case_id, actor):
        raise _deny(actor, document_id, "forbidden", record.case_id)
    return record


def owned_by(row: DocumentContent, actor: Actor) -> bool:
    """Whether staged content was uploaded by this actor's device (or, without a device, by
    this account's own device-less session)."""
    if row.uploaded_by is None or row.uploaded_by != actor.username:
        return False
    if row.uploaded_by_device is None:
        return actor.device_id is None
    return actor.device_id is not None and actor.device_id == row.uploaded_by_device


def check_upload_access(
    session: Session,
    actor: Actor,
    document_id: uuid.UUID,
    case_id: uuid.UUID | None,
) -> Record | None:
    """Who may upload or ask the status of a document's content.

    With the record on the service: anyone who may see its case (``None`` is never returned
    then). Without it: the uploading device of content already staged, or, for new content, a
    device that may see the case named by ``case_id`` (or any device when the service does
    not know that case yet: it was created offline). Refusals are audited.
    """
    record = session.get(Record, document_id)
    if record is not None:
        if record.kind != RecordKind.DOCUMENT.value:
            raise _deny(actor, document_id, "not_found")
        if not case_visible_to(session, record.case_id, actor):
            raise _deny(actor, document_id, "forbidden", record.case_id)
        return record
    erased_cases, erased_records = erasure.erased_among(
        session, [case_id] if case_id is not None else [], [document_id]
    )
    if erased_cases or erased_records:
        raise ApiError(ErrorCode.ERASED, erasure.REFUSAL)
    row = session.get(DocumentContent, document_id)
    if row is not None and not owned_by(row, actor):
        raise _deny(actor, document_id, "staged_by_another_device")
    if (
        case_id is not None
        and session.get(CaseScope, case_id) is not None
        and not case_visible_to(session, case_id, actor)
    ):
        raise _deny(actor, document_id, "forbidden", case_id)
    return None


def content_for(
    row: DocumentContent | None, record: Record | None, case_id: uuid.UUID | None
) -> DocumentContent | None:
    """The stored content if it counts for this document: staged content for another case
    than the record (or, before the record, the asker) names counts as not uploaded."""
    if row is None or row.staged_case_id is None:
        return row
    expected = record.case_id if record is not None else case_id
    if expected is not None and row.staged_case_id != expected:
        return None
    return row


def staged_bytes(session: Session, actor: Actor, *, besides: uuid.UUID) -> int:
    """Bytes of content this actor's device has staged (announced sizes of uploads whose
    record the service does not hold yet), apart from document ``besides``."""
    if actor.device_id is not None:
        mine = col(DocumentContent.uploaded_by_device) == actor.device_id
    else:
        mine = and_(
            col(DocumentContent.uploaded_by) == actor.username,
            col(DocumentContent.uploaded_by_device).is_(None),
        )
    claimed = select(Record.record_id).where(Record.record_id == DocumentContent.document_id)
    total = session.exec(
        select(func.coalesce(func.sum(DocumentContent.total), 0)).where(
            mine, DocumentContent.document_id != besides, ~claimed.exists()
        )
    ).one()
    return int(total)


def check_quota(
    session: Session, actor: Actor, document_id: uuid.UUID, total: int, limit: int
) -> None:
    """Refuse (413 ``quota_exceeded``) staged content that would take this device over
    ``limit`` bytes of staged documents."""
    held = staged_bytes(session, actor, besides=document_id)
    if held + total > limit:
        raise ApiError(
            ErrorCode.QUOTA_EXCEEDED,
            "This laptop has sent more documents ahead of their details than the central "
            "service keeps. Fieldcase will send the rest after the next sync.",
            data={"staged": held, "limit": limit},
        )


def status_of(row: DocumentContent | None, document_id: uuid.UUID) -> UploadStatus:
    if row is None:
        return UploadStatus(document_id=document_id, received=0, total=None, complete=False)
    return UploadStatus(
        document_id=document_id,
        received=row.received,
        total=row.total,
        complete=row.complete,
        sha256=row.sha256,
    )


def _digest(session: Session, document_id: uuid.UUID) -> str:
    digest = hashlib.sha256()
    for chunk in session.exec(
        select(DocumentChunk.data)
        .where(DocumentChunk.document_id == document_id)
        .order_by(DocumentChunk.offset)  # type: ignore[arg-type]
    ):
        digest.update(chunk)
    return digest.hexdigest()


def upload_chunk(
    session: Session,
    actor: Actor,
    document_id: uuid.UUID,
    offset: int,
    total: int,
    sha256: str,
    data: bytes,
    *,
    clock: Clock,
    record: Record | None = None,
    case_id: uuid.UUID | None = None,
    staged_limit: int | None = None,
) -> UploadStatus | ApiError:
    """Store one chunk at ``offset``; verify the whole content once it is complete.

    ``record`` is the document's record when the service holds it (see
    :func:`check_upload_access`); without it the content is staged for ``case_id``. Content
    that arrived damaged is dropped and the refusal is returned, not raised: the caller's
    unit of work must commit the reset (the laptop then sends it again from the start).
    Staged content over ``staged_limit`` bytes per device is refused (see
    :func:`check_quota`).
    """
    expected_case = record.case_id if record is not None else case_id
    if expected_case is None:
        raise ApiError(
            ErrorCode.VALIDATION,
            "Say which case the document belongs to (X-Case-Id) when sending it before its "
            "details.",
        )
    row = session.exec(
        select(DocumentContent).where(DocumentContent.document_id == document_id).with_for_update()
    ).first()
    if row is not None and record is None and not owned_by(row, actor):
        # another device staged content under this id between the access check and the lock
        raise ApiError(ErrorCode.NOT_FOUND, _NOT_HERE)
    if row is not None and content_for(row, record, expected_case) is None:
        # staged for another case: it does not count; start again from nothing
        if offset != 0:
            raise ApiError(
                ErrorCode.CONFLICT,
                "The upload resumed at the wrong place; ask the service how much it holds.",
                data={"received": 0},
            )
        session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))  # type: ignore[arg-type]
        row.total, row.sha256, row.received, row.complete = total, sha256, 0, False
        row.staged_case_id = expected_case
        row.uploaded_by = actor.username
        row.uploaded_by_device = actor.device_id
    if row is not None and (row.total != total or row.sha256 != sha256):
        if row.complete or offset != 0:
            raise ApiError(
                ErrorCode.CONFLICT,
                "The service holds a different file for this document.",
                data={"received": row.received, "sha256": row.sha256},
            )
        session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))  # type: ignore[arg-type]
        row.total, row.sha256, row.received, row.complete = total, sha256, 0, False
    if record is None and staged_limit is not None and (row is None or row.received == 0):
        check_quota(session, actor, document_id, total, staged_limit)
    if row is None:
        row = DocumentContent(
            document_id=document_id,
            total=total,
            sha256=sha256,
            received=0,
            complete=False,
            uploaded_by=actor.username,
            uploaded_by_device=actor.device_id,
            staged_case_id=expected_case,
        )
    if row.complete:
        return status_of(row, document_id)
    if offset != row.received:
        raise ApiError(
            ErrorCode.CONFLICT,
            "The upload resumed at the wrong place; ask the service how much it holds.",
            data={"received": row.received},
        )
    if row.received + len(data) > total:
        raise ApiError(ErrorCode.VALIDATION, "The upload is larger than the size announced.")
    if data:
        session.add(DocumentChunk(document_id=document_id, offset=offset, data=data))
        row.received += len(data)
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    if row.received == total:
        if _digest(session, document_id) != sha256:
            session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))  # type: ignore[arg-type]
            row.received = 0
            session.add(row)
            return ApiError(
                ErrorCode.VALIDATION,
                "The document arrived damaged. Fieldcase will send it again from the start.",
                data={"received": 0},
            )
        row.complete = True
        session.add(row)
        audit.append(
            session,
            [
                AuditEvent(
                    "document_uploaded",
                    actor=actor.username,
                    device_id=actor.device_key,
                    record_kind="document",
                    record_id=str(document_id),
                    case_id=str(expected_case),
                    detail={"size": total, "staged": record is None},
                )
            ],
            at=clock.now(),
        )
    return status_of(row, document_id)


def chunk_offsets(session: Session, document_id: uuid.UUID) -> list[tuple[int, int]]:
    """(offset, length) of each stored chunk, in order."""
    rows = session.exec(
        select(DocumentChunk.offset, func.length(DocumentChunk.data))
        .where(DocumentChunk.document_id == document_id)
        .order_by(DocumentChunk.offset)  # type: ignore[arg-type]
    ).all()
    return [(int(o), int(n)) for o, n in rows]


def stream(engine: Engine, document_id: uuid.UUID, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start``..``end`` (inclusive) of a stored document, a chunk at a time."""
    with snapshot_session(engine) as session:
        spans = chunk_offsets(session, document_id)
    for offset, length in spans:
        if offset + length <= start or offset > end:
            continue
        with snapshot_session(engine) as session:
            chunk = session.get(DocumentChunk, (document_id, offset))
            data = chunk.data if chunk else b""
        lo = max(start - offset, 0)
        hi = min(end - offset + 1, length)
        yield data[lo:hi]
