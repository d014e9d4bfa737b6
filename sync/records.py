"""The synced record kinds and their fields, as they travel on the wire.

The laptop's tables (``app/domain``) and the service's per-field store both follow this one
table; a test checks that the laptop's models carry exactly these fields.
Values on the wire are JSON: text, numbers, booleans, null; dates as ISO ``YYYY-MM-DD``;
date-times as ISO 8601 with a UTC offset; record references as UUID strings.

:data:`SCHEMA` is the one schema of every kind's fields (type, required, allowed values,
maximum length; docs/protocol.md lists it). :func:`check_fields` checks fields against it and
is called by both sides: the service before it merges a pushed change, the laptop before it
stores a pulled record. A test checks that whatever passes it fits the laptop's tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal, NotRequired, Required

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict


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
        "external_ids",  # the old systems' ids, "source:id" one a line (protocol 7), by the service
    ),
    RecordKind.WARNING: (
        "person_id",
        "text",  # "Dog on premises"
        "category",  # risk | access | health | other
        "active",  # bool
        "added_by",
        "added_at",  # date-time
        "retired_by",  # who retired it (protocol 3), or null
        "retired_at",  # date-time it was retired (protocol 3), or null
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
        "outcome",  # what came of it (protocol 3): see VISIT_OUTCOMES, or null
        "outcome_note",  # a word on the outcome ("no answer, card left"), protocol 3
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
#: A case's status in words a person reads ("Your case is being worked on").
CASE_STATUS_WORDS: dict[str, str] = {
    "open": "open",
    "in_progress": "being worked on",
    "waiting": "waiting for something to happen",
    "closed": "closed",
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
    "corrected",  # a note added to correct an earlier one
    "resolved",
    "exported",
    "printed",
    "enrolled",
    "revoked",
    "wiped",
    "set_aside",  # a record from the service this laptop could not store
    "re_referenced",  # an offline case given a fresh reference (its own was taken)
)

PREFERRED_CONTACTS: tuple[str, ...] = ("phone", "email", "letter", "visit")
VISIT_KINDS: tuple[str, ...] = ("visit", "task")
#: What came of a visit: it happened, or why not.
VISIT_OUTCOMES: tuple[str, ...] = (
    "done",
    "no_access",
    "not_in",
    "cancelled_by_person",
    "cancelled_by_us",
)

#: Fields added to the wire after protocol 2, with the protocol version that added them: the
#: service leaves them out of what it sends a laptop of an older protocol (whose check of
#: each record allows no field it does not know).
ADDED_IN: dict[RecordKind, dict[str, int]] = {
    RecordKind.PERSON: {"external_ids": 7},
    RecordKind.WARNING: {"retired_by": 3, "retired_at": 3},
    RecordKind.VISIT: {"outcome": 3, "outcome_note": 3},
}

#: Fields only the service writes (an import, a merge): a device's change that sets one to
#: anything but what the record holds is refused.
SERVICE_SET: dict[RecordKind, frozenset[str]] = {RecordKind.PERSON: frozenset({"external_ids"})}


def external_label(source: str, external_id: str) -> str:
    """An old system's id of a record as ``source:id`` (its spaces and line breaks made one
    space), as ``duplicates find`` prints it and a person's ``external_ids`` holds it."""
    return f"{source}:{' '.join(external_id.split())}"


def external_labels(text: str | None) -> list[str]:
    """The labels a person's ``external_ids`` holds (one a line)."""
    return [line for line in (text or "").splitlines() if line.strip()]


def external_ids_text(labels: Sequence[str]) -> str:
    """The ``external_ids`` of a person known by ``labels``: each once, in the order given,
    as many as fit the field."""
    kept: list[str] = []
    size = -1
    for label in dict.fromkeys(labels):
        size += len(label) + 1
        if size > MAX_EXTERNAL_IDS_CHARS:
            break
        kept.append(label)
    return "\n".join(kept)


