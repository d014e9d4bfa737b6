"""The sync engine's small exception tree, each with a plain-English message for a person.

``sync/`` imports nothing from ``app/``, so these do not derive from ``app.errors``; the app's
edge (CLI, window) turns a :class:`SyncError` into what it shows. ``str(err)`` is the message;
``detail`` is for the log only and never carries personal data.
"""

from __future__ import annotations

from enum import StrEnum


class SyncError(Exception):
    """Base of every error the engine raises."""

    default_message = "Sync did not finish. Nothing you saved has been lost; try again later."

    def __init__(self, message: str | None = None, *, detail: str = "") -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)


class NetworkError(SyncError):
    """The service could not be reached, or the connection dropped or stalled."""

    default_message = (
        "Could not reach the Fieldcase service. Your changes are kept on this laptop and "
        "will be sent when the connection is back."
    )


class ServiceErrorKind(StrEnum):
    SERVER = "server"  # the service failed (5xx) after every retry
    BUSY = "busy"  # rate limited for longer than we are willing to wait
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID = "invalid"  # the service refused a malformed request
    CONFLICT = "conflict"
    DISABLED = "disabled"  # the account is disabled
    INSECURE = "insecure"  # plain http to a non-loopback address, or TLS failed
    PROTOCOL = "protocol"  # the service answered something we cannot understand


_SERVICE_MESSAGES: dict[ServiceErrorKind, str] = {
    ServiceErrorKind.SERVER: (
        "The Fieldcase service is having a problem. Your changes are kept on this laptop; "
        "try again in a few minutes."
    ),
    ServiceErrorKind.BUSY: (
        "The Fieldcase service is busy. Your changes are kept on this laptop; try again in a "
        "few minutes."
    ),
    ServiceErrorKind.FORBIDDEN: "The Fieldcase service refused this. Ask your IT team for access.",
    ServiceErrorKind.NOT_FOUND: "The Fieldcase service could not find what was asked for.",
    ServiceErrorKind.INVALID: (
        "The Fieldcase service could not accept what this laptop sent. Your changes are kept; "
        "please tell your IT team."
    ),
    ServiceErrorKind.CONFLICT: "The Fieldcase service could not accept this right now; try again.",
    ServiceErrorKind.DISABLED: "Your account is disabled. Ask your IT team to enable it.",
    ServiceErrorKind.INSECURE: (
        "This service address is not secure. Use an https:// address (plain http is only "
        "allowed to this computer itself)."
    ),
    ServiceErrorKind.PROTOCOL: (
        "The Fieldcase service sent an answer this laptop does not understand. Your changes "
        "are kept; please tell your IT team."
    ),
}


class ServiceError(SyncError):
    """The service answered, but not with what we asked for."""

    def __init__(
        self,
        kind: ServiceErrorKind,
        message: str | None = None,
        *,
        status: int | None = None,
        detail: str = "",
    ) -> None:
        self.kind = kind
        self.status = status
        super().__init__(message or _SERVICE_MESSAGES[kind], detail=detail)


class AuthFailed(SyncError):
    """Wrong user name or password, or the device credential is no longer accepted."""

    default_message = (
        "The Fieldcase service did not accept that user name and password. Check them and "
        "try again."
    )


class DeviceRevoked(SyncError):
    """The service revoked this laptop; its local data has been wiped."""

    default_message = (
        "This laptop has been removed from Fieldcase by your IT team, so its local data has "
        "been erased. Ask your IT team to set it up again."
    )


class UpdateRequired(SyncError):
    """The service no longer speaks this laptop's protocol version."""

    default_message = (
        "This version of Fieldcase is too old for the service. Update Fieldcase, then sync "
        "again. Your changes are kept on this laptop."
    )


class Cancelled(SyncError):
    """The person stopped the sync. Everything done so far is kept; shown silently."""

    default_message = "Sync stopped. Everything done so far is kept."
