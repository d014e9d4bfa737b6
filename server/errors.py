"""The one exception the service raises for anything a client can cause.

:class:`ApiError` is a :class:`sync.errors.FieldcaseError` (the root shared with the laptop):
it carries a :class:`sync.protocol.ErrorCode`, a plain-English ``message`` safe to show a
caseworker, ``detail`` text for the log only, and ``data``: the facts the client may act on
(what the wire calls ``detail``). The API layer turns it into an :class:`ErrorBody` with the
code's HTTP status (``sync.protocol.ERROR_STATUS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sync.errors import FieldcaseError
from sync.protocol import ERROR_STATUS, ErrorBody, ErrorCode

if TYPE_CHECKING:
    from server.audit import AuditEvent

MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.DEVICE_REVOKED: (
        "This laptop has been removed from Fieldcase by IT. Its local copy of the cases will "
        "be wiped. Contact IT to enrol it again."
    ),
    ErrorCode.TOKEN_EXPIRED: "Your session has expired. Fieldcase will sign in again.",
    ErrorCode.UNAUTHENTICATED: "Sign in to Fieldcase first.",
    ErrorCode.PROTOCOL_UNSUPPORTED: (
        "This version of Fieldcase is too old for the central service. Ask IT to update it."
    ),
    ErrorCode.RATE_LIMITED: "Too many attempts. Wait a few minutes, then try again.",
    ErrorCode.FORBIDDEN: "You do not have access to that. Ask your team manager if you need it.",
    ErrorCode.NOT_FOUND: "That was not found on the central service.",
    ErrorCode.VALIDATION: "The request was not understood. Update Fieldcase or contact IT.",
    ErrorCode.CONFLICT: "That clashes with what the central service already holds.",
    ErrorCode.ACCOUNT_DISABLED: "Your account has been disabled. Contact your team manager or IT.",
    ErrorCode.SERVER_ERROR: (
        "The central service had a problem. Nothing was lost; Fieldcase will try again later."
    ),
}


class ApiError(FieldcaseError):
    """A refusal the client caused. ``data`` goes to the client as the body's ``detail``;
    ``detail`` (the shared root's log text) never leaves the service. ``audit``: entries for
    the audit trail that are kept although the request's own work is rolled back (a refused
    access is recorded)."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        audit: Sequence[AuditEvent] = (),
        detail: str = "",
    ) -> None:
        super().__init__(message or MESSAGES[code], detail=detail)
        self.code = code
        self.data = data or {}
        self.headers = headers or {}
        self.audit = list(audit)

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]

    def body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.message, detail=self.data)
