"""Errors of the core actions, in plain English."""

from __future__ import annotations

from uuid import UUID

from app.errors import FieldcaseError, UsageError


class UnknownCase(FieldcaseError):
    exit_code = 4

    def __init__(self, ref: str | UUID) -> None:
        if isinstance(ref, UUID):  # a case someone had on screen, gone since (moved team)
            message = "That case is no longer on this laptop. It may have moved to another team."
        else:
            message = (
                f"There is no case {ref} on this laptop. Check the reference, or sync to fetch "
                "new cases."
            )
        super().__init__(message)
        self.ref = str(ref)


class UnknownRecord(FieldcaseError):
    exit_code = 4

    def __init__(self, what: str, ident: str, hint: str = "") -> None:
        super().__init__(f"There is no {what} {ident} on this laptop.{' ' + hint if hint else ''}")


class InvalidValue(UsageError):
    """A field name or value a person typed is not one Fieldcase accepts. ``field`` names the
    core field it belongs to (``summary``, ``assigned_to``, ``person.phone``), or is None."""
