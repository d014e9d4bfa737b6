"""Plain row dataclasses the window's item models show.

They are filled from the core's results by :mod:`app.ui.backend` on the DB worker, so
models and widgets never see a database object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class WarningRow:
    warning_id: UUID
    text: str
    category: str  # risk | access | health | other


@dataclass(frozen=True)
class CaseRow:
    case_id: UUID
    ref: str
    person_name: str
    case_type: str  # code
    status: str
    priority: str
    next_visit: datetime | None = None
    next_review: date | None = None
    warnings: int = 0  # active warnings on the person


@dataclass(frozen=True)
class VisitRow:
    visit_id: UUID
    case_id: UUID
    title: str
    kind: str  # visit | task
    due: datetime | None
    place: str
    status: str  # planned | done | cancelled
    ref: str = ""
    person_name: str = ""
    warnings: tuple[str, ...] = ()
    done_at: datetime | None = None


@dataclass(frozen=True)
class NoteRow:
    note_id: UUID
    author: str
    written_at: datetime | None
    text: str
    corrects: UUID | None = None
    sent: bool = False


@dataclass(frozen=True)
class DocumentRow:
    document_id: UUID
    name: str
    size: int
    mime: str
    added_by: str
    added_at: datetime | None
    sent: bool = False


@dataclass(frozen=True)
class HistoryRow:
    at: datetime | None
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class ClashRow:
    """One field edited on two sides, told from this laptop's user's point of view."""

    conflict_id: UUID
    case_id: UUID
    ref: str
    kind: str
    record_id: UUID
    field: str
    mine: Any
    mine_by: str
    mine_at: datetime | None
    theirs: Any
    theirs_by: str
    theirs_at: datetime | None


@dataclass
class CaseDetail:
    """Everything the case view shows."""

    case: CaseRow
    summary: str
    opened_on: date | None
    person_id: UUID | None
    person: dict[str, Any] = field(default_factory=dict)
    assigned_to: str = ""
    warnings: list[WarningRow] = field(default_factory=list)
    notes: list[NoteRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    documents: list[DocumentRow] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFilter:
    """What the Cases screen asks for."""

    text: str = ""
    status: str | None = None
    priority: str | None = None
    case_type: str | None = None
    mine: bool = False
    my_team: bool = False
    review_due: bool = False
    sort: str = "ref"
    descending: bool = False
