"""The owners of the outbox and the sync state, on a real encrypted profile: the one rule of
"waiting to send", refused changes kept aside, and every piece of sync state round-tripping
through a session and through a plain connection (as the doctor reads it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from app.core import Casework
from app.store import outbox, state
from app.store.profile import Profile
from sync.protocol import ChangeResult, ChangeStatus, ErrorBody, ErrorCode, RefBlock
from sync.store import DeviceCredential


def test_waiting_means_record_changes_not_yet_acknowledged(
    profile: Profile, work: Casework
) -> None:
    ref = work.create_case("housing_repair", "Pat Morgan", {})
    other = work.create_case("housing_repair", "Ann Zeller", {})
    work.get_case(ref)  # a view: sent, never counted
    case_id = work.get_case(ref, record_view=False).id
    with profile.session() as s:
        changes = outbox.pending_changes(s, 100)
        assert len(changes) == 7  # 2 x (person, case, created) + 1 view
        assert outbox.waiting_count(s) == 4
        assert outbox.waiting_count(s, case_id) == 2
        assert outbox.unsent_rows(s, case_id) == 4  # the purge rule counts everything
        assert len(outbox.waiting_records(s, case_id)) == 2
    refused = next(c for c in changes if c.kind.value == "case" and c.case_id == case_id)
    accepted = next(c for c in changes if c.kind.value == "person" and c.case_id == case_id)
    with profile.session() as s, s.begin():
        outbox.mark_sent(
            s,
            [
                ChangeResult(
                    change_id=refused.change_id,
                    status=ChangeStatus.REJECTED,
                    error=ErrorBody(code=ErrorCode.FORBIDDEN, message="Not your team's case."),
                ),
                ChangeResult(change_id=accepted.change_id, status=ChangeStatus.APPLIED, version=1),
            ],
        )
    with profile.engine.connect() as conn:  # the doctor's way in
        assert outbox.waiting_count(conn) == 2  # the other case's person and case
        assert outbox.refused_count(conn) == 1
    with profile.session() as s:
        assert outbox.rejected_changes(s) == [(refused.change_id, "Not your team's case.")]
    assert work.get_case(other, record_view=False).pending == 2
    assert work.get_case(ref, record_view=False).pending == 0


def test_sync_state_round_trips(profile: Profile) -> None:
    credential = DeviceCredential(
        server_url="https://fieldcase.example", device_id=uuid4(), device_secret="s", username="a"
    )
    synced = datetime(2026, 11, 27, 10, 40, tzinfo=timezone(timedelta(hours=1)))
    with profile.session() as s, s.begin():
        assert state.credential(s) is None and state.cursor(s) is None
        state.set_credential(s, credential)
        state.set_cursor(s, "page-1")
        state.set_cursor(s, "page-2")
        state.set_last_sync(s, synced)
        state.set_removed_pending(s, ["b", "a"])
        state.add_ref_blocks(s, [RefBlock(year=2026, start=1, end=10)], "K7Q")
        state.add_ref_blocks(s, [RefBlock(year=2026, start=1, end=10)], "")  # not twice
        state.save_draft(s, "note:1", "Typed before the battery died")
        state.save_draft(s, "note:2", "Another")
        state.drop_draft(s, "note:2")
        state.set_case_types(s, {"pest_control": "Pest control"})
    with profile.engine.connect() as conn:
        saved = state.read_all(conn)
        assert saved[state.CURSOR] == "page-2" and saved[state.DEVICE_CODE] == "K7Q"
        assert state.credential(conn) == credential
        assert state.last_sync(conn) == synced.astimezone(UTC)
        assert state.removed_pending(conn) == ["a", "b"]
        assert state.unused_refs(conn, 2026) == 10 and state.unused_refs(conn, 2027) == 0
        assert state.drafts(conn) == {"note:1": "Typed before the battery died"}
        assert "pest_control" in (state.case_types_json(conn) or "")
    assert Casework(profile).case_types()["pest_control"] == "Pest control"
    assert profile.read_meta()["user"] == profile.user