# ------------------------------------------------------------------------------ the schema
#
# One schema per record kind, checked by the service before it merges a change and by the
# laptop before it stores a pulled record. ``null`` for a field that is not required means
# "not set" (the laptop then keeps its column's default, listed as ``default``).

#: The largest document the service takes (its upload limit, ``X-Total-Size``).
MAX_DOCUMENT_BYTES = 1 << 40
#: Longest note text, in characters.
MAX_NOTE_CHARS = 100_000
#: Longest text of a person's old systems' ids (``external_ids``).
MAX_EXTERNAL_IDS_CHARS = 5_000
#: Longest name of a user, team or device, in characters (the service's own columns).
MAX_NAME_CHARS = 200

#: Case references: ``FC-2026-00042`` from a reserved block, or the offline fallback
#: ``FC-2026-K7Q-0001`` (year, the laptop's code, a count).
CASE_REF_PATTERN = r"^FC-[0-9]{4}-([0-9]{5,7}|[A-Z0-9]{3,8}-[0-9]{4,6})$"
CASE_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
#: One word of an audit event's detail: a lower-case name (``fields:``, ``person.name``), a code
#: holding a digit (``FC-2026-00042``, ``K7Q``, ``2026-11-28``, a number), a record id, or
#: ``->``, ``=``, ``/``. A capitalised word (a name), free text or a control character is none.
_DETAIL_WORD = (
    r"(?:[a-z][a-z0-9_.]*:?"
    r"|[A-Z0-9-]*[0-9][A-Z0-9-]*"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|->|=|/)"
)
#: An audit event's detail: such words separated by spaces, commas or semicolons, so no
#: personal data reaches the audit trail (the laptop writes e.g. ``fields: status, priority``).
AUDIT_DETAIL_PATTERN = rf"^[ ,;]*(?:{_DETAIL_WORD}(?:[ ,;]+|$))*$"
AUDIT_DETAIL_MAX = 300
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)


class FieldType(StrEnum):
    """What a field's JSON value must be."""

    TEXT = "text"  # a string: valid UTF-8, no NUL, at most max_length characters
    CHOICE = "choice"  # one of ``choices``
    DATE = "date"  # "YYYY-MM-DD"
    DATETIME = "datetime"  # ISO 8601 with a UTC offset
    UUID = "uuid"  # a record id
    BOOL = "bool"  # true or false (not 0 or 1)
    SIZE = "size"  # a whole number from 0 to ``maximum``


@dataclass(frozen=True)
class FieldSpec:
    """One field of one record kind."""

    type: FieldType
    required: bool = False  # must be present on a new record; never null or empty
    max_length: int | None = None  # characters, for text (every text field has one)
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # for text with a fixed form
    maximum: int | None = None  # for sizes
    default: Any = None  # what the laptop keeps when the field is null (documentation)
    form: str = ""  # the fixed form, in words, for reasons and docs


def _text(max_length: int, *, required: bool = False, default: Any = "") -> FieldSpec:
    return FieldSpec(FieldType.TEXT, required, max_length, default=None if required else default)


def _choice(choices: tuple[str, ...], default: str | None) -> FieldSpec:
    return FieldSpec(FieldType.CHOICE, choices=choices, default=default)


_DATE = FieldSpec(FieldType.DATE, max_length=10, pattern=DATE_PATTERN)
_DATETIME = FieldSpec(FieldType.DATETIME, max_length=35, pattern=DATETIME_PATTERN)
_DATETIME_REQUIRED = FieldSpec(FieldType.DATETIME, True, 35, pattern=DATETIME_PATTERN)
_UUID = FieldSpec(FieldType.UUID, max_length=36, pattern=UUID_PATTERN)
_UUID_REQUIRED = FieldSpec(FieldType.UUID, True, 36, pattern=UUID_PATTERN)
_WHO = _text(MAX_NAME_CHARS)

