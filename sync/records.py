"""The synced record kinds and their fields, as they travel on the wire.

The laptop's tables (``app/domain``) and the service's per-field store both follow this one
table; a test checks that the laptop's models carry exactly these fields.
Values on the wire are JSON: text, numbers, booleans, null; dates as ISO ``YYYY-MM-DD``;
date-times as ISO 8601 with a UTC offset; record references as UUID strings.
"""

from __future__ import annotations

from enum import StrEnum


class RecordKind(StrEnum):
    CASE = "case"
    PERSON = "person"
    WARNING = "warning"
    NOTE = "note"
    VISIT = "visit"
    DOCUMENT = "document"
    AUDIT = "audit"


#: Every synced field of every kind. ``id`` and ``case_id`` travel beside the fields, not in them.
FIELDS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.CASE: (
        "ref",  # FC-2026-00042, made on the laptop from a reserved block
        "type",  # a case type code, e.g. housing_repair
        "status",  # open | in_progress | waiting | closed
        "priority",  # low | normal | high | urgent
        "summary",
        "team",  # owning team's name
        "assigned_to",  # assigned worker's user name
        "next_review",  # date
        "opened_on",  # date
        "closed_on",  # date or null
        "person_id",  # the person this case is about
    ),
    RecordKind.PERSON: (
        "name",
        "date_of_birth",  # date or null
        "address",
        "phone",
        "preferred_contact",  # phone | email | letter | visit
        "language",
        "access_needs",
    ),
    RecordKind.WARNING: (
        "person_id",
        "text",  # "Dog on premises"
        "category",  # risk | access | health | other
        "active",  # bool
        "added_by",
        "added_at",  # date-time
    ),
    RecordKind.NOTE: (
        "text",
        "author",
        "written_at",  # date-time, the author's clock (display only, never used for ordering)
        "corrects",  # id of the note this one corrects, or null
    ),
    RecordKind.VISIT: (
        "title",
        "kind",  # visit | task
        "due",  # date-time
        "place",
        "status",  # planned | done | cancelled
        "done_at",  # date-time or null
    ),
    RecordKind.DOCUMENT: (
        "name",
        "size",  # bytes
        "sha256",  # hex digest of the plaintext
        "mime",
        "added_by",
        "added_at",
    ),
    RecordKind.AUDIT: (
        "actor",
        "action",  # one of AUDIT_ACTIONS
        "record_kind",
        "record_id",
        "at",
        "detail",
    ),
}

#: Kinds that are append-only: created once, never edited, so they never conflict.
APPEND_ONLY: frozenset[RecordKind] = frozenset({RecordKind.NOTE, RecordKind.AUDIT})

#: Case fields the service uses to decide who may see a case.
SCOPE_FIELDS: tuple[str, ...] = ("team", "assigned_to")

CASE_STATUSES: tuple[str, ...] = ("open", "in_progress", "waiting", "closed")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
BUILTIN_CASE_TYPES: dict[str, str] = {
    "adult_social_care": "Adult social care",
    "carer_support": "Carer support",
    "safeguarding": "Safeguarding",
    "housing_repair": "Housing repair",
    "environmental_health": "Environmental health",
    "occupational_therapy": "Occupational therapy",
}
VISIT_STATUSES: tuple[str, ...] = ("planned", "done", "cancelled")
WARNING_CATEGORIES: tuple[str, ...] = ("risk", "access", "health", "other")

#: The only actions an audit event may name, on the laptop and on the service (a pushed audit
#: event with any other action is refused). Audit events hold ids and references, never
#: personal data.
AUDIT_ACTIONS: tuple[str, ...] = (
    "viewed",
    "created",
    "changed",
    "resolved",
    "exported",
    "printed",
    "enrolled",
    "revoked",
    "wiped",
    "set_aside",  # a record from the service this laptop could not store
    "re_referenced",  # an offline case given a fresh reference (its own was taken)
)
