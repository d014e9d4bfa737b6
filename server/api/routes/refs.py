"""Reference-number blocks reserved per device, so laptops make unique case refs offline."""

from __future__ import annotations

from fastapi import APIRouter

from server import crud
from server.api.deps import ClockDep, CurrentDevice, SessionDep
from server.api.responses import ERRORS
from sync.protocol import RefBlocksRequest, RefBlocksResponse

router = APIRouter(prefix="/refs", tags=["refs"])


@router.post("/blocks", response_model=RefBlocksResponse, responses=ERRORS)
def blocks(
    body: RefBlocksRequest, actor: CurrentDevice, session: SessionDep, clock: ClockDep
) -> RefBlocksResponse:
    """Reserve new blocks when the laptop holds fewer than 100 unused numbers. ``blocks``
    lists only the blocks reserved by this call."""
    assert actor.device_id is not None and actor.device_code is not None  # a device actor
    reserved = crud.reserve_ref_blocks(session, actor.device_id, body.unused, clock=clock)
    return RefBlocksResponse(blocks=reserved, device_code=actor.device_code)