#: Every field of every kind (exactly the names of :data:`FIELDS`).
SCHEMA: dict[RecordKind, dict[str, FieldSpec]] = {
    RecordKind.CASE: {
        "ref": FieldSpec(
            FieldType.TEXT,
            True,
            50,
            pattern=CASE_REF_PATTERN,
            form="FC-YYYY-NNNNN or FC-YYYY-CODE-NNNN",
        ),
        "type": FieldSpec(
            FieldType.TEXT,
            True,
            50,
            pattern=CASE_TYPE_PATTERN,
            form="a case type code (a-z, 0-9, _)",
        ),
        "status": _choice(CASE_STATUSES, "open"),
        "priority": _choice(PRIORITIES, "normal"),
        "summary": _text(5_000),
        "team": _WHO,
        "assigned_to": _WHO,
        "next_review": _DATE,
        "opened_on": _DATE,
        "closed_on": _DATE,
        "person_id": _UUID_REQUIRED,
    },
    RecordKind.PERSON: {
        "name": _text(300, required=True),
        "date_of_birth": _DATE,
        "address": _text(1_000),
        "phone": _text(100),
        "preferred_contact": _choice(PREFERRED_CONTACTS, None),
        "language": _text(100),
        "access_needs": _text(5_000),
        "external_ids": _text(MAX_EXTERNAL_IDS_CHARS),
    },
    RecordKind.WARNING: {
        "person_id": _UUID_REQUIRED,
        "text": _text(2_000, required=True),
        "category": _choice(WARNING_CATEGORIES, "risk"),
        "active": FieldSpec(FieldType.BOOL, default=True),
        "added_by": _WHO,
        "added_at": _DATETIME_REQUIRED,
        "retired_by": _text(MAX_NAME_CHARS, default=None),
        "retired_at": _DATETIME,
    },
    RecordKind.NOTE: {
        "text": _text(MAX_NOTE_CHARS, required=True),
        "author": _text(MAX_NAME_CHARS, required=True),
        "written_at": _DATETIME_REQUIRED,
        "corrects": _UUID,
    },
    RecordKind.VISIT: {
        "title": _text(300, default="Visit"),
        "kind": _choice(VISIT_KINDS, "visit"),
        "due": _DATETIME_REQUIRED,
        "place": _text(1_000),
        "status": _choice(VISIT_STATUSES, "planned"),
        "done_at": _DATETIME,
        "outcome": _choice(VISIT_OUTCOMES, None),
        "outcome_note": _text(2_000),
    },
    RecordKind.DOCUMENT: {
        "name": _text(255, required=True),
        "size": FieldSpec(FieldType.SIZE, maximum=MAX_DOCUMENT_BYTES, default=0),
        "sha256": FieldSpec(
            FieldType.TEXT, max_length=64, pattern=SHA256_PATTERN, default="", form="64 hex digits"
        ),
        "mime": _text(255, default="application/octet-stream"),
        "added_by": _WHO,
        "added_at": _DATETIME_REQUIRED,
    },
    RecordKind.AUDIT: {
        "actor": _text(MAX_NAME_CHARS, required=True),
        "action": FieldSpec(FieldType.CHOICE, True, choices=AUDIT_ACTIONS),
        "record_kind": FieldSpec(
            FieldType.CHOICE, True, choices=tuple(kind.value for kind in RecordKind)
        ),
        "record_id": _UUID_REQUIRED,
        "at": _DATETIME_REQUIRED,
        "detail": FieldSpec(
            FieldType.TEXT,
            max_length=AUDIT_DETAIL_MAX,
            pattern=AUDIT_DETAIL_PATTERN,
            default="",
            form="ids and short codes: lower-case names, references, numbers, UUIDs",
        ),
    },
}


@dataclass(frozen=True)
class FieldProblem:
    """Why one field of a record was refused, in plain English (never the value itself)."""

    field: str
    reason: str


