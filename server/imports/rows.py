"""One row of an export, as the records it holds: a person, a case about them, the warnings
(several in one column, split on ";") and a note. The mapping says which column (or template of
columns) fills each field, which of the file's values mean which of Fieldcase's, how dates are
written, and which team a postcode district belongs to. A row that cannot become valid records
is refused whole, with the column and the reason; nothing of it is imported."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from server.imports.mapping import DATE_FIELDS, TEMPLATE_PART, Mapping
from server.imports.reading import UNREADABLE
from sync.records import FieldProblem, RecordKind, check_fields, external_label

#: A UK postcode's outward code (its district): "DT1" of "DT1 1XJ".
POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][0-9A-Z]?)\s*[0-9][A-Z]{2}\b")
WARNING_SPLIT = ";"


@dataclass
class RowRecords:
    """The records one row becomes (fields as a pushed change carries them)."""

    number: int
    person_external_id: str
    case_external_id: str
    person: dict[str, Any]
    case: dict[str, Any]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    #: Made with the row (in the helper process that builds a large file's rows:
    #: :mod:`server.imports.pipeline`), for each of its records in :func:`new_records`' order:
    #: the digest of each field the file gives (:func:`digest`), and why the record could not
    #: be written new, if it could not (its first problem against the whole record schema).
    hashes: list[dict[str, str]] = field(default_factory=list)
    unfit: dict[int, FieldProblem] = field(default_factory=dict)
    #: the external ids of the row's warnings and note (:func:`derived_id`)
    warning_ids: list[str] = field(default_factory=list)
    note_id: str | None = None


@dataclass(frozen=True)
class RowProblem:
    """Why a row was refused: its number, the column (or what the mapping set) and a reason."""

    number: int
    column: str
    reason: str


class _Refused(Exception):
    def __init__(self, target: str, reason: str) -> None:
        self.target, self.reason = target, reason


def build(mapping: Mapping, number: int, values: dict[str, str]) -> RowRecords | RowProblem:
    """The records of row ``number`` (or why it is refused)."""
    if UNREADABLE in values:
        return RowProblem(number, "(the whole row)", values[UNREADABLE])
    try:
        return _build(mapping, number, values)
    except _Refused as refused:
        return RowProblem(number, column_of(mapping, refused.target), refused.reason)


def _build(mapping: Mapping, number: int, values: dict[str, str]) -> RowRecords:
    def get(target: str) -> str:
        return _value(mapping, target, values)

    person_ext, case_ext = get("person.external_id"), get("case.external_id")
    for target, value in (("person.external_id", person_ext), ("case.external_id", case_ext)):
        if not value:
            raise _Refused(target, "is empty: every row needs the source system's ids")
        if len(value) > 200:
            raise _Refused(target, "is longer than 200 characters")
    person = _fields(mapping, RecordKind.PERSON, get)
    case = _fields(mapping, RecordKind.CASE, get)
    if not _from_file(mapping, "case.team", values):  # else the team the file names
        district = _district(str(person.get("address") or ""))
        team = mapping.teams.get(district) if district else None
        if team:  # the postcode's team, before the mapping's default
            case["team"] = team
    if not case.get("team"):
        raise _Refused("case.team", "is empty, and no team is set for the address's postcode")
    case.setdefault("type", mapping.defaults.get("case.type"))
    if not case.get("type"):
        raise _Refused("case.type", "is empty: set it in the file or in [defaults]")
    category = get("warning.category") or "other"
    warnings = [
        {"text": text, "category": category}
        for text in (t.strip() for t in get("warning.text").split(WARNING_SPLIT))
        if text
    ]
    for fields in warnings:
        _check(RecordKind.WARNING, {**fields}, "warning.")
    note = get("note.text") or None
    if note is not None:
        _check(RecordKind.NOTE, {"text": note}, "note.")
    made = RowRecords(number, person_ext, case_ext, person, case, warnings, note)
    made.warning_ids = [derived_id(case_ext, "warning", w["text"]) for w in warnings]
    made.note_id = derived_id(case_ext, "note", note) if note else None
    return made


def _fields(mapping: Mapping, kind: RecordKind, get: Any) -> dict[str, Any]:
    prefix = f"{kind.value}."
    fields: dict[str, Any] = {}
    for target in mapping.targets_of(kind.value):
        value = get(target)
        if value:
            fields[target.removeprefix(prefix)] = value
    _check(kind, fields, prefix)
    return fields


def _check(kind: RecordKind, fields: dict[str, Any], prefix: str) -> None:
    problems = check_fields(kind, fields, whole=False)
    if problems:
        raise _Refused(prefix + problems[0].field, problems[0].reason)


def _value(mapping: Mapping, target: str, values: dict[str, str]) -> str:
    """The row's value for ``target``: its column or template, else the mapping's default;
    translated by ``[values]`` and, for a date, read with ``[formats]``."""
    raw = _from_file(mapping, target, values)
    if not raw:
        raw = mapping.defaults.get(target, "")
    if raw and target in mapping.values:
        raw = _translated(mapping.values[target], raw, target)
    if raw and target in DATE_FIELDS:
        raw = _date(raw, mapping.formats.get(target), target)
    return raw


def _from_file(mapping: Mapping, target: str, values: dict[str, str]) -> str:
    """The row's own value for ``target`` (its column, or its template filled in)."""
    spec = mapping.columns.get(target)
    if spec is None:
        return ""
    if not mapping.templates[target]:
        return values.get(spec, "").strip()
    filled = TEMPLATE_PART.sub(lambda m: values.get(m.group(1), ""), spec)
    return " ".join(filled.split()).strip(" ,")


