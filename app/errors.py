"""The client's small exception tree. Each carries a plain-English message for a person
(what happened and what to do next); technical detail goes to the log, never to the message."""

from __future__ import annotations


class FieldcaseError(Exception):
    """Base of every error a person may see. ``str(err)`` is the plain-English message."""

    exit_code = 1

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # for the log / a "Details" expander; never personal data


class UsageError(FieldcaseError):
    """Bad input on the command line or in a form (unknown field, bad date, ...)."""

    exit_code = 2
