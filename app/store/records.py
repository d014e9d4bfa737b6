"""Records as the wire carries them: convert table rows to and from JSON field values.

Shared by the core actions (to write outbox entries) and the sync adapter (to apply pulled
records). Wire values follow ``sync/records.py``: dates as ``YYYY-MM-DD``, date-times as ISO
8601 with a UTC offset, ids as UUID strings.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlmodel import AutoString, Session

from app.domain.names import sort_name
from app.store.models import KIND_MODELS, Person, Record
from app.store.types import UTCDateTime
from sync.records import FIELDS, RecordKind


def to_wire(value: Any) -> Any:
    """A Python value of a column as a JSON value."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime refused")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def column_python_type(model: type[Record], field: str) -> type:
    """The Python type a column holds (str, int, bool, date, datetime, UUID, bytes)."""
    column = model.__table__.c[field]  # type: ignore[attr-defined]
    if isinstance(column.type, UTCDateTime):
        return datetime
    if isinstance(column.type, AutoString):
        return str
    try:
        kind = column.type.python_type
    except NotImplementedError:  # pragma: no cover - every column type we use has one
        return object
    return kind if isinstance(kind, type) else object


def _datetime_from_wire(field: str, value: Any) -> datetime:
    """ISO 8601 text with a UTC offset (or an aware datetime) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise ValueError(f"{field}: expected a date-time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{field}: date-time without a UTC offset")
    return parsed.astimezone(UTC)


def _date_from_wire(field: str, value: Any) -> date:
    """``YYYY-MM-DD`` text (or a date) as a date; a date-time is not a date."""
    if isinstance(value, datetime):
        raise ValueError(f"{field}: expected a date, not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError(f"{field}: expected a date")


def from_wire(model: type[Record], field: str, value: Any) -> Any:
    """A JSON value as the Python value of ``model.field`` (ValueError if it does not fit).

    Date-time columns come back as aware UTC datetimes (text without an offset is refused),
    date columns as dates."""
    if value is None:
        return None
    kind = column_python_type(model, field)
    if kind is datetime:
        return _datetime_from_wire(field, value)
    if kind is date:
        return _date_from_wire(field, value)
    if kind is UUID:
        return value if isinstance(value, UUID) else UUID(str(value))
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{field}: expected true or false")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{field}: expected a whole number")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{field}: expected text")
        return value
    return value


def record_fields(obj: Record, only: set[str] | None = None) -> dict[str, Any]:
    """The synced fields of a row as wire values (all of them, or those in ``only``)."""
    names = FIELDS[obj.KIND]
    return {name: to_wire(getattr(obj, name)) for name in names if only is None or name in only}


def apply_fields(obj: Record, fields: dict[str, Any]) -> None:
    """Set wire ``fields`` on a row (unknown field names raise ValueError)."""
    allowed = set(FIELDS[obj.KIND])
    model = type(obj)
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"{obj.KIND.value} has no synced field {name!r}")
        setattr(obj, name, from_wire(model, name, value))
    if isinstance(obj, Person) and "name" in fields:
        obj.sort_name = sort_name(obj.name or "")


def upsert_record(
    session: Session,
    kind: RecordKind,
    record_id: UUID,
    case_id: UUID,
    version: int,
    fields: dict[str, Any],
) -> Record:
    """Insert or update one record from the service (a pulled ``RecordState``). For a new
    record every NOT NULL field must be present or have a default."""
    model = KIND_MODELS[kind]
    obj = session.get(model, record_id)
    if obj is None:
        obj = model(id=record_id)
        if kind is not RecordKind.CASE:
            obj.case_id = case_id
    apply_fields(obj, fields)
    obj.version = version
    session.add(obj)
    return obj


def dumps(value: Any) -> str:
    """Compact JSON for the outbox and conflict tables."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
