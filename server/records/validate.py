"""Every pushed change is checked against the one schema (:data:`sync.records.SCHEMA`) before
it is merged: a new record must be whole (its required fields), an update may only set valid
values. A change that fails is refused on its own (``rejected`` with code ``validation``);
the rest of its batch goes on.

The refusal names the field and the reason, never the value (it may hold personal data or
text that cannot even be sent back).
"""

from __future__ import annotations

from typing import Any

from sync.protocol import Change
from sync.records import FieldProblem, RecordKind, check_fields

#: Problems listed in one refusal's detail.
MAX_PROBLEMS = 20

_KIND_WORDS = {
    RecordKind.CASE: "case",
    RecordKind.PERSON: "person record",
    RecordKind.WARNING: "warning",
    RecordKind.NOTE: "note",
    RecordKind.VISIT: "visit",
    RecordKind.DOCUMENT: "document",
    RecordKind.AUDIT: "audit event",
}


def problems_of(change: Change, *, new: bool) -> list[FieldProblem]:
    """What is wrong with the change's fields (a new record must be whole)."""
    return check_fields(change.kind, change.fields, whole=new)


def refusal(kind: RecordKind, problems: list[FieldProblem]) -> tuple[str, dict[str, Any]]:
    """The plain-English message and the error's ``detail`` for a refused change: the first
    problem as ``field`` and ``reason``, all of them (up to :data:`MAX_PROBLEMS`) in
    ``problems``."""
    first = problems[0]
    more = len(problems) - 1
    message = f"This {_KIND_WORDS[kind]} was not saved: {first.field} {first.reason}."
    if more:
        message += f" ({more} more problem{'s' if more > 1 else ''} with it.)"
    detail = {
        "field": first.field,
        "reason": first.reason,
        "problems": [{"field": p.field, "reason": p.reason} for p in problems[:MAX_PROBLEMS]],
    }
    return message, detail
