"""Pulled pages are written in bulk (app/store/bulk_apply.py): no ORM object per record, and
exactly the rows, search results and sync state the per-record path leaves, for a page with
every record kind, updates of records already here, a record with a local edit waiting to be
sent, an older version, conflicts and a removed case."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from app.core import Casework
from app.store.models import KIND_MODELS
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from sync.protocol import ConflictInfo, PullResponse, RecordState
from sync.records import RecordKind
from tests.support.profile import make_profile

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
SHA_A = "a" * 64
SHA_B = "b" * 64


def state(
    kind: RecordKind, record_id: UUID, case_id: UUID, fields: dict[str, Any], version: int = 1
) -> RecordState:
    return RecordState(
        kind=kind,
        record_id=record_id,
        case_id=case_id,
        version=version,
        fields=fields,
        updated_at=AT,
        updated_by="sam.okafor",
    )


class World:
    """Fixed ids of three cases and their records, so both profiles get the same pages."""

    def __init__(self) -> None:
        self.cases = [uuid4() for _ in range(3)]
        self.people = [uuid4() for _ in range(3)]
        self.warning, self.note, self.visit, self.document, self.audit = (uuid4() for _ in range(5))
        self.new_note, self.conflict = uuid4(), uuid4()

    def case(self, n: int, version: int = 1, **changes: Any) -> list[RecordState]:
        case_id, person_id = self.cases[n], self.people[n]
        fields = {
            "ref": f"FC-2026-0000{n + 1}",
            "type": "housing_repair",
            "status": "open",
            "priority": "normal",
            "summary": f"Damp in the bedroom of flat {n + 1}",
            "team": "North",
            "assigned_to": "sam.okafor",
            "next_review": "2027-01-15",
            "opened_on": "2026-11-01",
            "closed_on": None,
            "person_id": str(person_id),
        }
        person = {
            "name": f"Pat Morgan{'ston' * n}",
            "date_of_birth": "1950-02-03",
            "address": "1 Long Lane",
            "phone": "01234 567890",
            "preferred_contact": "phone",
            "language": "Welsh",
            "access_needs": "",
        }
        for name, value in changes.items():
            target = person if name.startswith("person_") else fields
            target[name.removeprefix("person_")] = value
        return [
            state(RecordKind.CASE, case_id, case_id, fields, version),
            state(RecordKind.PERSON, person_id, case_id, person, version),
        ]

    def first_page(self) -> PullResponse:
        c0 = self.cases[0]
        records = [
            # a note before its case, and people after theirs: the page's order is any order
            state(
                RecordKind.NOTE,
                self.note,
                c0,
                {
                    "text": "Visited: the boiler is broken",
                    "author": "sam.okafor",
                    "written_at": "2026-11-02T10:00:00+01:00",
                    "corrects": None,
                },
            ),
            *self.case(0),
            *self.case(1, person_external_ids="carefirst:C0001234"),
            *self.case(2),
            state(
                RecordKind.WARNING,
                self.warning,
                c0,
                {
                    "person_id": str(self.people[0]),
                    "text": "Dog on premises",
                    "category": "risk",
                    "active": True,
                    "added_by": "sam.okafor",
                    "added_at": AT.isoformat(),
                    "retired_by": None,
                    "retired_at": None,
                },
            ),
            state(
                RecordKind.VISIT,
                self.visit,
                c0,
                {
                    "title": "Home visit",
                    "kind": "visit",
                    "due": (AT + timedelta(days=3)).isoformat(),
                    "place": "1 Long Lane",
                    "status": "planned",
                    "done_at": None,
                    "outcome": None,
                    "outcome_note": None,
                },
            ),
            state(
                RecordKind.DOCUMENT,
                self.document,
                c0,
                {
                    "name": "photo.jpg",
                    "size": 1234,
                    "sha256": SHA_A,
                    "mime": "image/jpeg",
                    "added_by": "sam.okafor",
                    "added_at": AT.isoformat(),
                },
            ),
            state(
                RecordKind.AUDIT,
                self.audit,
                c0,
                {
                    "actor": "sam.okafor",
                    "action": "viewed",
                    "record_kind": "case",
                    "record_id": str(c0),
                    "at": AT.isoformat(),
                    "detail": "",
                },
            ),
        ]
        return PullResponse(records=records, next_cursor="c1.1", more=True, server_time=AT)

    def second_page(self) -> PullResponse:
        c0, c1 = self.cases[0], self.cases[1]
        records = [
            # case 0 has local edits of its summary and its person's name waiting: they stay
            *self.case(0, 2, summary="Roof leak", status="waiting", person_name="Pat Jones"),
            # case 1: a new reference, summary and person name (the search follows)
            *self.case(
                1,
                3,
                ref="FC-2026-00099",
                summary="Mould in the kitchen",
                person_name="Ann",
                person_external_ids="carefirst:C0001234\nliquidlogic:P-88121",
            ),
            state(  # an older version than the one here: skipped
                RecordKind.VISIT,
                self.visit,
                c0,
                {"title": "Old", "kind": "visit", "due": AT.isoformat(), "status": "planned"},
                version=0,
            ),
            state(  # new content of a document whose file is here: to be downloaded again
                RecordKind.DOCUMENT,
                self.document,
                c0,
                {"name": "photo2.jpg", "sha256": SHA_B, "added_at": AT.isoformat()},
                version=2,
            ),
            state(
                RecordKind.NOTE,
                self.new_note,
                c1,
                {
                    "text": "Rang the tenant about the ladder",
                    "author": "amy.jones",
                    "written_at": AT.isoformat(),
                    "corrects": str(self.note),
                },
            ),
        ]
        conflict = ConflictInfo(
            conflict_id=self.conflict,
            kind=RecordKind.CASE,
            record_id=c1,
            case_id=c1,
            field="priority",
            kept_value="high",
            kept_by="amy.jones",
            kept_at=AT,
            other_value="low",
            other_by="sam.okafor",
            other_at=AT + timedelta(minutes=5),
        )
        return PullResponse(
            records=records,
            removed_cases=[self.cases[2]],
            conflicts=[conflict],
            next_cursor="c1.2",
            more=False,
            server_time=AT + timedelta(hours=1),
        )


TABLES = (*(model.__tablename__ for model in KIND_MODELS.values()), "conflict", "search_doc")
WORDS = (
    *("pat", "jones", "morgan", "damp", "roof", "mould", "boiler", "ladder", "FC-2026-00099"),
    *("C0001234", "P-88121", "liquidlogic"),
)


def snapshot(profile: Profile) -> dict[str, Any]:
    """Every row the pull writes (outbox rows and local audit events aside: their ids and
    times are made here)."""
    with profile.engine.connect() as conn:
        tables = {
            table: sorted(
                tuple(row)
                for row in conn.execute(text(f"SELECT * FROM {table}"))
                if table != "audit_events" or row.version > 0
            )
            for table in TABLES
            if table != "search_doc"
        }
        tables["search"] = sorted(
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT d.doc_id, d.record_id, d.case_id, f.body FROM search_doc AS d"
                    " JOIN search_fts AS f ON f.rowid = d.doc_id"
                )
            )
        )
        tables["sync_state"] = sorted(
            tuple(row)
            for row in conn.execute(text("SELECT key, value FROM sync_state"))
            if row[0] != "device_credential"
        )
        tables["set_aside"] = sorted(
            tuple(row) for row in conn.execute(text("SELECT record_id FROM set_aside_record"))
        )
    work = Casework(profile)
    tables["found"] = {  # in the order the search lists them (most recently written first)
        word: ([row.ref for row in work.list_cases(word, limit=1000)], work.count_cases(word))
        for word in WORDS
    }
    return tables


def pull_both_ways(tmp_path: Path, world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same pages and local edit in two profiles: per record (the careful path) and in
    bulk (what apply_page does)."""
    seen = []
    for name, bulk in (("per_record", False), ("bulk", True)):
        with make_profile(tmp_path / name) as profile:
            adapter = SyncAdapter(profile)

            def apply(page: PullResponse, bulk: bool = bulk, adapter: SyncAdapter = adapter) -> int:
                return adapter.apply_page(page) if bulk else adapter._apply_page(page, careful=True)

            assert apply(world.first_page()) == 0
            Casework(profile).edit_case(
                "FC-2026-00001", {"summary": "Local summary", "person.name": "Pat Local"}
            )
            with profile.engine.begin() as conn:  # the document's file was downloaded
                conn.execute(text("UPDATE documents SET local_state = 'uploaded'"))
            assert apply(world.second_page()) == 0
            seen.append(snapshot(profile))
    return seen[0], seen[1]


