"""The sync line's words, for every state a caseworker meets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.ui.sync_line import SyncState


def test_offline_with_changes_waiting() -> None:
    assert SyncState(pending=3, offline=True).words() == "Offline: 3 changes waiting to send"


def test_one_change_is_singular() -> None:
    assert SyncState(pending=1, offline=True).words() == "Offline: 1 change waiting to send"


def test_sending_shows_the_engines_progress_words() -> None:
    state = SyncState(running=True, progress_text="Sending 2 of 5 changes...")
    assert state.words() == "Sending 2 of 5 changes..."


def test_up_to_date_says_when() -> None:
    at = datetime(2026, 11, 12, 10, 42, tzinfo=UTC)
    words = SyncState(last_ok_at=at, ever_synced=True).words()
    assert words.startswith("Up to date at ")
    assert words.endswith(at.astimezone().strftime("%H:%M"))


def test_a_clash_comes_first() -> None:
    assert SyncState(clashes=1).words() == "1 clash needs your decision"
    assert SyncState(clashes=2, pending=1, offline=True).words() == (
        "2 clashes need your decision. Offline: 1 change waiting to send"
    )
    assert SyncState(clashes=1).level() == "clash"


def test_never_synced() -> None:
    assert SyncState().words() == "Not synced yet"


def test_a_sync_that_did_not_finish_keeps_the_line_short() -> None:
    why = "Your account is disabled. Ask your IT team to enable it."
    state = SyncState(pending=2, problem=why, detail=why)
    assert state.words() == "Sync did not finish: 2 changes waiting to send"
    assert state.level() == "error"


def test_a_finished_sync_with_a_notice_says_both() -> None:
    at = datetime(2026, 11, 12, 10, 42, tzinfo=UTC)
    notice = "Your council sign-in has run out"
    state = SyncState(last_ok_at=at, ever_synced=True, notice=notice, detail="The whole of it.")
    assert state.words().startswith("Up to date at ")
    assert state.words().endswith(". " + notice)
    assert state.level() == "error"
    # offline, the notice waits: the connection is the news
    assert SyncState(offline=True, notice=notice).words() == "Offline"


def test_last_synced_is_shown_only_when_it_says_more() -> None:
    at = datetime(2026, 11, 12, 10, 42, tzinfo=UTC)
    later_that_day = at.astimezone().replace(hour=23, minute=0)
    up_to_date = SyncState(last_ok_at=at, ever_synced=True)
    assert not up_to_date.last_synced_adds(later_that_day)  # "Up to date at 10:42" says it
    assert up_to_date.last_synced_adds(later_that_day + timedelta(days=1))  # which day?
    for state in (
        SyncState(last_ok_at=at, pending=2),
        SyncState(last_ok_at=at, offline=True),
        SyncState(last_ok_at=at, problem="Sync did not finish"),
        SyncState(last_ok_at=at, running=True),
        SyncState(),
    ):
        assert state.last_synced_adds(later_that_day), state
