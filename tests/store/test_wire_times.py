"""Date-times and dates from the wire are stored as what they are, at every depth.

The fields are found from ``sync.records.FIELDS`` and the models' own annotations, so a new
date or date-time field is covered without touching this file.
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Date

from app.store.models import KIND_MODELS
from app.store.profile import Profile
from app.store.records import from_wire, record_fields, to_wire
from app.store.sync_adapter import SyncAdapter
from app.store.types import UTCDateTime
from sync.protocol import PullResponse, RecordState
from sync.records import FIELDS, SCHEMA, RecordKind


def _annotated_type(kind: RecordKind, name: str) -> type | None:
    """The Python type the model declares for ``name`` (``X | None`` unwrapped)."""
    annotation = KIND_MODELS[kind].model_fields[name].annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = inner[0] if len(inner) == 1 else None
    return annotation if isinstance(annotation, type) else None


def _fields_of(wanted: type) -> list[tuple[RecordKind, str]]:
    return [
        (kind, name)
        for kind, names in FIELDS.items()
        for name in names
        if _annotated_type(kind, name) is wanted
    ]


DATETIME_FIELDS = _fields_of(datetime)
DATE_FIELDS = _fields_of(date)  # datetime is a subclass of date, but `is` keeps them apart

#: The same instants written with different offsets, as another laptop or the service might.
WIRE_DATETIMES = [
    ("2026-11-27T10:40:00+00:00", datetime(2026, 11, 27, 10, 40, tzinfo=UTC)),
    ("2026-11-27T12:40:00.123456+02:00", datetime(2026, 11, 27, 10, 40, 0, 123456, tzinfo=UTC)),
    ("2026-03-29T00:30:00-05:30", datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
    ("2026-12-31T23:59:59Z", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)),
]
WIRE_DATES = ["2026-11-27", "2024-02-29", "1931-01-01"]


def _ids(pair: tuple[RecordKind, str]) -> str:
    return f"{pair[0].value}.{pair[1]}"


def test_the_time_fields_are_found() -> None:
    # Guards the enumeration itself: if annotations changed shape, the tests below would run
    # over nothing and prove nothing.
    assert {kind for kind, _ in DATETIME_FIELDS} >= {
        kind for kind in RecordKind if kind is not RecordKind.CASE and kind is not RecordKind.PERSON
    }
    assert {kind for kind, _ in DATE_FIELDS} == {RecordKind.CASE, RecordKind.PERSON}
    for kind, name in DATETIME_FIELDS:
        column = KIND_MODELS[kind].__table__.c[name]  # type: ignore[attr-defined]
        assert isinstance(column.type, UTCDateTime), f"{kind}.{name} is not stored as UTC"
    for kind, name in DATE_FIELDS:
        column = KIND_MODELS[kind].__table__.c[name]  # type: ignore[attr-defined]
        assert isinstance(column.type, Date), f"{kind}.{name} is not stored as a date"


@pytest.mark.parametrize("pair", DATETIME_FIELDS, ids=_ids)
def test_every_datetime_field_round_trips(pair: tuple[RecordKind, str]) -> None:
    kind, name = pair
    model = KIND_MODELS[kind]
    for text, instant in WIRE_DATETIMES:
        value = from_wire(model, name, text)
        assert isinstance(value, datetime)
        assert value.utcoffset() == timedelta(0)
        assert value == instant
        wire = to_wire(value)
        assert wire.endswith("+00:00")
        assert from_wire(model, name, wire) == instant
        assert to_wire(from_wire(model, name, wire)) == wire
    assert from_wire(model, name, None) is None
    aware = datetime(2026, 11, 27, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    assert from_wire(model, name, aware) == aware and from_wire(model, name, aware).tzinfo is UTC


@pytest.mark.parametrize("pair", DATETIME_FIELDS, ids=_ids)
@pytest.mark.parametrize(
    "bad",
    ["2026-11-27T10:40:00", "2026-11-27", "yesterday", 1764240000, True, datetime(2026, 11, 27)],
    ids=["naive-text", "date-only", "words", "number", "bool", "naive-datetime"],
)
def test_a_datetime_field_refuses_naive_and_non_times(
    pair: tuple[RecordKind, str], bad: object
) -> None:
    kind, name = pair
    with pytest.raises(ValueError):
        from_wire(KIND_MODELS[kind], name, bad)


@pytest.mark.parametrize("pair", DATE_FIELDS, ids=_ids)
def test_every_date_field_round_trips(pair: tuple[RecordKind, str]) -> None:
    kind, name = pair
    model = KIND_MODELS[kind]
    for text in WIRE_DATES:
        value = from_wire(model, name, text)
        assert type(value) is date
        assert value == date.fromisoformat(text)
        assert to_wire(value) == text
    assert from_wire(model, name, None) is None
    for bad in ("2026-11-27T10:40:00+00:00", "27/11/2026", 20261127, datetime.now(UTC)):
        with pytest.raises(ValueError):
            from_wire(model, name, bad)


def _wire_value(kind: RecordKind, name: str, serial: int, person_id: UUID) -> Any:
    declared = _annotated_type(kind, name)
    if declared is datetime:
        text, _ = WIRE_DATETIMES[serial % len(WIRE_DATETIMES)]
        return text
    if declared is date:
        return WIRE_DATES[serial % len(WIRE_DATES)]
    if declared is UUID:
        return str(person_id) if name == "person_id" else str(uuid4())
    if declared is bool:
        return True
    if declared is int:
        return 1000 + serial
    spec = SCHEMA[kind][name]  # other values as the shared record schema allows them
    if spec.choices:
        return spec.choices[0]
    return {"ref": "FC-2026-00042", "type": "housing_repair", "sha256": "ab" * 32}.get(
        name, f"{kind.value} {name}"
    )


def test_a_pulled_record_with_times_is_stored_and_read_back_equal(profile: Profile) -> None:
    case_id, person_id = uuid4(), uuid4()
    states: list[RecordState] = []
    serial = 0
    for kind in RecordKind:
        fields: dict[str, Any] = {}
        for name in FIELDS[kind]:
            fields[name] = _wire_value(kind, name, serial, person_id)
            serial += 1
        record_id = {RecordKind.CASE: case_id, RecordKind.PERSON: person_id}.get(kind, uuid4())
        states.append(
            RecordState(
                kind=kind,
                record_id=record_id,
                case_id=case_id,
                version=2,
                fields=fields,
                updated_at=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
                updated_by="sam.okafor",
            )
        )
    page = PullResponse(
        records=states,
        next_cursor="c1",
        more=False,
        server_time=datetime(2026, 11, 27, 10, 1, tzinfo=UTC),
    )
    adapter = SyncAdapter(profile)
    adapter.apply_page(page)
    assert adapter.cursor() == "c1"

    checked = 0
    with profile.session() as session:
        for state in states:
            model = KIND_MODELS[state.kind]
            row = session.get(model, state.record_id)
            assert row is not None, f"pulled {state.kind} was not stored"
            assert row.version == 2
            expected = {
                name: to_wire(from_wire(model, name, value)) for name, value in state.fields.items()
            }
            assert record_fields(row) == expected
            for name, value in state.fields.items():
                declared = _annotated_type(state.kind, name)
                stored = getattr(row, name)
                if declared is datetime:
                    instant = dict(WIRE_DATETIMES)[value]
                    assert isinstance(stored, datetime) and stored.tzinfo is not None
                    assert stored == instant
                    checked += 1
                elif declared is date:
                    assert type(stored) is date and stored == date.fromisoformat(value)
                    checked += 1
    assert checked == len(DATETIME_FIELDS) + len(DATE_FIELDS)
