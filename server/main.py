"""The FastAPI application: ``create_app(settings, clock)``; ``uvicorn server.main:create_app
--factory``. The app factory is the service's entry point: it builds the one clock
(:class:`sync.clock.SystemClock` unless a test passes a :class:`sync.clock.ManualClock`) that
every route reads time from (``app.state.clock``, the ``ClockDep`` dependency).

Every error leaves as a :class:`sync.protocol.ErrorBody` (FastAPI's own validation errors as
``validation``; anything unexpected as ``server_error`` with no traceback for the client).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server import audit
from server.api.main import api_router
from server.api.middleware import CompressResponse, GzipRequest, ProtocolGate
from server.api.responses import error_response
from server.api.routes import meta, scim
from server.audit_key import AuditKeyError, load_key
from server.core.config import Settings
from server.core.db import make_engine
from server.errors import ApiError
from server.observability import RequestContext
from server.oidc import Provider, config_from
from server.sign_on import SingleSignOn
from sync.clock import Clock, SystemClock
from sync.protocol import ErrorBody, ErrorCode

log = logging.getLogger("fieldcase.server")

_STATUS_CODES = {
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    422: ErrorCode.VALIDATION,
    429: ErrorCode.RATE_LIMITED,
}


def _error(status: int, body: ErrorBody, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"), headers=headers)


def _validation_detail(err: RequestValidationError) -> dict[str, Any]:
    problems = []
    for item in err.errors()[:20]:
        problems.append(
            {"where": ".".join(str(p) for p in item.get("loc", ())), "problem": item.get("msg")}
        )
    return {"problems": problems}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, err: ApiError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        body = ErrorBody(
            code=ErrorCode.VALIDATION,
            message="The request was not understood. Update Fieldcase or contact IT.",
            detail=_validation_detail(err),
        )
        return _error(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(err.status_code, ErrorCode.VALIDATION)
        if err.status_code >= 500:
            code = ErrorCode.SERVER_ERROR
        message = {
            ErrorCode.NOT_FOUND: "There is nothing at that address on the central service.",
        }.get(code, ApiError(code).message)
        return _error(err.status_code, ErrorBody(code=code, message=message), err.headers)

    @app.exception_handler(AuditKeyError)
    async def _audit_key(request: Request, err: AuditKeyError) -> JSONResponse:
        # IT's doing (a key rotated while this process kept the old one): nothing is written
        # without its audit entry, the laptop is told to come back later, IT reads the log
        log.error("refused %s %s: %s", request.method, request.url.path, err.message)
        body = ErrorBody(
            code=ErrorCode.SERVER_ERROR,
            message=(
                "The central service cannot keep its audit trail just now, so nothing was "
                "changed. Fieldcase will try again later; IT has the details in the log."
            ),
        )
        return _error(503, body, {"Retry-After": "60"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception) -> JSONResponse:
        log.error(
            "unexpected error on %s %s: %s", request.method, request.url.path, type(err).__name__
        )
        return _error(500, ApiError(ErrorCode.SERVER_ERROR).body())


#: Set by ``fieldcase-server serve`` to its own process id, for its worker processes.
SUPERVISOR_ENV = "FIELDCASE_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_supervisor(clock: Clock) -> None:
    """In a worker process of ``serve --workers N``: end (SIGTERM, a graceful stop) when the
    ``serve`` process that started it ends, even when it was killed outright (SIGKILL) and
    could not stop its workers itself. Linux: the kernel sends the signal (prctl
    PR_SET_PDEATHSIG); elsewhere a watchdog thread notices the parent is gone."""
    raw = os.environ.get(SUPERVISOR_ENV, "")
    if not raw.isdigit() or int(raw) == os.getpid():
        return  # not started by `serve`, or `serve` with one process (it is the supervisor)
    supervisor = int(raw)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            log.warning(
                "could not ask to be stopped with the service (errno %d)", ctypes.get_errno()
            )
    else:
        threading.Thread(
            target=_watch_supervisor, args=(supervisor, clock), name="supervisor-watch", daemon=True
        ).start()
    if os.getppid() != supervisor:  # it was gone before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def _watch_supervisor(supervisor: int, clock: Clock) -> None:
    while os.getppid() == supervisor:
        clock.sleep(1.0)
    log.warning("the service's supervisor process is gone; this worker stops")
    os.kill(os.getpid(), signal.SIGTERM)


async def _scim_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, scim.ScimProblem)
    return exc.response()


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    die_with_supervisor(clock or SystemClock())
    app = FastAPI(
        title="Fieldcase central service",
        version="1",
        description="The sync protocol of Fieldcase (see docs/protocol.md).",
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.engine = make_engine(
        settings.db_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    audit.use_key(app.state.engine, load_key(settings))  # None on PostgreSQL without a key
    sso = config_from(settings)  # a setting it cannot use stops the service here
    app.state.sso = (
        SingleSignOn(Provider(sso[0], clock=app.state.clock), sso[1]) if sso is not None else None
    )
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(meta.router)
    app.include_router(scim.router)
    app.add_exception_handler(scim.ScimProblem, _scim_problem)
    app.add_middleware(CompressResponse)
    app.add_middleware(GzipRequest, max_bytes=settings.max_body_bytes)
    app.add_middleware(ProtocolGate)
    app.add_middleware(RequestContext)  # outermost: every answer has its id, metrics and line
    return app
