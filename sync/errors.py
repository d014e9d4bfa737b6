"""The one error tree of Fieldcase: laptop, sync engine and service errors share its root.

:class:`FieldcaseError` carries a plain-English ``message`` for a person (what happened and
what to do next), a ``detail`` for the log only (never personal data) and the ``exit_code`` the
command line ends with (docs/cli.md). It lives here because ``sync/`` is the one package both
sides import; ``app.errors`` and ``server.errors`` build on it.

A :class:`SyncError` also carries a :class:`SyncKind` (offline, cancelled, revoked, update
needed, sign-in, service), so the window and the CLI decide what to show from the kind, never
by importing the engine's classes.
"""

from __future__ import annotations

import traceback
from enum import StrEnum


class FieldcaseError(Exception):
    """Base of every error a person may see. ``str(err)`` is the plain-English message."""

    exit_code = 1
    default_message = "Something went wrong. Nothing you saved has been lost; try again."

    def __init__(self, message: str | None = None, *, detail: str = "") -> None:
        self.message = message or self.default_message
        self.detail = detail  # for the log / a "Details" expander; never personal data
        super().__init__(self.message)


class SyncKind(StrEnum):
    """What kind of sync problem this is: what the window shows and the CLI's exit code."""

    OFFLINE = "offline"  # the service could not be reached, or the link dropped
    CANCELLED = "cancelled"  # the person stopped it; shown silently
    REVOKED = "revoked"  # IT removed this laptop; its data was erased
    UPDATE_NEEDED = "update_needed"  # this laptop's Fieldcase is too old for the service
    SIGN_IN = "sign_in"  # the service did not accept the user name, password or device
    SERVICE = "service"  # the service answered, but not with what was asked for


#: docs/cli.md: 1 the service refused the sign-in (trying again will not help), 5 a sync could
#: not finish (nothing lost; try again), 6 laptop removed, 7 too old, 130 stopped.
_EXIT_CODES: dict[SyncKind, int] = {
    SyncKind.SIGN_IN: 1,
    SyncKind.CANCELLED: 130,
    SyncKind.REVOKED: 6,
    SyncKind.UPDATE_NEEDED: 7,
}


class SyncError(FieldcaseError):
    """Base of every error the sync engine raises."""

    kind = SyncKind.SERVICE
    default_message = "Sync did not finish. Nothing you saved has been lost; try again later."

    def __init__(self, message: str | None = None, *, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.exit_code = _EXIT_CODES.get(self.kind, 5)


class NetworkError(SyncError):
    """The service could not be reached, or the connection dropped or stalled."""

    kind = SyncKind.OFFLINE
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
    INSECURE = "insecure"  # the service's certificate could not be checked (TLS failed)
    ADDRESS = "address"  # the address given is not one case data may go to (plain http, ...)
    PROTOCOL = "protocol"  # the service answered something we cannot understand
    PROXY = "proxy"  # the network's proxy asked for a sign-in Fieldcase cannot give (407)


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
    ServiceErrorKind.ADDRESS: (
        "This service address cannot be used. Use an https:// address (plain http is only "
        "allowed to this computer itself)."
    ),
    ServiceErrorKind.PROTOCOL: (
        "The Fieldcase service sent an answer this laptop does not understand. Your changes "
        "are kept; please tell your IT team."
    ),
    ServiceErrorKind.PROXY: (
        "The network's proxy would not let Fieldcase through to the central service without a "
        "sign-in it cannot give. Your changes are kept; ask your IT team to check the proxy "
        "setting in Fieldcase's site policy."
    ),
}


#: Reasons that are the caller's input, not the service's answer: bad usage (exit 2), so a
#: script does not try again with the same address.
_USAGE_REASONS = frozenset({ServiceErrorKind.ADDRESS})


class ServiceError(SyncError):
    """The service answered, but not with what we asked for (or, for ``ADDRESS``, the address
    given was refused before anything was sent)."""

    def __init__(
        self,
        reason: ServiceErrorKind,
        message: str | None = None,
        *,
        status: int | None = None,
        detail: str = "",
    ) -> None:
        self.reason = reason
        self.status = status
        super().__init__(message or _SERVICE_MESSAGES[reason], detail=detail)
        if reason in _USAGE_REASONS:
            self.exit_code = 2


class AuthFailed(SyncError):
    """Wrong user name or password, or the device credential is no longer accepted."""

    kind = SyncKind.SIGN_IN
    default_message = (
        "The Fieldcase service did not accept that user name and password. Check them and "
        "try again."
    )


class DeviceRevoked(SyncError):
    """The service revoked this laptop; its local data has been wiped."""

    kind = SyncKind.REVOKED
    default_message = (
        "This laptop was revoked by IT. Its local data was erased. Ask your IT team to set it "
        "up again."
    )

    @classmethod
    def erased(cls, unsent: int, *, detail: str = "") -> DeviceRevoked:
        """The error after the wipe, saying how many changes that had not been sent it erased."""
        if unsent <= 0:
            what = "Its local data was erased; every change made on it had already been sent."
        else:
            changes = "1 change that had" if unsent == 1 else f"{unsent} changes that had"
            what = f"Its local data was erased, including {changes} not been sent."
        return cls(
            f"This laptop was revoked by IT. {what} Ask your IT team to set it up again.",
            detail=detail,
        )


class UpdateRequired(SyncError):
    """The service no longer speaks this laptop's protocol version."""

    kind = SyncKind.UPDATE_NEEDED
    default_message = (
        "This version of Fieldcase is too old for the service. Update Fieldcase, then sync "
        "again. Your changes are kept on this laptop."
    )


class Cancelled(SyncError):
    """The person stopped the sync. Everything done so far is kept; shown silently."""

    kind = SyncKind.CANCELLED
    default_message = "Sync stopped. Everything done so far is kept."


def traceback_without_content(err: BaseException) -> str:
    """The traceback of ``err`` and of the exceptions it came from, for a log file, with every
    exception's message left out: a message may hold case content (SQL parameters, a
    PostgreSQL ``DETAIL`` line naming the values of a row, a note's text in a ``ValueError``).
    What is kept: each exception's class, where it was raised (file, line, function, source
    line) and, for a database statement error, the SQL text (placeholders only, never values).
    """
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    heading = "Traceback (most recent call last), messages left out:"
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines.append(heading)
        lines.extend(line.rstrip("\n") for line in traceback.format_tb(current.__traceback__))
        kind = type(current)
        lines.append(f"{kind.__module__}.{kind.__qualname__}")
        statement = getattr(current, "statement", None)
        if isinstance(statement, str):
            lines.append("  statement: " + " ".join(statement.split())[:2000])
        heading = "which was raised while handling, or because of:"
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    return "\n".join(lines)
