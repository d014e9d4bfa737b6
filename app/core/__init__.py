"""Core actions: what a caseworker can do, with no window and no network.

The CLI and the window (through its database worker) call :class:`Casework`, a thin facade
over one module per aggregate (cases, notes, visits, warnings, documents, clashes) sharing
one unit of work (:mod:`app.core.uow`); it validates, writes the change, its outbox entry and
its audit event in one transaction, and returns plain rows (:mod:`app.core.views`).
"""

from __future__ import annotations

from app.core.casework import Casework
from app.core.errors import InvalidValue, UnknownCase, UnknownRecord
from app.core.fields import SETTABLE_FIELDS, parse_assignments
from app.core.listing import fts_query
from app.core.printing import Handout
from app.core.views import (
    AuditRow,
    CaseDetail,
    CaseFilter,
    CaseRow,
    CaseSort,
    Clash,
    ComparedField,
    DocumentView,
    NewCase,
    NoteView,
    PairView,
    SettledClash,
    VisitRow,
    WaitingPairs,
    WarningView,
)

__all__ = [
    "SETTABLE_FIELDS",
    "AuditRow",
    "CaseDetail",
    "CaseFilter",
    "CaseRow",
    "CaseSort",
    "Casework",
    "Clash",
    "ComparedField",
    "DocumentView",
    "Handout",
    "InvalidValue",
    "NewCase",
    "NoteView",
    "PairView",
    "SettledClash",
    "UnknownCase",
    "UnknownRecord",
    "VisitRow",
    "WaitingPairs",
    "WarningView",
    "fts_query",
    "parse_assignments",
]
