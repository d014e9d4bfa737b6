"""OpenAPI descriptions of the error responses every route may give."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from server.errors import ApiError
from sync.protocol import ErrorBody

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "unauthenticated, token_expired or device_revoked"),
        (403, "forbidden or account_disabled"),
        (404, "not_found"),
        (409, "conflict"),
        (422, "validation"),
        (426, "protocol_unsupported"),
        (429, "rate_limited"),
    )
}


def error_response(err: ApiError) -> JSONResponse:
    """The answer for a refusal: its :class:`ErrorBody` with the code's HTTP status."""
    return JSONResponse(
        status_code=err.status, content=err.body().model_dump(mode="json"), headers=err.headers
    )
