"""The one application facade (issue 9): the window and the CLI ask the same core, naming a
case by its id or its reference; the case list sorts both ways and filters "review due" in
SQL on the core's clock; one sync entry point hands store calls to where the caller says."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from app import online
from app.core import CaseFilter, CaseSort, Casework, UnknownCase, clashes
from app.store.profile import Profile
from sync.clock import ManualClock


def test_a_case_is_named_by_its_id_or_its_reference(work: Casework) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
    by_ref = work.get_case(ref, record_view=False)
    by_id = work.get_case(by_ref.id, record_view=False)
    assert by_id == by_ref
    assert work.edit_case(by_ref.id, {"priority": "high"}) == ["priority"]
    note = work.add_note(by_ref.id, "Visited.")
    detail = work.get_case(ref, record_view=False, with_history=True)
    assert detail.priority == "high" and [n.id for n in detail.notes] == [note]
    assert not detail.notes[0].sent  # waiting to be sent
    assert sorted((a.action, a.record_kind) for a in detail.history) == [
        ("changed", "case"),
        ("created", "case"),
        ("created", "note"),
    ]
    assert work.get_case(ref, record_view=False).history == []  # only when asked for
    with pytest.raises(UnknownCase, match="no longer on this laptop") as gone:
        work.get_case(uuid4())
    assert gone.value.exit_code == 4


def test_pages_sort_both_ways_in_sql(work: Casework) -> None:
    refs = [work.create_case("housing_repair", f"Person {i:02d}", {}) for i in range(7)]
    rows, total = work.page_of_cases(None, None, CaseSort.REF, 0, 3)
    assert total == 7 and [r.ref for r in rows] == refs[:3]
    rows, total = work.page_of_cases(None, None, CaseSort.REF, 0, 3, descending=True)
    assert total == 7 and [r.ref for r in rows] == refs[::-1][:3]
    rows, total = work.page_of_cases(None, None, CaseSort.REF, 6, 3, descending=True)
    assert total == 7 and [r.ref for r in rows] == [refs[0]]  # the last page counts itself
    names = [r.person_name for r in work.list_cases(None, None, CaseSort.NAME, 0, 10)]
    back = [r.person_name for r in work.list_cases(None, None, "name", 0, 10, descending=True)]
    assert back == names[::-1]


def test_review_due_is_today_on_the_cores_clock(profile: Profile) -> None:
    """Late evening west of UTC: the laptop's local today, not the UTC date, decides."""
    zone = timezone(timedelta(hours=-5))
    clock = ManualClock(datetime(2026, 6, 2, 2, 0, tzinfo=UTC), zone=zone)  # 1 June, 21:00 local
    work = Casework(profile, clock=clock)
    assert clock.local_today() == date(2026, 6, 1)
    due = {
        day: work.create_case("housing_repair", f"Due {day}", {"next_review": day})
        for day in ("2026-05-30", "2026-06-01", "2026-06-02")
    }
    work.create_case("housing_repair", "No review", {})
    flt = CaseFilter(review_due=True)
    rows = work.list_cases(None, flt, CaseSort.NEXT_REVIEW)
    assert [r.ref for r in rows] == [due["2026-05-30"], due["2026-06-01"]]
    assert work.count_cases(None, flt) == 2
    assert work.page_of_cases(None, flt, CaseSort.NEXT_REVIEW, 0, 50)[1] == 2
    clock.advance(24 * 3600)
    assert work.count_cases(None, flt) == 3


def test_one_sync_entry_point_hands_every_store_call_over(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window runs the sync on its network worker and every store call on its DB worker:
    ``store_call`` is where each store call goes; the engine never touches the store itself."""
    from app.store.sync_adapter import SyncAdapter
    from sync.store import DeviceCredential

    SyncAdapter(profile).set_credential(
        DeviceCredential(
            server_url="http://127.0.0.1:9", device_id=uuid4(), device_secret="s", username="u"
        )
    )
    handed: list[str] = []
    seen: dict[str, Any] = {}

    def store_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handed.append(fn.__name__)
        return fn(*args, **kwargs)

    class FakeEngine:
        def __init__(self, store: Any, client: Any, **kwargs: Any) -> None:
            seen["client"] = client
            seen["cancel"] = kwargs["cancel"]
            self.store = store

        def sync(self) -> str:
            self.store.pending_changes(10)
            self.store.cursor()
            return "report"

    monkeypatch.setattr(online, "SyncEngine", FakeEngine)
    cancel = threading.Event()
    report = online.sync(
        profile, cancel=cancel, store_call=store_call, server_url="http://127.0.0.1:8"
    )
    assert report == "report"
    # the single sign-on link (renewal) is read on the DB worker too
    assert handed == ["credential", "_sso_link", "pending_changes", "cursor"]
    assert seen["cancel"] is cancel
    assert seen["client"].base_url.startswith("http://127.0.0.1:8")


def test_a_profile_never_enrolled_has_nothing_to_sync(profile: Profile) -> None:
    with pytest.raises(online.NotEnrolled, match="not enrolled") as refused:
        online.sync(profile)
    assert refused.value.exit_code == 1
    status = clashes.status(profile)
    assert (status.waiting, status.clashes, status.last_sync) == (0, 0, None)
    assert online.server_url_of(profile) == ""
