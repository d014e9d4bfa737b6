"""Reference allocation after a rollback, the mark file beside the data file, and
re-referencing a case, on a real encrypted profile (no service needed)."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from app.core import Casework
from app.store import refs, state
from app.store.profile import Profile
from app.store.sync_adapter import SyncAdapter
from sync.protocol import RefBlock
from sync.store import DeviceCredential


def _enrolled(profile: Profile) -> str:
    device_id = uuid4()
    SyncAdapter(profile).set_credential(
        DeviceCredential(
            server_url="http://127.0.0.1:9", device_id=device_id, device_secret="s", username="u"
        )
    )
    return str(device_id)


def test_after_a_rollback_blocks_are_dropped_and_the_fallback_jumps(
    profile: Profile, work: Casework
) -> None:
    year = profile.clock.local_today().year
    with profile.session() as s, s.begin():
        state.add_ref_blocks(s, [RefBlock(year=year, start=1, end=100)], "K7Q")
    assert work.create_case("housing_repair", "A") == f"FC-{year}-00001"
    with profile.session() as s, s.begin():
        state.mark_rolled_back(s)
        state.add_meta(s, {state.fallback_seq_key(year, "K7Q"): "5"})
        assert state.unused_refs(s, year) == 0
    first = work.create_case("housing_repair", "B")
    assert first == f"FC-{year}-K7Q-1001"  # past every number that could have been used
    assert work.create_case("housing_repair", "C") == f"FC-{year}-K7Q-1002"  # jumped once
    with profile.session() as s, s.begin():
        state.mark_rolled_back(s)
    # the next jump starts above what this laptop holds, not only above its counter
    with profile.session() as s, s.begin():
        state.add_meta(s, {state.fallback_seq_key(year, "K7Q"): "3"})
    assert work.create_case("housing_repair", "D") == f"FC-{year}-K7Q-2001"


def test_the_mark_file_notices_an_older_data_file_once(profile: Profile) -> None:
    device = _enrolled(profile)
    adapter = SyncAdapter(profile)
    year = profile.clock.local_today().year
    with profile.session() as s, s.begin():
        state.add_ref_blocks(s, [RefBlock(year=year, start=1, end=100)], "K7Q")
    assert [adapter.next_push_mark() for _ in range(3)] == [1, 2, 3]
    folder = profile.profile_dir
    assert refs.read_mark_file(folder) == (device, 3)
    assert (folder / refs.MARK_FILE).stat().st_mode & 0o777 == 0o600
    with profile.engine.connect() as conn:
        assert not refs.notice_rollback(conn, folder)  # the data file is as new as the file

    refs.write_mark_file(folder, device, 7)  # as if this data file were an older copy
    with profile.engine.connect() as conn:
        assert refs.notice_rollback(conn, folder)
        conn.commit()
    with profile.session() as s:
        assert state.unused_refs(s, year) == 0
    with profile.engine.connect() as conn:
        assert not refs.notice_rollback(conn, folder)  # noticed once

    refs.write_mark_file(folder, str(uuid4()), 99)  # another device's file: not ours
    with profile.engine.connect() as conn:
        assert not refs.notice_rollback(conn, folder)
    (folder / refs.MARK_FILE).write_text("{damaged", encoding="utf-8")
    with profile.engine.connect() as conn:
        assert not refs.notice_rollback(conn, folder)
    # the whole folder copied back (its mark file as old as the data file): the copy of the
    # mark kept outside the profile is newer
    refs.write_mark_file(folder, device, 12)
    (folder / refs.MARK_FILE).write_text(f'{{"device_id": "{device}", "push_mark": 3}}')
    with profile.engine.connect() as conn:
        assert refs.notice_rollback(conn, folder)
        conn.commit()
    adapter.rolled_back(5)  # the highest mark known wins (12, outside), the cursor is forgotten
    assert adapter.push_mark() == 12
    adapter.rolled_back(40)  # the service's mark, when higher
    assert adapter.push_mark() == 40


def test_re_referencing_a_case_made_here(profile: Profile, work: Casework) -> None:
    year = profile.clock.local_today().year
    with profile.session() as s, s.begin():
        state.add_ref_blocks(s, [RefBlock(year=year, start=1, end=100)], "K7Q")
    ref = work.create_case("housing_repair", "Pat Morgan")
    work.add_note(ref, "offline note")
    work.edit_case(ref, {"status": "in_progress"})
    adapter = SyncAdapter(profile)
    changes = adapter.pending_changes(100)
    create = next(c for c in changes if c.kind.value == "case" and "ref" in c.fields)
    edit = next(c for c in changes if c.kind.value == "case" and "ref" not in c.fields)
    assert edit.change_id != create.change_id

    assert adapter.re_reference(edit.change_id) is None  # it does not give the reference
    fresh = adapter.re_reference(create.change_id)
    assert fresh is not None and fresh.old_ref == ref and fresh.new_ref == f"FC-{year}-00002"
    assert work.refs() == [fresh.new_ref]
    resent = {c.change_id: c for c in adapter.pending_changes(100)}
    assert resent[create.change_id].fields["ref"] == fresh.new_ref
    history = work.audit(fresh.new_ref)
    moved = [h for h in history if h.action == "re_referenced"]
    assert len(moved) == 1 and ref in moved[0].detail and fresh.new_ref in moved[0].detail
    # its audit event is queued too, and no personal data is in it
    audit = [c for c in resent.values() if c.kind.value == "audit"]
    assert any(c.fields.get("action") == "re_referenced" for c in audit)
    assert "Pat" not in json.dumps([c.fields for c in audit])
    assert adapter.re_reference(create.change_id) is not None  # again: a fresh one again


@pytest.mark.parametrize(
    "mark", ["1e999", "Infinity", "1e300", "-3", "2.5", '"7"', "4611686018427387905"]
)
def test_a_damaged_mark_file_is_ignored_and_the_profile_opens(profile: Profile, mark: str) -> None:
    """A mark that is no whole number the protocol can carry (damage, or a hand edit) is
    ignored: the profile opens and the push mark stays what the data file says."""
    device = _enrolled(profile)
    adapter = SyncAdapter(profile)
    assert adapter.next_push_mark() == 1
    folder = profile.profile_dir
    (folder / refs.MARK_FILE).write_text(f'{{"device_id": "{device}", "push_mark": {mark}}}')
    assert refs.read_mark_file(folder) is None
    assert refs.highest_mark(folder, device) == 1  # the good copy kept outside the profile
    with profile.engine.connect() as conn:
        assert not refs.notice_rollback(conn, folder)
    adapter.rolled_back(0)
    assert adapter.push_mark() == 1