def test_bulk_leaves_the_same_rows_and_search_as_the_per_record_path(tmp_path: Path) -> None:
    world = World()
    per_record, bulk = pull_both_ways(tmp_path, world)
    for key in per_record:
        assert bulk[key] == per_record[key], key
    # and what they both hold is right
    found = bulk["found"]
    assert found["pat"][0] == ["FC-2026-00001"]  # the local name, kept over the pulled one
    assert found["jones"] == ([], 0)
    assert found["roof"] == ([], 0)  # the local summary stays while its edit is unsent
    assert found["mould"] == (["FC-2026-00099"], 1)
    assert found["FC-2026-00099"][0] == ["FC-2026-00099"]
    assert found["boiler"][0] == ["FC-2026-00001"]
    assert found["ladder"][0] == ["FC-2026-00099"]
    assert found["damp"] == ([], 0)  # case 1's old summary is gone, case 2 was removed
    # by the ids the old systems knew its person by, the first and the one a merge added
    assert found["C0001234"] == (["FC-2026-00099"], 1)
    assert found["P-88121"] == found["liquidlogic"] == (["FC-2026-00099"], 1)
    people = {row[0]: row for row in bulk["people"]}
    assert people[world.people[0].hex][3] == "Pat Local"
    cases = {row[0]: row for row in bulk["cases"]}
    assert cases[world.cases[0].hex][1] == 2 and cases[world.cases[0].hex][4] == "waiting"
    assert world.cases[2].hex not in cases
    visits = {row[0]: row for row in bulk["visits"]}
    assert visits[world.visit.hex][1] == 1  # the older version was skipped
    documents = {row[0]: row for row in bulk["documents"]}
    assert documents[world.document.hex][-1] == "remote"
    assert len(bulk["conflict"]) == 1
    assert ("cursor", "c1.2") in bulk["sync_state"]


