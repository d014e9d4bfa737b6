"""The laptop's records: case, person, warning, note, visit, document and audit event.

The synced columns of each table are exactly the fields ``sync/records.py`` lists for its kind;
``id``, ``case_id`` and ``version`` travel beside them, and a few columns are local-only
(named in each model's ``LOCAL_COLUMNS``).
"""

from __future__ import annotations

from app.domain.enums import (
    CaseStatus,
    DocumentState,
    PreferredContact,
    Priority,
    VisitKind,
    VisitStatus,
    WarningCategory,
)
from app.domain.models import (
    KIND_MODELS,
    AuditEvent,
    Case,
    Document,
    Note,
    Person,
    Record,
    Visit,
    Warning,
)
from app.domain.names import sort_name

__all__ = [
    "KIND_MODELS",
    "AuditEvent",
    "Case",
    "CaseStatus",
    "Document",
    "DocumentState",
    "Note",
    "Person",
    "PreferredContact",
    "Priority",
    "Record",
    "Visit",
    "VisitKind",
    "VisitStatus",
    "Warning",
    "WarningCategory",
    "sort_name",
]
