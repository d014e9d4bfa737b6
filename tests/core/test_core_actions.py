"""The core actions on a real encrypted profile: outbox, references, search, My day, errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from app.core import (
    CaseFilter,
    CaseSort,
    Casework,
    InvalidValue,
    NewCase,
    UnknownCase,
    UnknownRecord,
)
from app.errors import UsageError
from app.store.errors import DiskFull
from app.store.profile import Profile
from app.store.tables import Outbox, RefBlock, SyncState
from sync.clock import ManualClock
from sync.records import FIELDS, RecordKind


def outbox(profile: Profile) -> list[Outbox]:
    with profile.session() as session:
        return list(session.exec(select(Outbox).order_by(Outbox.seq)).all())


def counts(profile: Profile) -> dict[str, int]:
    with profile.engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("cases", "people", "notes", "outbox", "audit_events", "search_doc")
        }


# ------------------------------------------------------------------------------ outbox


def test_every_change_writes_one_change_per_record_with_only_its_fields(
    profile: Profile, work: Casework
) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
    rows = [r for r in outbox(profile) if r.kind != "audit"]
    assert [r.kind for r in rows] == ["person", "case"]
    assert all(r.base_version == 0 for r in rows)
    assert set(json.loads(rows[1].fields)) == set(FIELDS[RecordKind.CASE])
    assert set(json.loads(rows[0].fields)) == set(FIELDS[RecordKind.PERSON])
    case_id = work.get_case(ref, record_view=False).id
    assert rows[1].record_id == case_id and rows[1].case_id == case_id

    # the laptop now holds version 7 of the case (as after a sync)
    with profile.session() as session, session.begin():
        session.connection().execute(
            text("UPDATE cases SET version = 7 WHERE id = :id"), {"id": case_id.hex}
        )
    assert work.edit_case(ref, {"priority": "urgent", "person.phone": "0123"}) == [
        "priority",
        "person.phone",
    ]
    latest = [r for r in outbox(profile) if r.kind != "audit"][-2:]
    by_kind = {r.kind: r for r in latest}
    assert json.loads(by_kind["case"].fields) == {"priority": "urgent"}
    assert by_kind["case"].base_version == 7
    assert json.loads(by_kind["person"].fields) == {"phone": "0123"}
    # nothing changed, nothing queued
    before = len(outbox(profile))
    assert work.edit_case(ref, {"priority": "urgent"}) == []
    assert len(outbox(profile)) == before


def test_a_failure_mid_action_leaves_neither_the_change_nor_its_outbox_entry(
    profile: Profile, work: Casework
) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    before = counts(profile)
    with profile.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox "
                "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
            )
        )
    with pytest.raises(SQLAlchemyError):
        work.create_case("housing_repair", "Never Saved", {})
    with pytest.raises(SQLAlchemyError):
        work.add_note(ref, "never saved either")
    assert counts(profile) == before
    assert work.list_cases("never") == []
    with profile.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_outbox"))
    work.add_note(ref, "saved now")
    assert counts(profile)["notes"] == before["notes"] + 1


def test_pending_counts_changes_not_audit_events(profile: Profile, work: Casework) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    assert work.pending_count() == 2
    work.get_case(ref)
    work.get_case(ref)
    assert work.pending_count() == 2
    assert work.get_case(ref).pending == 2
    actions = [a.action for a in work.audit(ref)]
    assert actions[0] == "created" and actions.count("viewed") == 3


# ------------------------------------------------------------------------- references


def test_references_come_from_blocks_then_fall_back_to_the_laptop_code(
    profile: Profile, work: Casework
) -> None:
    year = work.clock.local_today().year
    code = profile.laptop_code
    assert 3 <= len(code) <= 4
    assert work.create_case("housing_repair", "A One", {}) == f"FC-{year}-{code}-0001"
    with profile.session() as session, session.begin():
        session.add(RefBlock(year=year, start=41, end=42, next=41))
        session.add(RefBlock(year=year - 1, start=900, end=999, next=900))  # last year's
    assert work.create_case("housing_repair", "A Two", {}) == f"FC-{year}-00041"
    assert work.create_case("housing_repair", "A Three", {}) == f"FC-{year}-00042"
    assert work.create_case("housing_repair", "A Four", {}) == f"FC-{year}-{code}-0002"
    with profile.session() as session, session.begin():
        session.add(SyncState(key="device_code", value="K7Q"))
    assert work.create_case("housing_repair", "A Five", {}) == f"FC-{year}-K7Q-0001"
    refs = work.create_cases_bulk(NewCase("housing_repair", f"B {i}") for i in range(3))
    assert refs == [f"FC-{year}-K7Q-{n:04d}" for n in (2, 3, 4)]
    assert len(set(work.refs())) == 8


# ------------------------------------------------------------------- listing and search


@pytest.fixture
def seeded(work: Casework) -> dict[str, str]:
    people = {
        "Pat Morgan": {"summary": "Damp in the back bedroom", "priority": "high"},
        "Siân O'Neill": {"summary": "Carer assessment", "status": "waiting"},
        "Ann Zeller": {"summary": "Grab rails", "priority": "urgent"},
        "Bob Adams": {"summary": "Noise complaint", "status": "closed"},
    }
    refs = {
        name: work.create_case("housing_repair", name, fields) for name, fields in people.items()
    }
    work.add_note(refs["Ann Zeller"], "Measured the bathroom for the rails.")
    return refs


def test_search_finds_names_refs_summaries_and_notes_by_prefix(
    work: Casework, seeded: dict[str, str]
) -> None:
    def found(query: str) -> set[str]:
        return {r.ref for r in work.list_cases(query)}

    assert found("morg") == {seeded["Pat Morgan"]}
    assert found("sian") == {seeded["Siân O'Neill"]}  # accents do not matter
    assert found("BEDRO") == {seeded["Pat Morgan"]}
    assert found("bathroom") == {seeded["Ann Zeller"]}
    assert found(seeded["Bob Adams"]) == {seeded["Bob Adams"]}
    assert found(seeded["Bob Adams"][:-1]) >= {seeded["Bob Adams"]}
    assert found("ann rails") == {seeded["Ann Zeller"]}
    assert found("ann drums") == set()
    assert found('"); DROP TABLE cases; --') == set()
    assert len(found("   ")) == 4  # no words: no search
    assert work.count_cases("a") == len(work.list_cases("a"))


def test_any_typed_text_searches_and_never_fails(work: Casework, seeded: dict[str, str]) -> None:
    """The index keeps no word positions, so a "word" it would split in two (a phrase) is
    never sent to it: ``_`` separates words as the index does; a letter newer than the index's
    Unicode tables (U+08A1, Unicode 7) is part of a word, as it is there."""

    def found(query: str) -> set[str]:
        assert work.count_cases(query) == len(work.list_cases(query))
        return {r.ref for r in work.list_cases(query)}

    assert found("ann_rails") == {seeded["Ann Zeller"]}
    assert found("pat_drums") == set()
    assert found("morgan b\u08a1x") == set()
    assert found("siân_o") == {seeded["Siân O'Neill"]}
    assert found("-_-") == found("") == found("   ")  # no words: no search
    assert found("SIÂN") == {seeded["Siân O'Neill"]}


def test_a_search_lists_the_newest_matches_first_and_counts_up_to_a_cap(
    work: Casework, seeded: dict[str, str]
) -> None:
    newest = work.create_case("housing_repair", "Ann Newman", {"summary": "rails again"})
    assert [r.ref for r in work.list_cases("rails")] == [newest, seeded["Ann Zeller"]]
    assert [r.ref for r in work.list_cases("rails", offset=1)] == [seeded["Ann Zeller"]]
    assert [r.ref for r in work.list_cases("rails", sort=CaseSort.NAME)] == [
        newest,
        seeded["Ann Zeller"],
    ]
    assert work.count_cases("ann") == 2  # words start with it; "assessment" does not count
    assert work.count_cases("ann", cap=1) == 1
    assert work.count_cases(cap=1) == 1
    assert work.count_cases("ann", CaseFilter(priority="urgent")) == 1
    assert [r.ref for r in work.list_cases("ann", CaseFilter(priority="urgent"))] == [
        seeded["Ann Zeller"]
    ]


def test_a_reference_is_found_through_its_own_index(work: Casework, seeded: dict[str, str]) -> None:
    ref = seeded["Pat Morgan"]
    assert [r.ref for r in work.list_cases(ref.lower())] == [ref]
    prefix = ref.rsplit("-", 1)[0] + "-"  # FC-2026-CODE-
    assert [r.ref for r in work.list_cases(prefix)] == sorted(seeded.values())
    assert work.count_cases(prefix) == 4 and work.count_cases(prefix, cap=2) == 2
    assert work.count_cases(prefix, CaseFilter(status="waiting")) == 1
    assert work.list_cases("FC-1999-") == [] and work.count_cases("FC-1999") == 0


def test_search_follows_edits(work: Casework, seeded: dict[str, str]) -> None:
    ref = seeded["Pat Morgan"]
    work.edit_case(ref, {"person.name": "Patricia Jones", "summary": "Leaking roof"})
    assert [r.ref for r in work.list_cases("patricia roof")] == [ref]
    assert work.list_cases("morgan") == []
    assert work.list_cases("bedroom") == []


def test_filters_sorting_and_paging(work: Casework, seeded: dict[str, str]) -> None:
    names = [r.person_name for r in work.list_cases(sort=CaseSort.NAME)]
    assert names == ["Bob Adams", "Pat Morgan", "Siân O'Neill", "Ann Zeller"]
    by_priority = [r.priority for r in work.list_cases(sort=CaseSort.PRIORITY)]
    assert by_priority == ["urgent", "high", "normal", "normal"]
    assert [r.person_name for r in work.list_cases(filters=CaseFilter(status="waiting"))] == [
        "Siân O'Neill"
    ]
    assert work.count_cases(filters=CaseFilter(open_only=True)) == 3
    assert [r.person_name for r in work.list_cases(sort=CaseSort.NAME, descending=True)] == [
        "Ann Zeller",
        "Siân O'Neill",
        "Pat Morgan",
        "Bob Adams",
    ]
    work.edit_case(seeded["Bob Adams"], {"next_review": "2026-01-01"})
    work.edit_case(seeded["Ann Zeller"], {"next_review": "2030-01-01"})
    due = work.list_cases(filters=CaseFilter(review_due_by=date(2026, 6, 1)))
    assert [r.ref for r in due] == [seeded["Bob Adams"]]
    assert work.ref_for(due[0].case_id) == seeded["Bob Adams"]
    page = work.list_cases(sort=CaseSort.NAME, offset=1, limit=2)
    assert [r.person_name for r in page] == ["Pat Morgan", "Siân O'Neill"]
    with pytest.raises(InvalidValue, match="sorted by"):
        work.list_cases(sort="colour")


def test_closing_sets_closed_on_and_reopening_clears_it(
    work: Casework, seeded: dict[str, str]
) -> None:
    ref = seeded["Pat Morgan"]
    work.edit_case(ref, {"status": "closed"})
    assert work.get_case(ref).fields["closed_on"] == work.clock.local_today()
    work.edit_case(ref, {"status": "open"})
    assert work.get_case(ref).fields["closed_on"] is None


# ----------------------------------------------------------------- visits and my day


def test_my_day_lists_todays_and_overdue_visits_with_warnings(profile: Profile) -> None:
    # A fixed morning: at 23:30 "today at 23:00" would itself be overdue.
    clock = ManualClock(datetime(2026, 11, 12, 9, 5, tzinfo=UTC), zone=timezone(timedelta(hours=1)))
    work = Casework(profile, clock=clock)
    ref = work.create_case("adult_social_care", "Pat Morgan", {})
    other = work.create_case("adult_social_care", "Kim Ode", {})
    work.add_warning(ref, "Dog on premises")
    now = clock.now()
    today = clock.local_today()
    overdue = work.add_visit(ref, now - timedelta(days=2), "19 Hughes Road")
    due_today = work.add_visit(
        other, datetime.combine(today, time(23, 0), tzinfo=clock.local_zone()), "Village hall"
    )
    later = work.add_visit(ref, now + timedelta(days=3), "Office")
    rows = work.my_day(today)
    assert [r.visit_id for r in rows] == [overdue, due_today]
    assert rows[0].overdue and not rows[1].overdue
    assert rows[0].warnings == ["Dog on premises"] and rows[1].warnings == []
    assert rows[0].person_name == "Pat Morgan" and rows[0].place == "19 Hughes Road"

    note_id = work.complete_visit(str(overdue)[:8], "Visited; all well.")
    assert note_id is not None
    detail = work.get_case(ref, record_view=False)
    assert [v.status for v in detail.visits] == ["done", "planned"]
    assert detail.notes[-1].id == note_id
    assert [r.visit_id for r in work.my_day(today)] == [due_today]
    assert later in [r.visit_id for r in work.my_day(today + timedelta(days=3))]
    with pytest.raises(UsageError, match="already done"):
        work.complete_visit(overdue)


def test_dates_and_times_are_read_as_local_time_and_stored_as_utc(work: Casework) -> None:
    ref = work.create_case("adult_social_care", "Pat Morgan", {})
    visit_id = work.add_visit(ref, "2026-12-01T10:30", "Home")
    due = work.get_case(ref, record_view=False).visits[0].due
    assert due.utcoffset() == timedelta(0)
    assert due == datetime(2026, 12, 1, 10, 30).astimezone().astimezone(UTC)
    assert isinstance(visit_id, UUID)
    with pytest.raises(InvalidValue, match="2026-12-01T10:30"):
        work.add_visit(ref, "tomorrow", "Home")


# ---------------------------------------------------------------------- bad input


def test_plain_messages_for_bad_input(work: Casework) -> None:
    with pytest.raises(UnknownCase) as caught:
        work.get_case("fc-2026-00099")
    assert str(caught.value) == (
        "There is no case FC-2026-00099 on this laptop. Check the reference, or sync to fetch "
        "new cases."
    )
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    with pytest.raises(InvalidValue, match="next_review must be a date like 2026-12-01"):
        work.edit_case(ref, {"next_review": "next week"})
    with pytest.raises(InvalidValue, match="no field called 'colour'"):
        work.edit_case(ref, {"colour": "red"})
    with pytest.raises(InvalidValue, match="cannot be empty") as refused:
        work.create_case("housing_repair", "   ", {})
    assert refused.value.field == "person.name"
    with pytest.raises(InvalidValue) as refused:
        work.edit_case(ref, {"person.phone": "01308", "next_review": "soon"})
    assert refused.value.field == "next_review"
    with pytest.raises(InvalidValue, match="note cannot be empty"):
        work.add_note(ref, "  ")
    with pytest.raises(InvalidValue, match="risk, access, health, other"):
        work.add_warning(ref, "Dog", category="dogs")
    with pytest.raises(UnknownRecord, match="There is no note"):
        work.add_note(ref, "fix", corrects="00000000-0000-0000-0000-000000000000")
    other = work.create_case("housing_repair", "Kim Ode", {})
    foreign = work.add_note(other, "on another case")
    with pytest.raises(UnknownRecord, match="note"):
        work.add_note(ref, "fix", corrects=foreign)


def test_required_fields_are_the_cores_rule(work: Casework) -> None:
    """A required field may not be emptied, whoever asks (the window and the CLI alike); the
    refusal names the field and nothing is written."""
    from app.core.fields import CASE_FIELDS, PERSON_FIELDS

    required = {n for n, s in {**CASE_FIELDS, **PERSON_FIELDS}.items() if s.required}
    assert required == {"summary", "assigned_to", "person.name"}
    ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
    before = work.get_case(ref, record_view=False)
    for name in sorted(required):
        with pytest.raises(InvalidValue) as refused:
            work.edit_case(ref, {"priority": "high", name: "   "})
        assert refused.value.field == name
        assert refused.value.exit_code == 2
    after = work.get_case(ref, record_view=False)
    assert after.fields == before.fields and after.person == before.person
    assert after.pending == before.pending
    with pytest.raises(InvalidValue, match="short summary") as refused:
        work.create_case("housing_repair", "Kim Ode", {"summary": ""})
    assert refused.value.field == "summary"
    assert work.refs() == [ref]
    assert work.edit_case(ref, {"summary": "Damp and mould"}) == ["summary"]


def test_a_full_disk_is_a_plain_message_and_nothing_is_saved(
    profile: Profile, work: Casework
) -> None:
    work.create_case("housing_repair", "Pat Morgan", {})
    with profile.engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()

    @event.listens_for(profile.engine, "connect")
    def _cap(dbapi_connection: object, record: object) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 2}")  # type: ignore[attr-defined]

    profile.engine.dispose()  # new connections get the cap: the "disk" is nearly full
    before = work.count_cases()
    with pytest.raises(DiskFull) as caught:
        work.create_cases_bulk(
            NewCase("housing_repair", f"Person {i}", {"summary": "x" * 500}) for i in range(500)
        )
    assert "The disk is full" in str(caught.value) and "Nothing was saved" in str(caught.value)
    assert work.count_cases() == before
    # reading still works, even though the view cannot be recorded
    assert work.get_case(work.refs()[0]).person["name"] == "Pat Morgan"


def test_bulk_creation_goes_through_the_same_checks(work: Casework) -> None:
    with pytest.raises(InvalidValue):
        work.create_cases_bulk(
            [NewCase("housing_repair", "Fine"), NewCase("housing_repair", "Bad", {"status": "x"})]
        )
    assert work.count_cases() == 0  # all or nothing
    refs = work.create_cases_bulk(NewCase("safeguarding", f"Person {i}") for i in range(1200))
    assert len(set(refs)) == 1200 == work.count_cases()
    assert work.pending_count() == 2400
    found = {r.ref: r.person_name for r in work.list_cases("person 1199")}
    assert found[refs[-1]] == "Person 1199"


def test_documents_round_trip_and_missing_files(work: Casework, tmp_path: Path) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    source = tmp_path / "form.pdf"
    source.write_bytes(bytes(range(256)) * 9000)  # > 2 chunks
    doc_id = work.add_document(ref, source)
    stored = work.document_path(doc_id)
    assert stored.exists() and source.read_bytes()[:64] not in stored.read_bytes()
    out = work.read_document(ref, "form.pdf", tmp_path / "out.pdf")
    assert out.read_bytes() == source.read_bytes()
    with work.open_document(doc_id) as reader:
        assert reader.read() == source.read_bytes()
    view = work.get_case(ref, record_view=False).documents[0]
    assert (view.name, view.size, view.mime) == (
        "form.pdf",
        source.stat().st_size,
        "application/pdf",
    )
    with pytest.raises(InvalidValue, match="There is no file"):
        work.add_document(ref, tmp_path / "nope.pdf")
    with pytest.raises(InvalidValue, match="There is no folder"):
        work.read_document(ref, "form.pdf", tmp_path / "no" / "such" / "folder.pdf")
    with pytest.raises(UnknownRecord, match=r"form\.pdf"):
        work.read_document(ref, "other.pdf", tmp_path / "x")


def test_what_the_service_would_refuse_is_refused_on_the_laptop(work: Casework) -> None:
    """The shared record schema's limits hold when a person types: a note over 100,000
    characters, a summary over its limit, a NUL in a name are refused with the field named,
    in plain words, and nothing is written (so nothing waits to be refused by the service)."""
    from sync.records import SCHEMA

    ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
    before = work.get_case(ref, record_view=False)
    longest = SCHEMA[RecordKind.NOTE]["text"].max_length
    assert longest == 100_000
    with pytest.raises(InvalidValue, match="note's text is longer than 100,000") as refused:
        work.add_note(ref, "x" * (longest + 1))
    assert refused.value.field == "text" and refused.value.exit_code == 2
    summary_limit = SCHEMA[RecordKind.CASE]["summary"].max_length
    assert summary_limit is not None
    with pytest.raises(InvalidValue, match="case's summary") as refused:
        work.edit_case(ref, {"summary": "y" * (summary_limit + 1)})
    assert refused.value.field == "summary"
    with pytest.raises(InvalidValue) as refused:
        work.edit_case(ref, {"person.name": "Pat\x00Morgan"})
    assert refused.value.field == "person.name"
    after = work.get_case(ref, record_view=False)
    assert after.fields == before.fields and after.person == before.person
    assert after.pending == before.pending and len(after.notes) == len(before.notes)
    work.add_note(ref, "x" * longest)  # the limit itself is fine
    assert len(work.get_case(ref, record_view=False).notes) == len(before.notes) + 1


def test_dates_may_be_written_day_first_as_in_the_uk(work: Casework) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {"person.date_of_birth": "30/04/1950"})
    assert work.get_case(ref).person["date_of_birth"] == date(1950, 4, 30)
    work.edit_case(ref, {"next_review": "1 Dec 2026", "person.date_of_birth": "4.5.1951"})
    detail = work.get_case(ref)
    assert detail.next_review == date(2026, 12, 1)
    assert detail.person["date_of_birth"] == date(1951, 5, 4)  # day first: 4 May
    for bad in ("31/02/2026", "12/31/2026", "1 Dec"):
        with pytest.raises(InvalidValue, match="day first"):
            work.edit_case(ref, {"next_review": bad})
