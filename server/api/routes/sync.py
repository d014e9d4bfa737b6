"""Push and pull: the heart of the sync protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import IntegrityError, OperationalError

from server import observability
from server.api.deps import ClockDep, CurrentDevice, EngineDep, SessionDep
from server.api.responses import ERRORS
from server.core.db import snapshot_session, unit_of_work
from server.records import moves
from server.records.pull import PullPage, parse_cursor, pull_page
from server.records.push import device_push_mark, note_push_mark, push_changes
from sync import pull_lines
from sync.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    SyncState,
    answer_for,
)

router = APIRouter(prefix="/sync", tags=["sync"])

PUSH_ATTEMPTS = 6
#: Bytes of a page sent as lines per piece (each piece is compressed and flushed on its own).
LINES_PIECE_BYTES = 64 * 1024


@router.post("/push", response_model=PushResponse, responses=ERRORS)
def push(
    body: PushRequest,
    actor: CurrentDevice,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
) -> PushResponse:
    """Apply a batch of changes; each gets its own result. Replays are reported duplicate."""
    for attempt in range(PUSH_ATTEMPTS):
        try:
            results = push_changes(session, actor, body.changes, clock=clock)
            note_push_mark(session, actor.device_id, body.mark)
            break
        except (OperationalError, IntegrityError):
            # A deadlock, or a concurrent request inserted the same record or change id:
            # start the unit of work again on fresh data (a replay is then reported as a
            # duplicate). The session dependency commits the attempt that gets through.
            session.rollback()
            if attempt == PUSH_ATTEMPTS - 1:
                raise
    observability.count_push(
        [r.status.value for r in results], sum(len(r.conflicts) for r in results)
    )
    answer = PushResponse(results=results, server_time=clock.now())
    # a laptop of an older protocol gets its answer without the fields it does not know
    version = int(request.headers.get(PROTOCOL_HEADER, PROTOCOL_VERSION))
    return Response(answer_for(answer, version), media_type="application/json")  # type: ignore[return-value]


@router.get("/state", response_model=SyncState, responses=ERRORS)
def sync_state(
    actor: CurrentDevice, session: SessionDep, clock: ClockDep, request: Request
) -> SyncState:
    """What the service knows of this device (protocol 2): the highest push mark it sent.
    A laptop whose own mark is lower runs on a rolled-back data file. From protocol 6, its
    user's role too."""
    state = SyncState(push_mark=device_push_mark(session, actor.device_id), server_time=clock.now())
    if int(request.headers.get(PROTOCOL_HEADER, PROTOCOL_VERSION)) >= 6:
        state.role = actor.role
    return Response(  # type: ignore[return-value]
        state.model_dump_json(exclude_none=True), media_type="application/json"
    )


@router.post("/pull", response_model=PullResponse, responses=ERRORS)
def pull(
    body: PullRequest, actor: CurrentDevice, engine: EngineDep, clock: ClockDep, request: Request
) -> PullResponse:
    """One page of changes since the cursor, bounded by ``max_bytes``: as lines with
    checkpoints for a laptop that asks for them (``Accept: application/x-ndjson``, see
    :mod:`sync.pull_lines`), else as one JSON object."""
    with snapshot_session(engine) as session:
        page = pull_page(session, actor, body.cursor, body.max_bytes, clock=clock)
        moved = moves.grace_teams(session, actor.device_id)
    if moved:  # rare: a team move this device has not pulled past yet
        with unit_of_work(engine) as session:
            moves.pulled_to(session, actor.device_id, parse_cursor(page.next_cursor))
    # a laptop of an older protocol gets its records without the fields it does not know (the
    # middleware has refused a version that is missing or too old)
    page.for_protocol(int(request.headers.get(PROTOCOL_HEADER, PROTOCOL_VERSION)))
    observability.count_pull(len(page.records))
    # serialised once here (the page was built from validated parts)
    vary = {"Vary": "Accept"}
    if pull_lines.accepted(request.headers.get("accept")):
        # sent in pieces, each compressed as it goes: a cut loses only the piece in flight
        lines = StreamingResponse(_pieces(page), media_type=pull_lines.MEDIA_TYPE, headers=vary)
        return lines  # type: ignore[return-value]
    json_page = Response(page.to_bytes(), media_type="application/json", headers=vary)
    return json_page  # type: ignore[return-value]


async def _pieces(page: PullPage) -> AsyncIterator[bytes]:
    """The page's lines in pieces, made on the event loop (the page is built: this only joins
    bytes), so a piece costs no trip through a worker thread."""
    for piece in pull_lines.chunked(page.lines(), LINES_PIECE_BYTES):
        yield piece
