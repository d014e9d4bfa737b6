"""A pulled record this laptop cannot store is set aside, never wedging the pull: the good
records of its page are stored, the cursor moves on, the service is told once, and the data
file's own troubles (full disk, read-only, locked) stop the page instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from app.doctor.checks import Status, check_set_aside, read_profile_facts
from app.store import set_aside, state
from app.store.models import Case, Note
from app.store.profile import Profile
from app.store.sync_adapter import StoreStopped, SyncAdapter
from app.store.tables import Outbox
from sync import records as sync_records
from sync.engine import SyncReport
from sync.protocol import PullResponse, RecordState
from sync.records import AUDIT_ACTIONS, FieldProblem, RecordKind

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
PERSONAL = ("Pat Morgan", "FC-2026-", "secret", "Visit note")


def record(
    kind: RecordKind,
    fields: dict[str, Any],
    *,
    case_id: UUID,
    record_id: UUID | None = None,
    version: int = 1,
) -> RecordState:
    return RecordState(
        kind=kind,
        record_id=record_id or uuid4(),
        case_id=case_id,
        version=version,
        fields=fields,
        updated_at=AT,
        updated_by="sam.okafor",
    )


def a_case(ref: str | None, *, case_id: UUID | None = None, **changes: Any) -> list[RecordState]:
    """A case and its person (good unless ``changes`` spoil the case's fields)."""
    case_id = case_id or uuid4()
    person_id = uuid4()
    fields = {
        "ref": ref,
        "type": "housing_repair",
        "status": "open",
        "priority": "normal",
        "summary": "Damp in the bedroom",
        "team": "North",
        "assigned_to": "sam.okafor",
        "next_review": None,
        "opened_on": "2026-11-01",
        "closed_on": None,
        "person_id": str(person_id),
        **changes,
    }
    return [
        record(RecordKind.CASE, fields, case_id=case_id, record_id=case_id),
        record(
            RecordKind.PERSON,
            {"name": "Pat Morgan", "address": "1 Long Lane"},
            case_id=case_id,
            record_id=person_id,
        ),
    ]


def a_note(
    case_id: UUID, *, record_id: UUID | None = None, version: int = 1, **changes: Any
) -> RecordState:
    fields = {
        "text": "Visit note: secret details",
        "author": "sam.okafor",
        "written_at": AT.isoformat(),
        "corrects": None,
        **changes,
    }
    return record(RecordKind.NOTE, fields, case_id=case_id, record_id=record_id, version=version)


def page(
    records: list[RecordState], cursor: str, removed: list[UUID] | None = None
) -> PullResponse:
    return PullResponse(
        records=records,
        removed_cases=removed or [],
        next_cursor=cursor,
        more=False,
        server_time=AT,
    )


def set_aside_rows(profile: Profile) -> dict[UUID, set_aside.SetAside]:
    with profile.engine.connect() as conn:
        return {row.record_id: row for row in set_aside.listing(conn)}


def reports(profile: Profile) -> list[dict[str, Any]]:
    """The set_aside audit events waiting in the outbox for the service."""
    with profile.session() as s:
        rows = s.exec(select(Outbox).where(Outbox.kind == RecordKind.AUDIT.value)).all()
    fields = [json.loads(row.fields) for row in rows]
    return [f for f in fields if f["action"] == set_aside.ACTION]


def notes(profile: Profile) -> dict[UUID, Note]:
    with profile.session() as s:
        return {n.id: n for n in s.exec(select(Note)).all()}


@pytest.fixture
def adapter(profile: Profile) -> SyncAdapter:
    return SyncAdapter(profile)


def test_bad_records_are_set_aside_and_the_rest_of_the_page_is_stored(
    profile: Profile, adapter: SyncAdapter
) -> None:
    good = a_case("FC-2026-00001")
    case_id = good[0].record_id
    good_note = a_note(case_id)
    no_author = a_note(case_id, author=None)
    bad_date = a_note(case_id, written_at="notadate")
    wrong_type = a_case("FC-2026-00002", priority=42)
    no_ref = a_case(None)
    same_ref = a_case("FC-2026-00001")  # another case with a reference already here
    lone_surrogate = a_note(case_id, text="half a pair \ud800 here")
    records = [
        *good,
        no_author,
        good_note,
        bad_date,
        *wrong_type,
        *no_ref,
        *same_ref,
        lone_surrogate,
    ]
    assert adapter.apply_page(page(records, "c1.10")) == 6

    # the cursor moved past everything: the team's sync never wedges on these
    assert adapter.cursor() == "c1.10"
    with profile.session() as s:
        refs = sorted(c.ref for c in s.exec(select(Case)).all())
    assert refs == ["FC-2026-00001"]
    stored_notes = notes(profile)
    assert set(stored_notes) == {good_note.record_id}
    # the people of every case are stored: only the bad records themselves are held back
    expected = {
        no_author.record_id: set_aside.MISSING,
        bad_date.record_id: set_aside.WRONG_TYPE,
        wrong_type[0].record_id: set_aside.WRONG_TYPE,
        no_ref[0].record_id: set_aside.MISSING,
        same_ref[0].record_id: set_aside.DUPLICATE,
        lone_surrogate.record_id: set_aside.BAD_TEXT,
    }
    rows = set_aside_rows(profile)
    assert {rid: row.reason_code for rid, row in rows.items()} == expected
    for row in rows.values():
        assert row.app_version == set_aside.APP_VERSION
        assert row.set_aside_at.tzinfo is not None
        assert not any(word in row.reason for word in PERSONAL), row.reason
    assert "author" in rows[no_author.record_id].reason
    assert "ref" in rows[same_ref[0].record_id].reason
    # the raw record is kept, exactly as it came (even the text SQLite could not take)
    with profile.engine.connect() as conn:
        raw = set_aside.raw_record(conn, lone_surrogate.record_id)
    assert raw is not None and raw["fields"]["text"] == "half a pair \ud800 here"

    # each is reported to the service once: record kind, id and the reason's code only
    sent = reports(profile)
    assert sorted((r["record_id"], r["detail"]) for r in sent) == sorted(
        (str(rid), code) for rid, code in expected.items()
    )
    assert set_aside.ACTION in AUDIT_ACTIONS
    assert not any(word in json.dumps(sent) for word in PERSONAL)

    # pulled again (a restarted download): nothing new is reported
    assert adapter.apply_page(page(records, "c1.11")) == 0
    assert len(reports(profile)) == len(expected)
    assert set(set_aside_rows(profile)) == set(expected)


def test_a_later_good_version_replaces_the_set_aside_one(
    profile: Profile, adapter: SyncAdapter
) -> None:
    case = a_case("FC-2026-00010")
    case_id = case[0].record_id
    bad = a_note(case_id, author=None)
    assert adapter.apply_page(page([*case, bad], "c1.1")) == 1
    fixed = a_note(case_id, record_id=bad.record_id, version=2, author="amy.jones")
    assert adapter.apply_page(page([fixed], "c1.2")) == 0
    assert set_aside_rows(profile) == {}
    assert notes(profile)[bad.record_id].author == "amy.jones"
    assert notes(profile)[bad.record_id].version == 2


def test_a_newer_bad_version_is_reported_again_a_repeat_is_not(
    profile: Profile, adapter: SyncAdapter
) -> None:
    case = a_case("FC-2026-00011")
    case_id = case[0].record_id
    bad = a_note(case_id, author=None)
    assert adapter.apply_page(page([*case, bad], "c1.1")) == 1
    worse = a_note(case_id, record_id=bad.record_id, version=2, written_at=None)
    assert adapter.apply_page(page([worse], "c1.2")) == 1
    assert len(reports(profile)) == 2
    assert set_aside_rows(profile)[bad.record_id].version == 2


def test_set_aside_records_go_with_their_case(profile: Profile, adapter: SyncAdapter) -> None:
    case = a_case("FC-2026-00020")
    case_id = case[0].record_id
    other = a_case("FC-2026-00021")
    kept = a_note(other[0].record_id, author=None)
    assert adapter.apply_page(page([*case, *other, a_note(case_id, author=None), kept], "c1")) == 2
    # the reports must reach the service before the case can be purged (nothing unsent lost)
    with profile.session() as s, s.begin():
        for row in s.exec(select(Outbox)).all():
            s.delete(row)
    adapter.apply_page(page([], "c2", removed=[case_id]))
    assert set(set_aside_rows(profile)) == {kept.record_id}
    with profile.session() as s:
        assert s.get(Case, case_id) is None


def test_set_aside_records_are_tried_again_after_an_update(
    profile: Profile, adapter: SyncAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = a_case("FC-2026-00030")
    case_id = case[0].record_id
    note = a_note(case_id)

    def strict(kind: RecordKind, fields: dict[str, Any], *, whole: bool) -> list[FieldProblem]:
        assert whole
        return [FieldProblem("text", "is refused")] if kind is RecordKind.NOTE else []

    def none_fit_at_once(kind: RecordKind, many: list[dict[str, Any]]) -> set[int]:
        return set(range(len(many)))  # each is then checked on its own, by ``strict``

    with monkeypatch.context() as patched:
        # this version's record rules refuse the note
        patched.setattr(sync_records, "check_fields", strict)
        patched.setattr(sync_records, "unfit_records", none_fit_at_once)
        assert adapter.apply_page(page([*case, note], "c1")) == 1
    rows = set_aside_rows(profile)
    assert rows[note.record_id].reason_code == set_aside.BROKEN_RULE
    assert "text" in rows[note.record_id].reason
    # the same version does not try again at every sync
    assert adapter.retry_set_aside() == 0
    assert set(set_aside_rows(profile)) == {note.record_id}
    # an update of Fieldcase (a newer version) tries it again, and it is stored
    monkeypatch.setattr(set_aside, "APP_VERSION", "99.0.0")
    assert adapter.retry_set_aside() == 1
    assert set_aside_rows(profile) == {}
    assert notes(profile)[note.record_id].text == note.fields["text"]
    assert len(reports(profile)) == 1  # told once, when it was set aside


def test_a_taken_reference_is_tried_again_at_each_sync(
    profile: Profile, adapter: SyncAdapter
) -> None:
    first = a_case("FC-2026-00040")
    second = a_case("FC-2026-00040")
    assert adapter.apply_page(page([*first, *second], "c1")) == 1
    assert adapter.retry_set_aside() == 0  # still taken: stays aside, not reported again
    assert len(reports(profile)) == 1
    # the first case got another reference meanwhile: the second one now fits
    renamed = a_case("FC-2026-00041", case_id=first[0].record_id)[0]
    renamed = renamed.model_copy(update={"version": 2})
    assert adapter.apply_page(page([renamed], "c2")) == 0
    assert adapter.retry_set_aside() == 1
    with profile.session() as s:
        assert sorted(c.ref for c in s.exec(select(Case)).all()) == [
            "FC-2026-00040",
            "FC-2026-00041",
        ]
    assert set_aside_rows(profile) == {}


@pytest.fixture
def capped(profile: Profile) -> Iterator[list[str]]:
    """Pragmas every new connection of the profile runs (the disk's or the file's trouble)."""
    pragmas: list[str] = []

    def _apply(dbapi_connection: Any, _record: Any) -> None:
        for pragma in pragmas:
            dbapi_connection.execute(pragma)

    event.listen(profile.engine, "connect", _apply)
    yield pragmas
    event.remove(profile.engine, "connect", _apply)
    profile.engine.dispose()


def _stopped(
    profile: Profile,
    adapter: SyncAdapter,
    capped: list[str],
    pragma: str,
    records: list[RecordState],
) -> StoreStopped:
    """Apply a page while every new connection runs ``pragma``: it must stop, with nothing
    set aside and the cursor where it was; afterwards (the trouble gone) it is stored."""
    before = adapter.cursor()
    capped.append(pragma)
    profile.engine.dispose()
    with pytest.raises(StoreStopped) as caught:
        adapter.apply_page(page(records, "c9.9"))
    capped.clear()
    profile.engine.dispose()
    assert adapter.cursor() == before
    assert set_aside_rows(profile) == {} and reports(profile) == []
    assert adapter.apply_page(page(records, "c9.9")) == 0
    assert adapter.cursor() == "c9.9"
    return caught.value


def test_a_full_disk_stops_the_page_with_its_own_message(
    profile: Profile, adapter: SyncAdapter, capped: list[str]
) -> None:
    with profile.engine.connect() as conn:
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
    records = [r for n in range(300) for r in a_case(f"FC-2026-{n:05d}", summary="x" * 400)]
    err = _stopped(profile, adapter, capped, f"PRAGMA max_page_count = {pages}", records)
    assert err.cause == "disk_full"
    assert "The disk is full" in err.message and "Nothing has been lost" in err.message
    assert err.exit_code == 5


def test_a_read_only_data_file_stops_the_page_with_its_own_message(
    profile: Profile, adapter: SyncAdapter, capped: list[str]
) -> None:
    err = _stopped(profile, adapter, capped, "PRAGMA query_only = ON", a_case("FC-2026-00050"))
    assert err.cause == "read_only"
    assert "read-only" in err.message and "Nothing has been lost" in err.message


def test_a_locked_data_file_stops_the_page_with_its_own_message(
    profile: Profile, adapter: SyncAdapter, capped: list[str]
) -> None:
    other = profile.engine.raw_connection()  # another writer holds the file
    try:
        other.driver_connection.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreStopped) as caught:
            capped.append("PRAGMA busy_timeout = 50")
            profile.engine.dispose()
            adapter.apply_page(page(a_case("FC-2026-00060"), "c1"))
        other.driver_connection.execute("ROLLBACK")
    finally:
        other.close()
    assert caught.value.cause == "busy"
    assert "in use by another Fieldcase" in caught.value.message
    capped.clear()
    profile.engine.dispose()
    assert adapter.cursor() is None
    assert set_aside_rows(profile) == {} and reports(profile) == []


def test_doctor_and_summary_count_them_in_plain_words(
    profile: Profile, adapter: SyncAdapter
) -> None:
    facts = read_profile_facts(profile)
    assert check_set_aside(facts).status is Status.OK
    case = a_case("FC-2026-00070")
    bad = [a_note(case[0].record_id, author=None) for _ in range(3)]
    adapter.apply_page(page([*case, *bad], "c1"))
    check = check_set_aside(read_profile_facts(profile))
    assert check.status is Status.PROBLEM
    assert check.facts == {"set_aside": 3}
    assert check.message.startswith("3 updates from the service could not be stored")
    assert "tried again when Fieldcase is updated" in check.action
    assert adapter.set_aside_count() == 3
    with profile.engine.connect() as conn:
        assert state.cursor(conn) == "c1"

    one = SyncReport(received=4, set_aside=1, completed=True)
    assert one.summary() == (
        "Received 4 updates. 1 update from the service could not be stored; IT has been told."
    )
    three = SyncReport(set_aside=3, completed=True)
    assert three.summary() == "3 updates from the service could not be stored; IT has been told."
    assert SyncReport(completed=True).summary() == "Everything is up to date."


def test_a_page_with_a_lone_surrogate_is_read_and_only_that_record_set_aside(
    profile: Profile, adapter: SyncAdapter
) -> None:
    """The page as it arrives on the wire (JSON text with "\\ud800" in one note): read by the
    transport's parser, not refused whole, so the good records are stored and the sync goes on."""
    from sync.transport import parse_body

    case = a_case("FC-2026-00050")
    case_id = case[0].record_id
    good, bad = a_note(case_id), a_note(case_id, text="half a pair \ud800 here")
    body = json.dumps(page([*case, good, bad], "c1.5").model_dump(mode="json")).encode()
    assert b"\\ud800" in body
    parsed = parse_body(PullResponse, body)
    assert isinstance(parsed, PullResponse)
    assert parse_body(PullResponse, body[:-3]) is None  # a cut answer is still no answer
    assert adapter.apply_page(parsed) == 1  # one record set aside
    assert set(notes(profile)) == {good.record_id}
    assert set_aside_rows(profile)[bad.record_id].reason_code == set_aside.BAD_TEXT
    assert adapter.cursor() == "c1.5"