def _translated(table: dict[str, str], raw: str, target: str) -> str:
    if raw in table:
        return table[raw]
    folded = {k.casefold(): v for k, v in table.items()}
    if raw.casefold() in folded:
        return folded[raw.casefold()]
    if raw in table.values():
        return raw
    choices = ", ".join(f'"{k}"' for k in list(table)[:8])
    raise _Refused(target, f'has "{raw}", which the mapping\'s [values] does not list ({choices})')


def _date(raw: str, form: str | None, target: str) -> str:
    quick = _day_first(raw) if form == "%d/%m/%Y" else None
    if quick is not None:
        return quick
    for attempt in (form, "%Y-%m-%d") if form else ("%Y-%m-%d",):
        try:
            assert attempt is not None
            return (
                datetime.strptime(raw[:10] if attempt == "%Y-%m-%d" else raw, attempt)
                .date()
                .isoformat()
            )
        except ValueError:
            continue
    said = form or "YYYY-MM-DD"
    raise _Refused(target, f'has "{raw}", which is not a date written as {said}')


def _day_first(raw: str) -> str | None:
    """``dd/mm/yyyy`` read without strptime (the usual form, and strptime is slow); None
    for anything else, which then goes the careful way."""
    parts = raw.split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
    except ValueError:
        return None


def _district(address: str) -> str | None:
    found = POSTCODE.search(address.upper())
    return found.group(1) if found else None


def column_of(mapping: Mapping, target: str) -> str:
    spec = mapping.columns.get(target)
    if spec is None:
        return f"{target} (from the mapping)"
    parts = TEMPLATE_PART.findall(spec)
    return " + ".join(parts) if parts else spec


#: One row as read: its number, its values by column, and what it builds (or why not).
BuiltRow = tuple[int, dict[str, str], RowRecords | RowProblem]


#: What a record made new by :func:`new_records` is checked with in place of the values the
#: import fills in as it writes (its people's ids, the time, a case's reference from the
#: counter): those are always valid, so a record fit with these is fit with those.
STAND_IN_ID = "00000000-0000-4000-8000-000000000000"
STAND_IN_AT = "2000-01-01T00:00:00+00:00"
STAND_IN_REF = "FC-2000-00001"


@dataclass(frozen=True)
class NewRecord:
    """One record of a row: its kind, its external id, the fields the file gives (which a
    later import compares) and the whole record an import makes when it is new."""

    kind: str
    external_id: str
    from_file: dict[str, Any]
    whole: dict[str, Any]


def new_records(
    row: RowRecords, *, source: str, by: str, person_id: str, at: str
) -> list[NewRecord]:
    """The row's records, in this order: its case, its person, its warnings, its note. Cases
    and warnings name ``person_id``; warnings and notes are stamped ``by`` at ``at``. (A new
    case's reference, from the service's counter, is added by the import.)"""
    said = {**row.case, "person_id": person_id}
    records = [
        NewRecord(
            "case", row.case_external_id, said, {"status": "open", "priority": "normal", **said}
        ),
        NewRecord(
            "person",
            row.person_external_id,
            row.person,
            {**row.person, "external_ids": external_label(source, row.person_external_id)},
        ),
    ]
    for ext, fields in zip(row.warning_ids, row.warnings, strict=True):
        whole = {**fields, "person_id": person_id, "active": True, "added_by": by, "added_at": at}
        records.append(NewRecord("warning", ext, fields, whole))
    if row.note:
        whole = {"text": row.note, "author": by, "written_at": at}
        records.append(NewRecord("note", str(row.note_id), {"text": row.note}, whole))
    return records


def build_batch(
    mapping: Mapping, rows: list[tuple[int, dict[str, str]]], by: str
) -> list[BuiltRow]:
    """A batch of rows, each with what it builds, the digests of what the file gives and the
    whole schema's check of its records as new ones (run in the import's helper process for a
    large file: the import itself then only looks them up and writes them)."""
    batch: list[BuiltRow] = []
    for number, values in rows:
        row = build(mapping, number, values)
        if isinstance(row, RowRecords):
            made = new_records(
                row, source=mapping.source, by=by, person_id=STAND_IN_ID, at=STAND_IN_AT
            )
            row.hashes = [{n: digest(v) for n, v in r.from_file.items()} for r in made]
            for index, record in enumerate(made):
                whole = {**record.whole, "ref": STAND_IN_REF} if index == 0 else record.whole
                problems = check_fields(RecordKind(record.kind), whole, whole=True)
                if problems:
                    row.unfit[index] = problems[0]
        batch.append((number, values, row))
    return batch


def derived_id(case_external_id: str, kind: str, text: str) -> str:
    """The external id of a warning (by its text, whatever its case) or a note: its case's,
    and a digest of the text."""
    if kind == "warning":
        text = text.casefold()
    hashed = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return f"{case_external_id}/{kind}/{hashed}"


def digest(value: Any) -> str:
    """A short digest of a value the file gave (what earlier imports stored: the same), by
    which a later import knows whether the file changed it."""
    if isinstance(value, str):  # most values: the same text json.dumps makes, quicker
        text = encode_basestring_ascii(value)
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
