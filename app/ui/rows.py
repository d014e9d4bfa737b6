"""What the Cases screen asks for: the window's one query type.

The rows the window shows are the core's own (:mod:`app.core`: ``CaseRow``, ``CaseDetail``,
``NoteView``, ``VisitRow``, ``DocumentView``, ``AuditRow``, ``Clash``); the window adds none.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CaseQuery:
    """The search text, filters and order the Cases screen shows."""

    text: str = ""
    status: str | None = None
    priority: str | None = None
    case_type: str | None = None
    mine: bool = False
    my_team: bool = False
    review_due: bool = False
    sort: str = "ref"
    descending: bool = False
