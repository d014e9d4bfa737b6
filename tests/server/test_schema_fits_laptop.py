"""A record the service accepts can always be stored on a laptop: every NOT NULL, type, CHECK
and length rule of the laptop's synced tables (``app/store/models.py``) is implied by the one
schema (``sync.records.SCHEMA``), and records at the schema's edges (longest texts, earliest
and latest dates, only the required fields) really go into an encrypted profile."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, String

from app.store.models import KIND_MODELS
from app.store.profile import Profile
from app.store.records import column_python_type, record_fields
from app.store.sync_adapter import SyncAdapter
from sync.protocol import PullResponse, RecordState
from sync.records import FIELDS, SCHEMA, FieldSpec, FieldType, RecordKind, check_record

#: The Python type a laptop column must have for each schema type.
COLUMN_TYPES: dict[FieldType, type] = {
    FieldType.TEXT: str,
    FieldType.CHOICE: str,
    FieldType.DATE: date,
    FieldType.DATETIME: datetime,
    FieldType.UUID: uuid.UUID,
    FieldType.BOOL: bool,
    FieldType.SIZE: int,
}


def _columns(kind: RecordKind) -> Any:
    return KIND_MODELS[kind].__table__.c  # type: ignore[attr-defined]


def _has_default(column: Any) -> bool:
    default = column.default
    return default is not None and getattr(default, "is_scalar", False) and default.arg is not None


def _check_values(kind: RecordKind) -> dict[str, set[str]]:
    """Allowed values of each ``column IN ('a', 'b')`` CHECK of the kind's table."""
    table = KIND_MODELS[kind].__table__  # type: ignore[attr-defined]
    found: dict[str, set[str]] = {}
    for constraint in table.constraints:
        if not isinstance(constraint, CheckConstraint):
            continue
        text = str(constraint.sqltext)
        match = re.fullmatch(r"\s*\(?\s*(\w+)\s+IN\s*\(([^)]*)\)\s*\)?\s*", text, re.IGNORECASE)
        assert match, f"{kind}: a CHECK this test does not understand yet: {text}"
        values = {v.strip().strip("'") for v in match.group(2).split(",")}
        found.setdefault(match.group(1), set()).update(values)
    return found


@pytest.mark.parametrize("kind", list(RecordKind))
def test_every_laptop_column_rule_is_implied_by_the_schema(kind: RecordKind) -> None:
    schema = SCHEMA[kind]
    assert tuple(schema) == FIELDS[kind]
    columns = _columns(kind)
    checks = _check_values(kind)
    for name, spec in schema.items():
        column = columns[name]
        # NOT NULL: the schema requires it, or null means the column's default
        if not column.nullable:
            assert spec.required or _has_default(column), f"{kind}.{name}: NOT NULL, no default"
        # types
        assert column_python_type(KIND_MODELS[kind], name) is COLUMN_TYPES[spec.type], (
            f"{kind}.{name}: the laptop column holds another type than the schema's"
        )
        # CHECK: every value the schema allows is allowed by the table
        if name in checks:
            assert spec.type is FieldType.CHOICE, f"{kind}.{name}: a CHECK on a free field"
            assert set(spec.choices) <= checks[name], f"{kind}.{name}: CHECK narrower"
        # lengths
        if isinstance(column.type, String) and column.type.length is not None:
            assert spec.max_length is not None and column.type.length >= spec.max_length, (
                f"{kind}.{name}: the column is shorter than the schema allows"
            )
    for name in checks:
        assert name in schema, f"{kind}: CHECK on {name}, which is not synced"


def test_every_text_field_has_a_maximum_length() -> None:
    for kind, schema in SCHEMA.items():
        for name, spec in schema.items():
            if spec.type in (FieldType.TEXT, FieldType.DATE, FieldType.DATETIME, FieldType.UUID):
                assert spec.max_length, f"{kind}.{name} has no maximum length"
    assert SCHEMA[RecordKind.NOTE]["text"].max_length == 100_000


def _edge(name: str, spec: FieldSpec, *, longest: bool) -> Any:
    """A value at the edge of what the schema allows."""
    if spec.type is FieldType.CHOICE:
        return spec.choices[-1 if longest else 0]
    if spec.type is FieldType.BOOL:
        return not longest
    if spec.type is FieldType.SIZE:
        return spec.maximum if longest else 0
    if spec.type is FieldType.DATE:
        return "9999-12-31" if longest else "0001-01-01"
    if spec.type is FieldType.DATETIME:
        return "9999-12-31T23:59:59.999999+00:00" if longest else "0001-01-01T00:00Z"
    if spec.type is FieldType.UUID:
        return str(uuid.uuid4()).upper() if longest else str(uuid.uuid4())
    if name == "ref":
        return "FC-9999-ZZZZZZZZ-999999" if longest else "FC-2026-K7Q-0001"
    if name == "type":
        return "a" + "z_9" * 16 + "x" if longest else "a"
    if name == "sha256":
        return "f" * 64 if longest else "0" * 64
    if name == "detail":  # an audit event's: ids and short codes
        return ("fields: person.name, " * spec.max_length)[: spec.max_length - 1] + "x"
    assert spec.max_length
    # four-byte characters, a combining mark and right-to-left text at the full length
    pattern = "\U0001d518e\u0301\u05d0 "
    return (pattern * spec.max_length)[: spec.max_length] if longest else "x"


