"""What a laptop needs before enrolling, and the checks of liveness and readiness."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from server import observability
from server.api.deps import ClockDep, EngineDep, SettingsDep
from server.core.db import schema_state
from server.errors import ApiError
from sync.protocol import (
    MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
    CaseType,
    ErrorCode,
    MetaResponse,
)
from sync.records import BUILTIN_CASE_TYPES

log = logging.getLogger("fieldcase.server")

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
@router.get("/healthz", include_in_schema=False)
def health() -> dict[str, str]:
    """200 while the process answers (liveness: restart it when this fails). It does not ask
    the database: a database that is down is :func:`ready`'s to say."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "not ready: the reason in `status`"}})
@router.get("/readyz", include_in_schema=False)
def ready(engine: EngineDep) -> JSONResponse:
    """200 when the service can take requests: its database answers and its schema is up to
    date; 503 otherwise (take it out of the load balancer until it is ready)."""
    try:
        state = schema_state(engine)
    except (DBAPIError, OSError) as err:
        log.warning("not ready: the database cannot be reached (%s)", type(err).__name__)
        return JSONResponse({"status": "the database cannot be reached"}, status_code=503)
    if state.pending or state.newer:
        what = "newer than this service" if state.newer else "waiting for migrations"
        return JSONResponse({"status": f"the database is {what}"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", include_in_schema=False)
def metrics(settings: SettingsDep, request: Request) -> Response:
    """The service's metrics for Prometheus, on its own port only to a scraper that shows
    the metrics token (``FIELDCASE_METRICS_TOKEN``); without one set, there is nothing here
    (``serve --metrics-port`` serves them on a port of their own)."""
    if settings.metrics_token is None:
        raise ApiError(ErrorCode.NOT_FOUND)
    given = request.headers.get("authorization", "")
    wanted = f"Bearer {settings.metrics_token.get_secret_value()}"
    if not secrets.compare_digest(given.encode(), wanted.encode()):
        raise ApiError(ErrorCode.UNAUTHENTICATED)
    body, media_type = observability.metrics_page()
    return Response(body, media_type=media_type)