def is_clean_text(value: str) -> bool:
    """Text any store can hold: valid UTF-8 (no lone surrogate) and no NUL character."""
    try:
        _clean_text(value)
    except ValueError:
        return False
    return True


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds text that is not valid UTF-8 (a lone surrogate)") from None
    return value


def _valid_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date") from None
    return value


def _valid_datetime(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
        parsed.astimezone(UTC)  # out of range once moved to UTC (year 1 or 9999) fails here
    except (ValueError, OverflowError):
        raise ValueError("is not a real date and time") from None
    return value


#: Text without a NUL character (pydantic's own regular expressions, no Python call per value).
_NO_NUL = r"^[^\x00]*$"


def _annotation(spec: FieldSpec, *, at_once: bool = False) -> Any:
    """The pydantic type of a field's value (without null).

    ``at_once``: the same rules for the whole-record check, checked in pydantic's core alone
    (no Python call per value): every text field has a length limit, which makes pydantic
    refuse a lone surrogate, and a pattern, which refuses NUL (the schema's patterns hold no
    NUL; free text gets :data:`_NO_NUL`). Only a real date (or date-time) needs Python. A
    record this refuses is looked at field by field, with :func:`_clean_text`'s words."""
    if spec.type is FieldType.BOOL:
        return Annotated[bool, Strict()]
    if spec.type is FieldType.SIZE:
        return Annotated[int, Strict(), Field(ge=0, le=spec.maximum)]
    if spec.type is FieldType.CHOICE:
        return Literal[spec.choices]
    assert spec.max_length is not None, "every text field has a length limit"
    constraints = StringConstraints(
        min_length=1 if spec.required else None,
        max_length=spec.max_length,
        pattern=spec.pattern if spec.pattern or not at_once else _NO_NUL,
    )
    checks: list[Any] = [Strict(), constraints]
    if not at_once:
        checks.append(AfterValidator(_clean_text))
    if spec.type is FieldType.DATE:
        checks.append(AfterValidator(_valid_date))
    elif spec.type is FieldType.DATETIME:
        checks.append(AfterValidator(_valid_datetime))
    return Annotated[str, *checks]


def _nullable(spec: FieldSpec, *, at_once: bool = False) -> Any:
    annotation = _annotation(spec, at_once=at_once)
    return annotation if spec.required else annotation | None


@cache
def _field_adapter(kind: RecordKind, name: str) -> TypeAdapter[Any]:
    return TypeAdapter(_nullable(SCHEMA[kind][name]))


_KIND_WORDS = {
    RecordKind.CASE: "a case",
    RecordKind.PERSON: "a person",
    RecordKind.WARNING: "a warning",
    RecordKind.NOTE: "a note",
    RecordKind.VISIT: "a visit",
    RecordKind.DOCUMENT: "a document",
    RecordKind.AUDIT: "an audit event",
}


def describe(spec: FieldSpec) -> str:
    """What a field's value must be, in words ("text of at most 300 characters")."""
    if spec.type is FieldType.CHOICE:
        return "one of " + ", ".join(spec.choices)
    if spec.type is FieldType.BOOL:
        return "true or false"
    if spec.type is FieldType.SIZE:
        return f"a whole number from 0 to {spec.maximum}"
    if spec.type is FieldType.DATE:
        return "a date (YYYY-MM-DD)"
    if spec.type is FieldType.DATETIME:
        return "a date and time with a UTC offset (ISO 8601)"
    if spec.type is FieldType.UUID:
        return "a record id (UUID)"
    if spec.form:
        return f"text of the form {spec.form}"
    return f"text of at most {spec.max_length} characters"


def safe_name(name: object) -> str:
    """A field name as it may be shown and sent back (printable, short, valid UTF-8)."""
    text = name if isinstance(name, str) else repr(name)
    shown = text.encode("utf-8", "backslashreplace").decode("utf-8")
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in shown)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _reason(kind: RecordKind, name: str, error: Mapping[str, Any]) -> str:
    spec = SCHEMA[kind][name]
    if spec.required and (error["input"] is None or error["input"] == ""):
        return "is required and may not be empty"
    if error["type"] == "string_too_long":
        return f"is longer than {spec.max_length:,} characters"
    if error["type"] in ("value_error", "assertion_error") and spec.type is FieldType.TEXT:
        return str(error["ctx"]["error"]) if error.get("ctx") else "is not valid text"
    return "must be " + describe(spec)


