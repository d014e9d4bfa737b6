"""A pulled page written in bulk: one plain ``executemany`` per table and statement, straight
from the decoded page, with no ORM object (or other model) made per record.

The rules are those of the per-record path in :mod:`app.store.sync_adapter` (which stays as
the careful fallback when a write fails, and for set-aside records tried again):

* every record is checked against the shared schema first
  (:func:`sync.records.check_fields`); one that does not fit is returned with its reason, to
  be set aside;
* a record already here moves only forward (a lower version is skipped), and a field with a
  local edit waiting to be sent keeps the local value;
* a person's local sort key follows its name; a document new here, or whose content changed
  while its file was here, is to be downloaded (``remote``).

Values are turned into exactly what the ORM stores (ids as 32 hex digits, dates as
``YYYY-MM-DD``, date-times as fixed-width UTC ISO text, booleans as 0/1), so both paths leave
the same rows. People are written before cases, so the search index triggers find a case's
person name when the case arrives (one index write per case and per note, not two).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table
from sqlmodel import Session

from app.domain.enums import DocumentState
from app.domain.names import sort_name
from app.store import outbox, set_aside
from app.store.models import KIND_MODELS
from app.store.outbox import IN_CHUNKS
from app.store.records import column_python_type
from app.store.set_aside import Reason
from app.store.types import UTCDateTime
from sync import records as sync_records
from sync.protocol import RecordState
from sync.records import FIELDS, RecordKind

#: Order of writing: people before cases (see the module's note), cases before the rest.
KIND_ORDER: tuple[RecordKind, ...] = (
    RecordKind.PERSON,
    RecordKind.CASE,
    RecordKind.WARNING,
    RecordKind.NOTE,
    RecordKind.VISIT,
    RecordKind.DOCUMENT,
    RecordKind.AUDIT,
)

_MISSING = object()


# ---------------------------------------------------------------- wire value -> stored value


# Values reach these after the shared schema check: a text date, date-time or id already has
# its form and is real. Most come in the stored form already (or nearly), and go through as
# they are; anything else is parsed and written out again.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CANONICAL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UTC_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\+00:00"
)


def _uuid(value: Any) -> str:
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value.replace("-", "")
    return (value if isinstance(value, UUID) else UUID(str(value))).hex


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        raise ValueError("a date-time is not a date")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if _CANONICAL_DATE.fullmatch(value):
            date.fromisoformat(value)  # a real date (the schema checked; this is cheap)
            return value
        return date.fromisoformat(value).isoformat()
    raise ValueError("expected a date")


def _datetime(value: Any) -> str:
    if isinstance(value, str) and (utc := _UTC_DATETIME.fullmatch(value)):
        # already UTC with whole seconds: the stored form has microseconds
        return value if utc.group(1) else f"{value[:19]}.000000+00:00"
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise ValueError("expected a date-time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("date-time without a UTC offset")
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _bool(value: Any) -> int:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return int(value)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected a whole number")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


_BY_TYPE: dict[type, Callable[[Any], Any]] = {
    UUID: _uuid,
    date: _date,
    datetime: _datetime,
    bool: _bool,
    int: _int,
    str: _str,
}


#: Converters that leave a value as it is once the shared schema has checked it (a checked text
#: is a string, a checked date a real one in the stored form, a checked size a whole number;
#: a boolean is bound as the 0/1 it stands for), keyed by the schema's field type.
_SAME_ONCE_CHECKED: dict[sync_records.FieldType, Callable[[Any], Any]] = {
    sync_records.FieldType.TEXT: _str,
    sync_records.FieldType.CHOICE: _str,
    sync_records.FieldType.DATE: _date,
    sync_records.FieldType.SIZE: _int,
    sync_records.FieldType.BOOL: _bool,
}


@dataclass(frozen=True)
class _Kind:
    """How one record kind is written: its table, columns and value converters."""

    kind: RecordKind
    table: str
    #: Wire value -> stored value, per synced field (None: a checked value is stored as it is).
    convert: Mapping[str, Callable[[Any], Any] | None]
    #: Stored value for a field the service sent as null (``_MISSING``: the field is needed).
    on_null: Mapping[str, Any]
    #: Stored value of a column a new row gets when the service did not send it.
    default: Mapping[str, Any]
    #: A new row's insert: the fields in the order of FIELDS, then the row's own columns
    #: (:data:`_OWN_COLUMNS`), then the rest, at their defaults (``rest_defaults``).
    columns: tuple[str, ...]
    insert_sql: str
    rest_defaults: tuple[Any, ...]
    #: The quick way for a new row with every field sent (:func:`_quick_row`): the fields
    #: taken at once; the places of those needing a converter, and of those whose null is
    #: stored as something else (with what).
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    convert_at: tuple[tuple[int, Callable[[Any], Any]], ...]
    null_at: tuple[tuple[int, Any], ...]
    #: Fields added to the wire after the first protocol (:data:`sync.records.ADDED_IN`), as
    #: null: a record the service holds from before one was added has no value for it, and
    #: takes its column's default the quick way as the careful way would.
    later: Mapping[str, None]


@functools.cache
def kind_spec(kind: RecordKind) -> _Kind:
    model = KIND_MODELS[kind]
    table: Table = model.__table__  # type: ignore[attr-defined]
    convert: dict[str, Callable[[Any], Any] | None] = {}
    on_null: dict[str, Any] = {}
    default: dict[str, Any] = {}
    for column in table.c:
        name = column.name
        if isinstance(column.type, UTCDateTime):
            store: Callable[[Any], Any] = _datetime
        else:
            store = _BY_TYPE.get(column_python_type(model, name), lambda value: value)
        scalar = column.default is not None and getattr(column.default, "is_scalar", False)
        stored_default = store(column.default.arg) if scalar else None  # type: ignore[union-attr]
        default[name] = stored_default
        if name in FIELDS[kind]:
            on_null[name] = None if column.nullable else (stored_default if scalar else _MISSING)
            same = _SAME_ONCE_CHECKED.get(sync_records.SCHEMA[kind][name].type)
            convert[name] = None if store is same else store
    names = FIELDS[kind]
    convert = {name: convert[name] for name in names}  # in the order of FIELDS
    own = _OWN_COLUMNS[kind]
    if not set(own) <= set(default):
        raise RuntimeError(f"{table.name} lacks one of {own}")  # a model out of step
    rest = tuple(column.name for column in table.c if column.name not in (*names, *own))
    columns = (*names, *own, *rest)
    return _Kind(
        kind,
        table.name,
        convert,
        on_null,
        default,
        columns,
        _insert(table.name, columns),
        tuple(default[name] for name in rest),
        take=operator.itemgetter(*names),
        convert_at=tuple(
            (at, store) for at, store in enumerate(convert.values()) if store is not None
        ),
        null_at=tuple(
            (at, on_null[name]) for at, name in enumerate(names) if on_null[name] is not None
        ),
        later=dict.fromkeys(sync_records.ADDED_IN.get(kind, {})),
    )


#: The columns of a new row that are its own, not fields sent (in :func:`_own_values`' order).
_OWN_COLUMNS: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.CASE: ("id", "version"),
    RecordKind.PERSON: ("id", "version", "case_id", "sort_name"),
    RecordKind.DOCUMENT: ("id", "version", "case_id", "local_state"),
    **{
        kind: ("id", "version", "case_id")
        for kind in (RecordKind.WARNING, RecordKind.NOTE, RecordKind.VISIT, RecordKind.AUDIT)
    },
}


# Kinds looked at for every record, named once: on Python 3.11 each ``RecordKind.CASE`` is a
# look-up through the enum class's own ``__getattr__`` hook.
_CASE, _PERSON, _DOCUMENT = RecordKind.CASE, RecordKind.PERSON, RecordKind.DOCUMENT
_REMOTE = DocumentState.REMOTE.value


def _own_values(
    kind: RecordKind, incoming: RecordState, record_id: str, name: Any, case_ids: dict[int, str]
) -> tuple[Any, ...]:
    """A new row's own columns (:data:`_OWN_COLUMNS`); ``name`` is a person's stored name."""
    if kind is _CASE:
        return (record_id, incoming.version)
    # a case's records share its id: turned into its stored form once per page (looked up by
    # its number: a UUID's own hash and equality are Python code, an int's are not)
    number = incoming.case_id.int
    case_id = case_ids.get(number)
    if case_id is None:
        case_id = case_ids[number] = f"{number:032x}"
    if kind is _PERSON:
        return (record_id, incoming.version, case_id, sort_name(name or ""))
    if kind is _DOCUMENT:
        return (record_id, incoming.version, case_id, _REMOTE)
    return (record_id, incoming.version, case_id)


def _insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def refusal(incoming: RecordState) -> Reason | None:
    """Why a pulled record does not fit the shared schema (None: it fits)."""
    problems = sync_records.check_fields(incoming.kind, incoming.fields, whole=True)
    return schema_reason(incoming, problems[0]) if problems else None


def _quick_row(
    spec: _Kind, incoming: RecordState, record_id: str, case_ids: dict[int, str]
) -> tuple[Any, ...] | None:
    """A new row's values (:attr:`_Kind.insert_sql`), taken from a checked record's fields at
    once (what :func:`stored_values` and :func:`_new_row` make), or None when the record
    needs the careful way: a field not sent, or one that does not fit."""
    fields = incoming.fields
    if len(fields) != len(spec.convert):
        fields = {**spec.later, **fields}  # a later field not sent: its column's default
        if len(fields) != len(spec.convert):
            return None
    sent = spec.take(fields)
    null_at = spec.null_at if None in sent else ()
    if spec.convert_at or null_at:
        values = list(sent)
        for at, store in spec.convert_at:
            if (value := values[at]) is not None:
                try:
                    values[at] = store(value)
                except (ValueError, TypeError, OverflowError):
                    return None  # the careful way says which field, and why
        for at, stored in null_at:
            if values[at] is None:
                if stored is _MISSING:
                    return None  # the careful way refuses it
                values[at] = stored
        sent = tuple(values)
    own = _own_values(spec.kind, incoming, record_id, fields.get("name"), case_ids)
    return sent + own + spec.rest_defaults


def stored_values(incoming: RecordState) -> dict[str, Any]:
    """The fields of a record that fits the shared schema (:func:`refusal`) as stored column
    values; raises :class:`set_aside.Refusal` when one does not fit its column."""
    spec = kind_spec(incoming.kind)
    fields = incoming.fields
    values: dict[str, Any] = {}
    for name, store in spec.convert.items():  # in the order of FIELDS
        value = fields.get(name, _MISSING)
        if value is _MISSING:
            continue
        if value is None:
            value = spec.on_null[name]
            if value is _MISSING:
                raise set_aside.Refusal(Reason.of(set_aside.MISSING, name))
        elif store is not None:
            try:
                value = store(value)
            except (ValueError, TypeError, OverflowError):
                raise set_aside.Refusal(Reason.of(set_aside.WRONG_TYPE, name)) from None
        values[name] = value
    return values


def schema_reason(incoming: RecordState, problem: sync_records.FieldProblem) -> Reason:
    """The set-aside reason for the first way a pulled record breaks the shared schema:
    missing, bad text, a value of the wrong kind (or form), else a broken rule."""
    name = problem.field
    if name not in FIELDS[incoming.kind]:
        return Reason.of(set_aside.BROKEN_RULE, None)  # never a name the service made up
    value = incoming.fields.get(name)
    spec = sync_records.SCHEMA[incoming.kind][name]
    if value is None or (spec.required and value == ""):
        return Reason.of(set_aside.MISSING, name)
    if isinstance(value, str) and not sync_records.is_clean_text(value):
        return Reason.of(set_aside.BAD_TEXT, name)
    kind = sync_records.FieldType
    if spec.type is kind.BOOL:
        fits = isinstance(value, bool)
    elif spec.type is kind.SIZE:
        fits = isinstance(value, int) and not isinstance(value, bool)
    else:
        fits = isinstance(value, str) and (
            spec.pattern is None or re.fullmatch(spec.pattern, value) is not None
        )
    return Reason.of(set_aside.BROKEN_RULE if fits else set_aside.WRONG_TYPE, name)


# ---------------------------------------------------------------- writing


@dataclass
class _Here:
    """What the merge needs to know of a row already on this laptop."""

    version: int
    sha256: str | None = None
    local_state: str | None = None


def _rows_here(conn: Connection, kind: RecordKind, ids: Sequence[str]) -> dict[str, _Here]:
    table = kind_spec(kind).table
    document = kind is RecordKind.DOCUMENT
    extra = ", sha256, local_state" if document else ""
    found: dict[str, _Here] = {}
    for start in range(0, len(ids), IN_CHUNKS):
        chunk = ids[start : start + IN_CHUNKS]
        marks = ", ".join("?" for _ in chunk)
        sql = f"SELECT id, version{extra} FROM {table} WHERE id IN ({marks})"
        for row in conn.exec_driver_sql(sql, tuple(chunk)):
            found[row[0]] = _Here(row[1], *row[2:]) if document else _Here(row[1])
    return found


def _new_row(
    spec: _Kind,
    incoming: RecordState,
    values: dict[str, Any],
    record_id: str,
    case_ids: dict[int, str],
) -> tuple[Any, ...]:
    """A new row's values (:attr:`_Kind.insert_sql`) from its :func:`stored_values` (a field
    not sent gets its column's default); ``record_id`` is the record's id as stored."""
    default = spec.default
    sent = tuple([values.get(name, default[name]) for name in spec.convert])
    own = _own_values(spec.kind, incoming, record_id, values.get("name"), case_ids)
    return sent + own + spec.rest_defaults


def _changes(
    spec: _Kind, incoming: RecordState, values: dict[str, Any], keep: set[str], here: _Here
) -> dict[str, Any]:
    """The columns to set on a row already here (local unsent edits keep their values)."""
    changes = {name: value for name, value in values.items() if name not in keep}
    changes["version"] = incoming.version
    if spec.kind is RecordKind.PERSON and "name" in changes:
        changes["sort_name"] = sort_name(changes["name"] or "")
    elif (
        spec.kind is RecordKind.DOCUMENT
        and here.local_state == DocumentState.UPLOADED.value
        and changes.get("sha256", here.sha256) != here.sha256
    ):
        changes["local_state"] = DocumentState.REMOTE.value
    return changes


def write_records(
    s: Session, checked: Iterable[RecordState], *, all_new: bool = False
) -> list[tuple[RecordState, Reason]]:
    """Write records that fit the shared schema (:func:`refusal`): new rows with one
    ``INSERT`` per table, rows already here with one
    ``UPDATE`` per table and set of columns (fields with a local edit waiting to be sent keep
    the local value). Returns those that do not fit a column, with why. A failure (a reference
    already taken, the data file's trouble) raises, and the caller's transaction is left to
    roll back.

    ``all_new``: the caller expects none of them here yet (a first sync filling an empty
    profile), so their ids are not looked up; one that is here after all fails its insert
    (an :class:`~sqlalchemy.exc.IntegrityError`), and the caller writes them again without
    ``all_new``."""
    conn = s.connection()
    refused: list[tuple[RecordState, Reason]] = []
    case_ids: dict[int, str] = {}
    by_kind: dict[RecordKind, list[RecordState]] = {}
    for incoming in checked:
        by_kind.setdefault(incoming.kind, []).append(incoming)
    for kind in KIND_ORDER:
        items = by_kind.get(kind)
        if not items:
            continue
        spec = kind_spec(kind)
        ids = [incoming.record_id.hex for incoming in items]
        here = {} if all_new else _rows_here(conn, kind, ids)
        inserts: list[tuple[Any, ...]] = []
        moving: list[tuple[RecordState, dict[str, Any], _Here]] = []
        for incoming, record_id in zip(items, ids, strict=True):
            row = here.get(record_id)
            if (
                row is None
                and (made := _quick_row(spec, incoming, record_id, case_ids)) is not None
            ):
                inserts.append(made)
                continue
            if row is not None and row.version > incoming.version:
                continue  # never move a record backwards
            try:
                values = stored_values(incoming)
            except set_aside.Refusal as why:
                refused.append((incoming, why.reason))
                continue
            if row is None:
                inserts.append(_new_row(spec, incoming, values, record_id, case_ids))
            else:
                moving.append((incoming, values, row))
        # only a row already here can have a local edit waiting to be sent
        pending = outbox.pending_fields(s, [incoming.record_id for incoming, _, _ in moving])
        updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for incoming, values, row in moving:
            changes = _changes(spec, incoming, values, pending.get(incoming.record_id, set()), row)
            names = tuple(changes)
            updates.setdefault(names, []).append((*changes.values(), incoming.record_id.hex))
        if inserts:
            conn.exec_driver_sql(spec.insert_sql, inserts)
        for names, rows in updates.items():
            sets = ", ".join(f"{name} = ?" for name in names)
            sql = f"UPDATE {spec.table} SET {sets} WHERE id = ?"
            conn.exec_driver_sql(sql, rows)
    return refused
