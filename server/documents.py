"""Document contents: resumable chunked upload (checked by SHA-256) and ranged download.

Contents live in the database in chunks, so any API process on any host can serve them.
A document's record (kind ``document``) must have been pushed first: it names the case, and
so who may upload or fetch the content.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

from sqlalchemy import Engine, delete, func
from sqlmodel import Session, select

from server import audit
from server.audit import AuditEvent
from server.core.db import snapshot_session
from server.crud import Actor
from server.errors import ApiError
from server.models import DocumentChunk, DocumentContent, Record, utcnow
from server.records import case_visible_to
from sync.protocol import ErrorCode, UploadStatus
from sync.records import RecordKind


def check_access(engine: Engine, session: Session, actor: Actor, document_id: uuid.UUID) -> Record:
    """The document's record if the actor may see its case; otherwise refuse and audit."""
    record = session.get(Record, document_id)
    if record is None or record.kind != RecordKind.DOCUMENT.value:
        audit.record_now(
            engine,
            AuditEvent(
                "access_denied",
                actor=actor.username,
                device_id=actor.device_key,
                record_kind="document",
                record_id=str(document_id),
                detail={"reason": "not_found"},
            ),
            ending=session,
        )
        raise ApiError(
            ErrorCode.NOT_FOUND,
            "That document is not on the central service. Fieldcase sends the document's "
            "details first; sync again.",
        )
    if not case_visible_to(session, record.case_id, actor):
        audit.record_now(
            engine,
            AuditEvent(
                "access_denied",
                actor=actor.username,
                device_id=actor.device_key,
                record_kind="document",
                record_id=str(document_id),
                case_id=str(record.case_id),
                detail={"reason": "forbidden"},
            ),
            ending=session,
        )
        raise ApiError(ErrorCode.FORBIDDEN)
    return record


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
) -> UploadStatus:
    """Store one chunk at ``offset``; verify the whole content once it is complete. Commits."""
    row = session.exec(
        select(DocumentContent).where(DocumentContent.document_id == document_id).with_for_update()
    ).first()
    if row is not None and (row.total != total or row.sha256 != sha256):
        if row.complete or offset != 0:
            raise ApiError(
                ErrorCode.CONFLICT,
                "The service holds a different file for this document.",
                detail={"received": row.received, "sha256": row.sha256},
            )
        session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))  # type: ignore[arg-type]
        row.total, row.sha256, row.received, row.complete = total, sha256, 0, False
    if row is None:
        row = DocumentContent(
            document_id=document_id, total=total, sha256=sha256, received=0, complete=False
        )
    if row.complete:
        return status_of(row, document_id)
    if offset != row.received:
        raise ApiError(
            ErrorCode.CONFLICT,
            "The upload resumed at the wrong place; ask the service how much it holds.",
            detail={"received": row.received},
        )
    if row.received + len(data) > total:
        raise ApiError(ErrorCode.VALIDATION, "The upload is larger than the size announced.")
    if data:
        session.add(DocumentChunk(document_id=document_id, offset=offset, data=data))
        row.received += len(data)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    if row.received == total:
        if _digest(session, document_id) != sha256:
            session.execute(delete(DocumentChunk).where(DocumentChunk.document_id == document_id))  # type: ignore[arg-type]
            row.received = 0
            session.add(row)
            session.commit()
            raise ApiError(
                ErrorCode.VALIDATION,
                "The document arrived damaged. Fieldcase will send it again from the start.",
                detail={"received": 0},
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
                    detail={"size": total},
                )
            ],
        )
    session.commit()
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