def check_fields(kind: RecordKind, fields: Mapping[str, Any], *, whole: bool) -> list[FieldProblem]:
    """The problems of ``fields`` of a record of ``kind`` (empty when it fits the schema).

    ``whole``: the fields are a whole record (a new record, or a pulled one): every required
    field must be there. Otherwise a partial update: only the given fields are checked (a
    required field may still not be set to null or emptied)."""
    if type(fields) is not dict and not isinstance(fields, Mapping):  # a dict, nearly always
        return [FieldProblem("fields", "must be an object of field names and values")]
    if _fits_at_once(kind, fields, whole=whole):
        return []  # the usual case, checked in one call; the reasons field by field otherwise
    return _problems_field_by_field(kind, fields, whole=whole)


def _problems_field_by_field(
    kind: RecordKind, fields: Mapping[str, Any], *, whole: bool
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if whole:
        for name, spec in SCHEMA[kind].items():
            if spec.required and name not in fields:
                problems.append(FieldProblem(name, "is required"))
    for name, value in fields.items():
        if name not in SCHEMA[kind]:
            problems.append(FieldProblem(safe_name(name), f"is not a field of {_KIND_WORDS[kind]}"))
            continue
        try:
            _field_adapter(kind, name).validate_python(value)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]  # one reason per field
            problems.append(FieldProblem(name, _reason(kind, name, first)))
    return problems


@cache
def _shape(kind: RecordKind, whole: bool) -> Any:
    """Every field of ``kind`` as one typed dict, with the same rule for each field as
    :func:`_field_adapter`: a whole record needs its required fields, a partial one may leave
    any out; no other field is allowed."""
    fields = {
        name: Required[_nullable(spec, at_once=True)]
        if whole and spec.required
        else NotRequired[_nullable(spec, at_once=True)]
        for name, spec in SCHEMA[kind].items()
    }
    shape = TypedDict(f"{kind.name.title()}Fields", fields)  # type: ignore[misc]
    return with_config(ConfigDict(extra="forbid"))(shape)


@cache
def _record_adapter(kind: RecordKind, whole: bool) -> TypeAdapter[Any]:
    """A record of ``kind`` checked in one call (:func:`_shape`)."""
    return TypeAdapter(_shape(kind, whole))


@cache
def _records_adapter(kind: RecordKind) -> TypeAdapter[Any]:
    """A list of whole records of ``kind``, each checked as :func:`_record_adapter` does."""
    return TypeAdapter(list[_shape(kind, True)])  # type: ignore[misc,arg-type]


def _fits_at_once(kind: RecordKind, fields: Mapping[str, Any], *, whole: bool) -> bool:
    if not isinstance(fields, dict):
        return False
    try:
        _record_adapter(kind, whole).validate_python(fields)
    except ValidationError:
        return False
    return True


def unfit_records(kind: RecordKind, many: Sequence[Mapping[str, Any]]) -> set[int]:
    """The positions in ``many`` (whole records of ``kind``) that do not fit the schema, found
    in one call for them all (a page of pulled records: no Python call per record); ask
    :func:`check_fields` of one of them for its reasons."""
    try:
        _records_adapter(kind).validate_python(many)
    except ValidationError as error:
        return {int(problem["loc"][0]) for problem in error.errors(include_url=False)}
    return set()


def check_record(kind: RecordKind, fields: Mapping[str, Any]) -> list[FieldProblem]:
    """:func:`check_fields` of a whole record."""
    return check_fields(kind, fields, whole=True)