@contextmanager
def counting_models() -> Iterator[list[type]]:
    """Every SQLModel object made (constructed or loaded by the ORM) while inside."""
    made: list[type] = []
    original = SQLModel.__new__

    def counted(cls: type, *args: Any, **kwargs: Any) -> Any:
        made.append(cls)
        return original(cls, *args, **kwargs)

    SQLModel.__new__ = counted  # type: ignore[method-assign]
    try:
        yield made
    finally:
        SQLModel.__new__ = original  # type: ignore[method-assign]


@pytest.mark.parametrize("careful", [False, True])
def test_a_page_makes_no_orm_object_per_record(tmp_path: Path, careful: bool) -> None:
    world = World()
    with make_profile(tmp_path / "p") as profile:
        adapter = SyncAdapter(profile)
        adapter.apply_page(world.first_page())
        page = world.second_page()
        with counting_models() as made:
            if careful:  # the per-record fallback does make them: the count sees ORM objects
                adapter._apply_page(page, careful=True)
            else:
                adapter.apply_page(page)
    records = [cls for cls in made if cls in KIND_MODELS.values()]
    if careful:
        assert len(records) >= len(page.records) - 1
    else:
        assert made == []


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01T09:30:00+00:00",
        "2026-12-01T09:30:00.123456+00:00",
        "2026-12-01T09:30:00.5+00:00",
        "2026-12-01T09:30+00:00",
        "2026-12-01T09:30:00Z",
        "2026-12-01T10:30:00+01:00",
        "2026-03-29T00:30:00-05:00",
    ],
)
def test_a_date_time_is_stored_as_the_orm_stores_it(value: str) -> None:
    """The quick way for values already in UTC gives what parsing them gives."""
    from app.store.bulk_apply import _datetime

    parsed = datetime.fromisoformat(value).astimezone(UTC)
    assert _datetime(value) == parsed.isoformat(timespec="microseconds")


@pytest.mark.parametrize(
    "value",
    [
        "67fc6d08-b921-46f3-9874-11bf096f58a7",
        "1691B0DD-DC00-48BD-8782-9574AE4C5596",
        "e9b916f2b6fc4514b273aaf1ecd3131c",
    ],
)
def test_an_id_is_stored_as_32_hex_digits(value: str) -> None:
    from app.store.bulk_apply import _date, _uuid

    assert _uuid(value) == UUID(value).hex
    assert _date("2026-02-28") == "2026-02-28"
    with pytest.raises(ValueError):
        _date("2026-02-30")  # of the right form, but no such day


def _quick_and_careful(incoming: RecordState) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The new row the quick way makes and the one the careful way makes, column by column."""
    from app.store.bulk_apply import _new_row, _quick_row, kind_spec, refusal, stored_values

    assert refusal(incoming) is None
    spec = kind_spec(incoming.kind)
    record_id = incoming.record_id.hex
    made = _new_row(spec, incoming, stored_values(incoming), record_id, {})
    careful = dict(zip(spec.columns, made, strict=True))
    quick = _quick_row(spec, incoming, record_id, {})
    return (None if quick is None else dict(zip(spec.columns, quick, strict=True))), careful


def test_the_quick_way_makes_the_careful_ways_rows() -> None:
    """A new row taken from a record's fields at once (every field sent) is the row made field
    by field: converted ids and times, a null stored as its column's default, the person's
    sort key, a document to download; a record with a field not sent goes the careful way."""
    world = World()
    records = list(world.first_page().records)
    visit = next(r for r in records if r.kind is RecordKind.VISIT)
    note = next(r for r in records if r.kind is RecordKind.NOTE)
    records += [
        # nulls the service may send for fields whose column has a default
        visit.model_copy(update={"fields": {**visit.fields, "title": None, "status": None}}),
        # an id in capitals, a time in another offset with a fraction of a second
        note.model_copy(
            update={
                "fields": {
                    **note.fields,
                    "corrects": str(world.note).upper(),
                    "written_at": "2026-11-02T10:00:00.5-05:00",
                }
            }
        ),
    ]
    rows = []
    for incoming in records:
        quick, careful = _quick_and_careful(incoming)
        assert quick == careful, incoming.kind
        rows.append(quick)
    assert (rows[-2]["title"], rows[-2]["status"]) == ("Visit", "planned")
    assert rows[-1]["corrects"] == world.note.hex
    assert rows[-1]["written_at"] == "2026-11-02T15:00:00.500000+00:00"
    not_all_sent = visit.model_copy(
        update={"fields": {k: v for k, v in visit.fields.items() if k != "place"}}
    )
    quick, careful = _quick_and_careful(not_all_sent)
    assert quick is None and careful["place"] == ""
