"""Document contents: resumable upload in chunks, status, ranged download."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from server import audit, documents
from server.api.deps import ClockDep, CurrentDevice, EngineDep, SessionDep, SettingsDep
from server.api.responses import ERRORS, error_response
from server.audit import AuditEvent
from server.errors import ApiError
from server.models import DocumentContent
from sync.protocol import DOCUMENT_CHUNK_BYTES, ErrorBody, ErrorCode, UploadStatus
from sync.records import MAX_DOCUMENT_BYTES

router = APIRouter(prefix="/documents", tags=["documents"])

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
MAX_CHUNK = 4 * DOCUMENT_CHUNK_BYTES

_BINARY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.put(
    "/{document_id}/content",
    response_model=UploadStatus,
    responses={**ERRORS, 413: {"model": ErrorBody, "description": "quota_exceeded"}},
    openapi_extra=_BINARY_BODY,
)
async def upload(
    document_id: uuid.UUID,
    request: Request,
    actor: CurrentDevice,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    x_upload_offset: Annotated[int, Header(ge=0)],
    x_total_size: Annotated[int, Header(ge=0, le=MAX_DOCUMENT_BYTES)],
    x_sha256: Annotated[str, Header(min_length=64, max_length=64)],
    x_case_id: Annotated[uuid.UUID | None, Header()] = None,
) -> UploadStatus | JSONResponse:
    """One chunk of the plaintext at ``X-Upload-Offset`` (bytes the service already holds).
    When the last byte arrives the SHA-256 of the whole is checked. Content may come before
    the document's record: it is then staged for this device and the case ``X-Case-Id``,
    up to the service's limit per device (``quota_exceeded``, 413)."""
    sha = x_sha256.lower()
    if not _SHA256.match(sha):
        raise ApiError(ErrorCode.VALIDATION, "X-Sha256 must be a hex SHA-256 digest.")
    data = await request.body()
    if len(data) > MAX_CHUNK:
        raise ApiError(ErrorCode.VALIDATION, "Send documents in chunks of at most 4 MiB.")
    record = await run_in_threadpool(
        documents.check_upload_access, session, actor, document_id, x_case_id
    )

    def store() -> UploadStatus | ApiError:
        return documents.upload_chunk(
            session,
            actor,
            document_id,
            x_upload_offset,
            x_total_size,
            sha,
            data,
            clock=clock,
            record=record,
            case_id=x_case_id,
            staged_limit=settings.max_staged_bytes,
        )

    stored = await run_in_threadpool(store)
    if isinstance(stored, ApiError):
        # answered, not raised: the unit of work commits the reset of the damaged content
        return error_response(stored)
    return stored


@router.get("/{document_id}/status", response_model=UploadStatus, responses=ERRORS)
def status(
    document_id: uuid.UUID,
    actor: CurrentDevice,
    session: SessionDep,
    x_case_id: Annotated[uuid.UUID | None, Header()] = None,
) -> UploadStatus:
    """How much of the document the service holds (resume an upload from ``received``),
    including content staged by this device before the record was pushed."""
    record = documents.check_upload_access(session, actor, document_id, x_case_id)
    row = documents.content_for(session.get(DocumentContent, document_id), record, x_case_id)
    return documents.status_of(row, document_id)


@router.get(
    "/{document_id}/content",
    responses={
        **ERRORS,
        200: {"content": {"application/octet-stream": {}}, "description": "the whole file"},
        206: {"content": {"application/octet-stream": {}}, "description": "the range asked"},
    },
    response_class=StreamingResponse,
)
def download(
    document_id: uuid.UUID,
    actor: CurrentDevice,
    session: SessionDep,
    engine: EngineDep,
    clock: ClockDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
) -> StreamingResponse:
    """The plaintext; ``Range: bytes=N-`` resumes a download."""
    record = documents.check_access(session, actor, document_id)
    row = documents.content_for(session.get(DocumentContent, document_id), record, None)
    if row is None or not row.complete:
        raise ApiError(
            ErrorCode.NOT_FOUND, "The document's file has not reached the central service yet."
        )
    total = row.total
    start, end, partial = 0, total - 1, False
    if range_header:
        match = _RANGE.match(range_header.strip())
        if match is None:
            raise ApiError(ErrorCode.VALIDATION, "Only a Range of the form bytes=N- is accepted.")
        start = int(match.group(1))
        if match.group(2):
            end = min(int(match.group(2)), total - 1)
        if start > end and not (start == total == 0):
            raise ApiError(
                ErrorCode.VALIDATION,
                "The range asked for is beyond the end of the document.",
                data={"total": total},
            )
        partial = True
    audit.append(
        session,
        [
            AuditEvent(
                "document_fetched",
                actor=actor.username,
                device_id=actor.device_key,
                record_kind="document",
                record_id=str(document_id),
                detail={"from": start},
            )
        ],
        at=clock.now(),
    )
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(max(end - start + 1, 0)),
        "Content-Encoding": "identity",
        "X-Sha256": row.sha256,
    }
    if partial:
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    return StreamingResponse(
        documents.stream(engine, document_id, start, end) if total else iter([b""]),
        status_code=206 if partial else 200,
        media_type="application/octet-stream",
        headers=headers,
    )