def _records(kind: RecordKind, case_id: uuid.UUID) -> list[dict[str, Any]]:
    schema = SCHEMA[kind]
    longest = {name: _edge(name, spec, longest=True) for name, spec in schema.items()}
    shortest = {name: _edge(name, spec, longest=False) for name, spec in schema.items()}
    only_required = {
        name: (_edge(name, spec, longest=False) if spec.required else None)
        for name, spec in schema.items()
    }
    records = [longest, shortest, only_required]
    if kind is RecordKind.CASE:
        for fields in records:  # two cases never share a reference
            fields["ref"] = f"FC-2026-{uuid.uuid4().int % 10**6:06d}"
    for fields in records:
        assert check_record(kind, fields) == [], (kind, check_record(kind, fields))
    return records


def test_records_at_the_schemas_edges_are_stored_by_a_laptop(profile: Profile) -> None:
    case_id = uuid.uuid4()
    states = []
    sent: dict[uuid.UUID, dict[str, Any]] = {}
    for kind in RecordKind:
        for fields in _records(kind, case_id):
            record_id = case_id if kind is RecordKind.CASE and not sent else uuid.uuid4()
            states.append(
                RecordState(
                    kind=kind,
                    record_id=record_id,
                    case_id=record_id if kind is RecordKind.CASE else case_id,
                    version=1,
                    fields=fields,
                    updated_at=datetime(2026, 3, 1, tzinfo=UTC),
                    updated_by="sam",
                )
            )
            sent[record_id] = fields
    page = PullResponse(
        records=states, next_cursor="c1.1", more=False, server_time=datetime.now(UTC)
    )
    SyncAdapter(profile).apply_page(page)
    with profile.session() as session:
        for state in states:
            row = session.get(KIND_MODELS[state.kind], state.record_id)
            assert row is not None, (state.kind, state.fields)
            stored = record_fields(row)
            for name, value in state.fields.items():
                if value is None:
                    continue
                if SCHEMA[state.kind][name].type is FieldType.DATETIME:
                    assert datetime.fromisoformat(stored[name]) == datetime.fromisoformat(value)
                elif SCHEMA[state.kind][name].type is FieldType.UUID:
                    assert stored[name] == value.lower()
                else:
                    assert stored[name] == value, (state.kind, name)


def _allowed(spec: FieldSpec) -> str:
    if spec.type is FieldType.CHOICE:
        return ", ".join(f"`{c}`" for c in spec.choices)
    if spec.type is FieldType.SIZE:
        return f"a whole number from 0 to {spec.maximum:,} (1 TiB)"
    return {
        FieldType.DATE: "`YYYY-MM-DD`, a real date",
        FieldType.DATETIME: "ISO 8601 with a UTC offset (`+00:00` or `Z`)",
        FieldType.UUID: "a UUID (`8-4-4-4-12` hex digits)",
        FieldType.BOOL: "`true` or `false` (not 0 or 1)",
    }.get(spec.type, spec.form or "any text")


def _null_means(spec: FieldSpec) -> str:
    if spec.required:
        return "refused"
    if spec.default is None:
        return "not set"
    if isinstance(spec.default, bool):
        return f"`{str(spec.default).lower()}`"
    return f'`"{spec.default}"`' if isinstance(spec.default, str) else f"`{spec.default}`"


def schema_rows() -> list[str]:
    """The rows of docs/protocol.md's table of record fields, made from the schema."""
    rows = []
    for kind, schema in SCHEMA.items():
        for name, spec in schema.items():
            longest = f"{spec.max_length:,}" if spec.max_length else "-"
            required = "yes" if spec.required else "no"
            rows.append(
                f"| {kind.value} | `{name}` | {spec.type.value} | {required} | "
                f"{_allowed(spec)} | {longest} | {_null_means(spec)} |"
            )
    return rows


def test_docs_list_every_field_as_the_schema_says() -> None:
    from tests.support.server import ROOT

    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    missing = [row for row in schema_rows() if row not in text]
    assert not missing, "docs/protocol.md differs from sync.records.SCHEMA:\n" + "\n".join(missing)
