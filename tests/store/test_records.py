"""Records to and from the wire: every kind round-trips through upsert_record/record_fields."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from app.core import Casework
from app.store.models import KIND_MODELS, Person
from app.store.profile import Profile
from app.store.records import column_python_type, from_wire, record_fields, upsert_record
from sync.records import FIELDS, RecordKind


def sample(kind: RecordKind) -> dict[str, Any]:
    model = KIND_MODELS[kind]
    values: dict[str, Any] = {}
    for name in FIELDS[kind]:
        kind_of = column_python_type(model, name)
        if kind_of is datetime:
            values[name] = "2026-11-27T10:40:00+00:00"
        elif kind_of is date:
            values[name] = "2026-12-01"
        elif kind_of is UUID:
            values[name] = str(uuid4())
        elif kind_of is bool:
            values[name] = True
        elif kind_of is int:
            values[name] = 1234
        else:
            values[name] = f"{kind.value} {name}"
    return values


@pytest.mark.parametrize("kind", list(RecordKind), ids=str)
def test_every_kind_round_trips(profile: Profile, kind: RecordKind) -> None:
    fields = sample(kind)
    record_id, case_id = uuid4(), uuid4()
    with profile.session() as session, session.begin():
        upsert_record(session, kind, record_id, case_id, 3, fields)
    with profile.session() as session:
        row = session.get(KIND_MODELS[kind], record_id)
        assert row is not None and row.version == 3
        assert record_fields(row) == fields
        if kind is not RecordKind.CASE:
            assert row.case_id == case_id  # type: ignore[attr-defined]


def test_an_update_from_the_service_changes_only_what_it_names(
    profile: Profile, work: Casework
) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
    detail = work.get_case(ref, record_view=False)
    with profile.session() as session, session.begin():
        upsert_record(session, RecordKind.CASE, detail.id, detail.id, 4, {"summary": "Roof"})
        upsert_record(
            session, RecordKind.PERSON, detail.person_id, detail.id, 2, {"name": "Pat Jones"}
        )
    after = work.get_case(ref, record_view=False)
    assert after.version == 4 and after.fields["summary"] == "Roof"
    assert after.fields["status"] == "open" and after.person["name"] == "Pat Jones"
    with profile.session() as session:
        person = session.get(Person, detail.person_id)
        assert person is not None and person.sort_name == "jones pat"
    assert [r.ref for r in work.list_cases("jones roof")] == [ref]  # the index followed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("written_at", "2026-11-27T10:40:00"),  # no offset
        ("written_at", 12),
        ("text", 5),
    ],
)
def test_bad_wire_values_are_refused(field: str, value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        from_wire(KIND_MODELS[RecordKind.NOTE], field, value)


def test_wire_times_are_utc() -> None:
    moment = from_wire(KIND_MODELS[RecordKind.NOTE], "written_at", "2026-11-27T12:40:00+02:00")
    assert moment == datetime(2026, 11, 27, 10, 40, tzinfo=UTC)
