"""What a laptop needs before enrolling, and the health check."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from server.api.deps import ClockDep, EngineDep, SettingsDep
from server.core.db import snapshot_session
from sync.protocol import MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, CaseType, MetaResponse
from sync.records import BUILTIN_CASE_TYPES

router = APIRouter(tags=["meta"])


@router.get("/v1/meta", response_model=MetaResponse)
def meta(settings: SettingsDep, clock: ClockDep) -> MetaResponse:
    return MetaResponse(
        service_name=settings.service_name,
        protocol_version=PROTOCOL_VERSION,
        min_protocol_version=MIN_PROTOCOL_VERSION,
        server_time=clock.now(),
        case_types=[CaseType(code=k, label=v) for k, v in BUILTIN_CASE_TYPES.items()],
    )


@router.get("/health")
def health(engine: EngineDep) -> dict[str, str]:
    """200 when the service can reach its database (a read: never waits for writers)."""
    with snapshot_session(engine) as session:
        session.execute(text("SELECT 1"))
    return {"status": "ok"}
