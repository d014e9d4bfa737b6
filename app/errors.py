"""The laptop's errors. The root, :class:`FieldcaseError`, is shared with the sync engine and
the service (:mod:`sync.errors`); a sync problem is a :class:`SyncError` with a
:class:`SyncKind`, so the window and the CLI import errors from here and never from the engine.
Each carries a plain-English message for a person (what happened and what to do next);
technical detail goes to the log, never to the message."""

from __future__ import annotations

from sync.errors import FieldcaseError, SyncError, SyncKind

__all__ = ["FieldcaseError", "SyncError", "SyncKind", "UsageError"]


class UsageError(FieldcaseError):
    """Bad input on the command line or in a form (unknown field, bad date, ...). ``field``
    names the core field a refused value belongs to (``summary``, ``person.phone``), if any."""

    exit_code = 2

    def __init__(
        self, message: str | None = None, *, detail: str = "", field: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.field = field
