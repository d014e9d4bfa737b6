"""The laptop's vocabulary, with no storage in it: the enumerations a case, visit, warning and
document use, the built-in case types, and how a person's name sorts. The tables themselves
are the store's (:mod:`app.store.models`).
"""

from __future__ import annotations

from app.domain.enums import (
    OUTCOME_LABELS,
    CaseStatus,
    DocumentState,
    PreferredContact,
    Priority,
    VisitKind,
    VisitOutcome,
    VisitStatus,
    WarningCategory,
)
from app.domain.names import sort_name
from sync.records import BUILTIN_CASE_TYPES

__all__ = [
    "BUILTIN_CASE_TYPES",
    "OUTCOME_LABELS",
    "CaseStatus",
    "DocumentState",
    "PreferredContact",
    "Priority",
    "VisitKind",
    "VisitOutcome",
    "VisitStatus",
    "WarningCategory",
    "sort_name",
]
