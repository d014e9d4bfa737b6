"""Enumerations of the domain. Values are the wire values of ``sync/records.py``."""

from __future__ import annotations

from enum import StrEnum

from sync import records


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class VisitStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


class VisitOutcome(StrEnum):
    """What came of a visit: it happened, or why not."""

    DONE = "done"
    NO_ACCESS = "no_access"
    NOT_IN = "not_in"
    CANCELLED_BY_PERSON = "cancelled_by_person"
    CANCELLED_BY_US = "cancelled_by_us"


#: How each outcome reads to a person.
OUTCOME_LABELS = {
    "done": "Done",
    "no_access": "No access",
    "not_in": "Not in",
    "cancelled_by_person": "Cancelled by the person",
    "cancelled_by_us": "Cancelled by us",
}


class VisitKind(StrEnum):
    VISIT = "visit"
    TASK = "task"


class WarningCategory(StrEnum):
    RISK = "risk"
    ACCESS = "access"
    HEALTH = "health"
    OTHER = "other"


class PreferredContact(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"


class DocumentState(StrEnum):
    """Local-only: where a document's content is."""

    LOCAL = "local"  # encrypted on this laptop, not yet uploaded
    UPLOADED = "uploaded"  # encrypted on this laptop and held by the service
    REMOTE = "remote"  # only the metadata is here; the content is still to be downloaded


# The shared tables in sync/records.py are the source of truth; fail loudly at import if the
# enums above ever drift from them.
for _enum, _values in (
    (CaseStatus, records.CASE_STATUSES),
    (Priority, records.PRIORITIES),
    (VisitStatus, records.VISIT_STATUSES),
    (VisitOutcome, records.VISIT_OUTCOMES),
    (WarningCategory, records.WARNING_CATEGORIES),
):
    if tuple(member.value for member in _enum) != tuple(_values):  # pragma: no cover
        raise RuntimeError(f"{_enum.__name__} differs from sync/records.py")
