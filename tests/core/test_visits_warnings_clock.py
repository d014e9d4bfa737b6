"""Cancelling a visit, retiring a warning (the window's coming visit outcomes and warning
retirement), and time from the injected clock: the laptop's local date decides "today",
opened_on and the reference year, for allocation and for counting unused numbers alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import col, select

from app.core import Casework, UnknownRecord
from app.errors import UsageError
from app.store import state
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from app.store.tables import Outbox
from sync.clock import ManualClock
from sync.protocol import RefBlock
from sync.records import RecordKind


def changes_of(profile: Profile, record_id: object) -> list[Outbox]:
    with profile.session() as s:
        return list(
            s.exec(
                select(Outbox).where(Outbox.record_id == record_id).order_by(col(Outbox.seq))
            ).all()
        )


def test_cancelling_a_visit_sends_only_its_status_and_is_in_the_history(
    profile: Profile,
) -> None:
    clock = ManualClock(datetime(2026, 11, 12, 9, 5, tzinfo=UTC))
    work = Casework(profile, clock=clock)
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    visit_id = work.add_visit(ref, clock.now() + timedelta(hours=1), "Home")
    assert [r.visit_id for r in work.my_day()] == [visit_id]
    work.cancel_visit(str(visit_id)[:8])
    (visit,) = work.get_case(ref, record_view=False).visits
    assert visit.status == "cancelled" and visit.done_at is None
    created, cancelled = changes_of(profile, visit_id)
    assert json.loads(cancelled.fields) == {"status": "cancelled"}
    assert cancelled.base_version == created.base_version == 0
    last = work.audit(ref)[-1]
    assert (last.action, last.record_kind, last.detail) == ("changed", "visit", "fields: status")
    assert visit_id not in [r.visit_id for r in work.my_day()]
    with pytest.raises(UsageError, match="already cancelled"):
        work.cancel_visit(visit_id)
    with pytest.raises(UsageError, match="already cancelled"):
        work.complete_visit(visit_id)
    with pytest.raises(UnknownRecord):
        work.cancel_visit("0123456789abcdef")


def test_retiring_a_warning_hides_it_sends_who_and_when_and_happens_once(
    profile: Profile, work: Casework
) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    warning_id = work.add_warning(ref, "Dog on premises")
    assert [w.text for w in work.get_case(ref, record_view=False).warnings] == ["Dog on premises"]
    work.retire_warning(warning_id)
    assert work.get_case(ref, record_view=False).warnings == []
    _, retired = changes_of(profile, warning_id)
    assert set(json.loads(retired.fields)) == {"active", "retired_by", "retired_at"}
    assert work.audit(ref)[-1].detail == "fields: active, retired_by, retired_at"
    waiting = work.pending_count()
    history = len(work.audit(ref))
    work.retire_warning(warning_id)  # already retired: nothing is written
    assert work.pending_count() == waiting and len(work.audit(ref)) == history
    with pytest.raises(UnknownRecord):
        work.retire_warning("0123456789abcdef")


def test_time_comes_from_the_clock_and_today_is_the_local_date(profile: Profile) -> None:
    # 23:30 UTC on New Year's Eve is already 1 January where this laptop is (UTC+2)
    clock = ManualClock(
        datetime(2026, 12, 31, 23, 30, tzinfo=UTC), zone=timezone(timedelta(hours=2))
    )
    work = Casework(profile, clock=clock)
    adapter = SyncAdapter(profile, clock=clock)
    code = profile.laptop_code
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    assert ref == f"FC-2027-{code}-0001"
    detail = work.get_case(ref)
    assert detail.fields["opened_on"].isoformat() == "2027-01-01"
    assert work.audit(ref)[-1].at == clock.now()
    with profile.session() as s, s.begin():
        state.add_ref_blocks(s, [RefBlock(year=2027, start=7, end=9)], "")
        state.add_ref_blocks(s, [RefBlock(year=2026, start=1, end=99)], "")
    assert adapter.unused_refs() == 3  # this (local) year's numbers only
    assert work.create_case("housing_repair", "Ann Zeller", {}) == "FC-2027-00007"
    assert adapter.unused_refs() == 2
    # My day: a visit at 09:00 local on 1 January is today's; one on 2 January is not
    today = work.add_visit(ref, "2027-01-01T09:00+02:00", "Home")
    work.add_visit(ref, "2027-01-02T09:00+02:00", "Home")
    assert [r.visit_id for r in work.my_day()] == [today]
    clock.advance(24 * 3600)
    assert len(work.my_day()) == 2
    (note_change,) = [
        c for c in changes_of(profile, work.add_note(ref, "Seen")) if c.kind == RecordKind.NOTE
    ]
    assert note_change.made_at == clock.now()


def test_my_day_is_my_cases_and_overdue_only_once_the_time_has_passed(profile: Profile) -> None:
    # 09:05 in the morning where the laptop is (UTC+1)
    clock = ManualClock(datetime(2026, 11, 12, 8, 5, tzinfo=UTC), zone=timezone(timedelta(hours=1)))
    work = Casework(profile, clock=clock)
    mine = work.create_case(
        "housing_repair", "Pat Morgan", {"person.address": "19 Hughes Road, Bridport DT6 3QL"}
    )
    theirs = work.create_case("housing_repair", "Kim Ode", {})
    work.edit_case(theirs, {"assigned_to": "someone.else"})
    early = work.add_visit(mine, "2026-11-12T08:30+01:00", "Home address")
    later = work.add_visit(mine, "2026-11-12T14:00+01:00", "Village hall")
    other = work.add_visit(theirs, "2026-11-12T10:00+01:00", "Office")
    rows = work.my_day()
    assert [r.visit_id for r in rows] == [early, later]  # not the other worker's case
    assert [r.overdue for r in rows] == [True, False]  # 14:00 is not overdue at 09:05
    assert rows[0].where == "19 Hughes Road, Bridport DT6 3QL"  # "Home address" says no more
    assert rows[1].where == "Village hall"
    team = work.my_day(team=True)
    assert [r.visit_id for r in team] == [early, other, later]
    assert team[1].assigned_to == "someone.else"
    clock.advance(6 * 3600)  # 15:05: the afternoon visit's time has passed
    assert [r.overdue for r in work.my_day()] == [True, True]


def test_what_came_of_a_visit_is_kept_and_sent(profile: Profile) -> None:
    clock = ManualClock(datetime(2026, 11, 12, 9, 5, tzinfo=UTC))
    work = Casework(profile, clock=clock)
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    not_in = work.add_visit(ref, clock.now() - timedelta(hours=1), "Home")
    called_off = work.add_visit(ref, clock.now() + timedelta(hours=3), "Home")
    work.complete_visit(str(not_in)[:8], "No answer; card left.", "not_in")
    work.complete_visit(called_off, "", "cancelled_by_person")
    visits = {v.visit_id: v for v in work.get_case(ref, record_view=False).visits}
    assert (visits[not_in].status, visits[not_in].outcome) == ("done", "not_in")
    assert visits[not_in].done_at == clock.now()
    assert visits[not_in].outcome_note == "No answer; card left."
    assert (visits[called_off].status, visits[called_off].outcome) == (
        "cancelled",
        "cancelled_by_person",
    )
    assert visits[called_off].done_at is None
    sent = json.loads(changes_of(profile, not_in)[-1].fields)
    assert sent["outcome"] == "not_in" and sent["status"] == "done"
    assert work.my_day() == []
    with pytest.raises(UsageError, match="outcome must be one of"):
        other = work.add_visit(ref, clock.now(), "Home")
        work.complete_visit(other, "", "went swimming")


def test_retiring_a_warning_says_who_and_when(profile: Profile) -> None:
    clock = ManualClock(datetime(2026, 11, 12, 9, 5, tzinfo=UTC))
    work = Casework(profile, clock=clock)
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    warning_id = work.add_warning(ref, "Dog on premises")
    work.retire_warning(warning_id)
    sent = json.loads(changes_of(profile, warning_id)[-1].fields)
    assert sent == {
        "active": False,
        "retired_by": profile.user,
        "retired_at": clock.now().isoformat(),
    }
