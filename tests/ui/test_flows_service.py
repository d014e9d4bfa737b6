"""Flows against a real ``fieldcase-server serve`` process: enrol, offline note then sync and
see it from a second laptop, resolve a clash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import online
from app.core import Casework
from app.errors import SyncError, SyncKind
from app.online import ClientOptions
from app.store.profile import Profile
from app.ui.core_backend import CoreGate
from app.ui.models import ClashModel, NoteModel
from app.ui.qt import Qt
from app.ui.window import PAGE_CLASHES
from sync.client import RetryPolicy
from tests.support.pg import free_port
from tests.support.server import TEST_PASSWORD, admin, running_server, sqlite_url
from tests.ui.conftest import unlock, wait_idle
from tests.ui.test_accessibility import problems

QUICK = ClientOptions(retry=RetryPolicy(attempts=2, base=0.01, cap=0.02))
LAPTOP_PASSWORD = TEST_PASSWORD  # the profile starts with the council password


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("service")
    db = sqlite_url(folder)
    # through the admin command: the service's tables cannot share this process with the
    # laptop's (both use SQLModel's one metadata)
    assert admin(db, "add-team", "North").returncode == 0
    for user in ("ann", "bob", "cara", "dan", "eve"):
        done = admin(db, "add-user", user, "--team", "North", password=TEST_PASSWORD)
        assert done.returncode == 0, done.stderr
    with running_server(db) as srv:
        yield srv


def enrolled(folder: Path, url: str, user: str) -> Path:
    online.enrol(folder, url, user, TEST_PASSWORD, options=QUICK)
    return folder


def test_enrol_from_the_window(qtbot: Any, tmp_path: Path, service: Any, make_window) -> None:
    folder = tmp_path / "laptop"
    window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
    screen = window.enrol_screen
    assert window.stack.currentWidget() is screen
    screen.server.setText(service.url)
    screen.server.editingFinished.emit()
    # the service takes passwords only: no choice of way to offer
    qtbot.waitUntil(lambda: not screen.ways.isVisible(), timeout=20_000)
    assert not screen.sso and screen.username.isVisible()
    screen.username.setText("eve")
    screen.password.setText(TEST_PASSWORD)
    screen.new_password.setText("short")
    screen.confirm.setText("short")
    screen.go.click()
    assert "at least 10 characters" in screen.error.text()
    screen.new_password.setText("a long laptop password")
    screen.confirm.setText("a long laptop password")
    with qtbot.waitSignal(window.opened, timeout=60_000):
        screen.go.click()
    wait_idle(qtbot, window)
    assert window.main is not None
    assert window.main.who.text().startswith("eve")
    assert window.sync is not None
    assert window.sync.state.last_ok_at is not None  # the first sync ran at enrolment
    window.close()
    # the new laptop password (not the council one) now opens the profile
    Profile.open(folder, "a long laptop password", backup=False).close()


def test_offline_note_syncs_and_reaches_a_second_laptop(
    qtbot: Any, tmp_path: Path, service: Any, make_window
) -> None:
    a_dir = enrolled(tmp_path / "a", service.url, "ann")
    b_dir = enrolled(tmp_path / "b", service.url, "bob")
    with Profile.open(a_dir, LAPTOP_PASSWORD, backup=False) as profile:
        ref = Casework(profile).create_case("housing_repair", "Pat Morgan", {"summary": "Damp"})
        online.sync(profile, options=QUICK)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here: this laptop is offline
    window = make_window(a_dir, gate=CoreGate(a_dir, client_options=QUICK, server_url=dead))
    unlock(qtbot, window, LAPTOP_PASSWORD)
    main = window.main
    assert main is not None and window.sync is not None
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(main.cases.search, "Pat Morgan")
    qtbot.waitUntil(lambda: main.cases.model.rowCount() == 1, timeout=10_000)
    qtbot.keyClick(main.cases.search, Qt.Key.Key_Return)
    qtbot.keyClick(main.cases.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=10_000)
    view = main.case_view.notes_tab
    main.case_view.tabs.setCurrentIndex(1)
    qtbot.keyClicks(view.note_box, "Visited at home. Damp in the back bedroom.")
    qtbot.keyClick(view.note_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)
    assert not main.messages.text.text().startswith("Something"), (
        main.messages.details.toPlainText()
    )
    qtbot.waitUntil(lambda: view.notes.rowCount() == 1, timeout=10_000)
    assert view.notes.data(view.notes.index(0, NoteModel.COL_SENT)) == "Waiting to send"

    with qtbot.waitSignal(window.sync.finished, timeout=60_000):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    wait_idle(qtbot, window)
    line = window.sync_line
    assert line is not None
    assert line.text.text() == "Offline: 1 change waiting to send"
    assert window.sync.retry.isActive()  # it will look for the connection again

    # the connection comes back
    assert window.backend is not None
    window.backend.set_server_url(service.url)
    with qtbot.waitSignal(window.sync.finished, timeout=60_000):
        window.sync.connection_appeared()
    wait_idle(qtbot, window)
    assert line.text.text().startswith("Up to date at "), line.text.text()
    assert not window.sync.retry.isActive()
    qtbot.waitUntil(
        lambda: view.notes.data(view.notes.index(0, NoteModel.COL_SENT)) == "Sent", timeout=10_000
    )

    with Profile.open(b_dir, LAPTOP_PASSWORD, backup=False) as profile:
        online.sync(profile, options=QUICK)
        notes = Casework(profile).get_case(ref, record_view=False).notes
        assert [n.text for n in notes] == ["Visited at home. Damp in the back bedroom."]
        assert notes[0].author == "ann"


def test_resolve_a_clash(qtbot: Any, tmp_path: Path, service: Any, make_window) -> None:
    a_dir = enrolled(tmp_path / "a", service.url, "cara")
    b_dir = enrolled(tmp_path / "b", service.url, "dan")
    with Profile.open(a_dir, LAPTOP_PASSWORD, backup=False) as pa:
        ref = Casework(pa).create_case("carer_support", "Lee Shaw", {"summary": "First words"})
        online.sync(pa, options=QUICK)
    with Profile.open(b_dir, LAPTOP_PASSWORD, backup=False) as pb:
        online.sync(pb, options=QUICK)
        Casework(pb).edit_case(ref, {"summary": "Dan's words"})
        online.sync(pb, options=QUICK)
    with Profile.open(a_dir, LAPTOP_PASSWORD, backup=False) as pa:
        Casework(pa).edit_case(ref, {"summary": "Cara's words"})

    window = make_window(a_dir, gate=CoreGate(a_dir, client_options=QUICK))
    unlock(qtbot, window, LAPTOP_PASSWORD)
    assert window.sync is not None and window.main is not None
    with qtbot.waitSignal(window.sync.finished, timeout=60_000):
        window.sync_now()
    wait_idle(qtbot, window)
    assert window.sync_line is not None
    assert window.sync_line.text.text().startswith("1 clash needs your decision")
    main = window.main
    assert main.nav_model.data(main.nav_model.index(2, 0)) == "Clashes (1)"
    main.go(PAGE_CLASHES)
    wait_idle(qtbot, window)
    clashes = main.clashes
    assert clashes.model.rowCount() == 1
    assert clashes.mine.toPlainText() == "Cara's words"
    assert clashes.theirs.toPlainText() == "Dan's words"
    assert "dan changed the summary" in clashes.question.text()
    # nothing says this laptop was offline: it may well not have been
    assert "offline" not in clashes.question.text()
    assert "before your change reached the central record" in clashes.question.text()
    # at 200% text on a small laptop the list folds: both versions in sight, nothing sideways
    from dataclasses import replace

    window.resize(1366, 768)
    window.apply_prefs(replace(window.prefs, text_size=200))
    qtbot.waitUntil(lambda: clashes.model.compact, timeout=5000)
    view = clashes.view
    assert all(view.isColumnHidden(c) for c in ClashModel.FOLDED)
    last = ClashModel.COL_THEIRS
    assert view.columnViewportPosition(last) + view.columnWidth(last) <= view.viewport().width() + 1
    theirs = clashes.model.data(clashes.model.index(0, last))
    assert theirs.startswith("Dan's words\n(dan, ")
    window.apply_prefs(replace(window.prefs, text_size=100))
    qtbot.waitUntil(lambda: not clashes.model.compact, timeout=5000)
    clashes.keep_mine.click()
    qtbot.waitUntil(lambda: clashes.model.rowCount() == 0, timeout=10_000)
    with qtbot.waitSignal(window.sync.finished, timeout=60_000):
        window.sync_now()
    wait_idle(qtbot, window)
    assert window.sync.state.clashes == 0
    assert main.nav_model.data(main.nav_model.index(2, 0)) == "Clashes"
    window.lock()
    wait_idle(qtbot, window)
    # Dan, whose version lost, is told at his next sync, and sees what was chosen and by whom
    dans = make_window(b_dir, gate=CoreGate(b_dir, client_options=QUICK))
    unlock(qtbot, dans, LAPTOP_PASSWORD)
    assert dans.sync is not None and dans.main is not None
    with qtbot.waitSignal(dans.sync.finished, timeout=60_000):
        dans.sync_now()
    wait_idle(qtbot, dans)
    bar = dans.main.messages
    assert bar.isVisible()
    assert bar.text.text() == (
        "cara settled the clash on a case's summary first, so your version was not kept. "
        "Open Clashes to see what was chosen."
    )
    assert not bar._fade.isActive()  # news not to miss stays until dismissed
    dans.main.go(PAGE_CLASHES)
    wait_idle(qtbot, dans)
    settled = dans.main.clashes.settled_model
    assert dans.main.clashes.settled_view.isVisible() and settled.rowCount() == 1
    shown = [settled.data(settled.index(0, col)) for col in range(settled.columnCount())]
    assert shown[0] == ref and shown[2] == "Cara's words" and shown[3].startswith("cara, ")
    assert shown[4] == "Dan's words (not kept)"
    assert problems(dans) == []  # the settled list is named for a screen reader
    assert dans.main.clashes.model.rowCount() == 0
    dans.lock()
    wait_idle(qtbot, dans)
    with Profile.open(b_dir, LAPTOP_PASSWORD, backup=False) as pb:
        assert Casework(pb).get_case(ref, record_view=False).fields["summary"] == "Cara's words"


def test_forgot_password_recovers_online_and_keeps_unsent_work(
    qtbot: Any, tmp_path: Path, service: Any, make_window
) -> None:
    folder = enrolled(tmp_path / "a", service.url, "bob")
    with Profile.open(folder, LAPTOP_PASSWORD, backup=False) as profile:
        profile.change_password(LAPTOP_PASSWORD, "a laptop password I forgot")
        ref = Casework(profile).create_case("housing_repair", "Kim Ode", {"summary": "Unsent"})
    window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
    window.unlock_screen.forgot_button.click()
    screen = window.recovery_screen
    assert window.stack.currentWidget() is screen
    screen.username.setText("bob")
    screen.password.setText(TEST_PASSWORD)
    screen.new_password.setText("my brand new laptop password")
    screen.confirm.setText("my brand new laptop password")
    with qtbot.waitSignal(window.opened, timeout=60_000):
        screen.go.click()
    wait_idle(qtbot, window)
    assert window.sync is not None
    assert window.sync.state.pending >= 1  # the unsent case survived
    window.close()
    with Profile.open(folder, "my brand new laptop password", backup=False) as profile:
        assert ref in Casework(profile).refs()


def test_cancel_a_sync_keeps_everything_and_says_nothing_alarming(
    qtbot: Any, tmp_path: Path, service: Any, make_window
) -> None:
    import threading

    folder = enrolled(tmp_path / "a", service.url, "eve")
    with Profile.open(folder, LAPTOP_PASSWORD, backup=False) as profile:
        Casework(profile).create_case("housing_repair", "Ola Berg", {"summary": "Unsent"})
    window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
    unlock(qtbot, window, LAPTOP_PASSWORD)
    assert window.sync is not None and window.sync_line is not None
    line = window.sync_line
    hold = threading.Event()
    window.work.run_db(window, hold.wait)  # the sync's first store call waits behind this
    with qtbot.waitSignal(window.sync.finished, timeout=60_000) as finished:
        window.sync_now()
        assert line.cancel_button.isVisible()
        line.cancel_button.click()
        hold.set()
    stopped = finished.args[0]
    assert isinstance(stopped, SyncError) and stopped.kind is SyncKind.CANCELLED
    wait_idle(qtbot, window)
    assert not line.cancel_button.isVisible()
    assert line.text.text() == "2 changes waiting to send"  # the case and its person
    assert window.main is not None and window.main.messages.isHidden()


def _says(history: Any, text: str) -> Any:
    def check() -> None:
        assert history.source.text() == text

    return check


def _open_history(qtbot: Any, window: Any, ref: str) -> Any:
    main = window.main
    assert main is not None
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(main.cases.search, ref)
    qtbot.waitUntil(lambda: main.cases.model.rowCount() == 1, timeout=10_000)
    qtbot.keyClick(main.cases.search, Qt.Key.Key_Return)
    qtbot.keyClick(main.cases.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=10_000)
    main.case_view.tabs.setCurrentIndex(5)
    return main.case_view.history_tab


def test_a_manager_sees_everyones_history_a_caseworker_their_own(
    qtbot: Any, tmp_path: Path, service: Any, make_window
) -> None:
    done = admin(
        service.db_url, "add-user", "mona", "--team", "North", "--role", "manager",
        password=TEST_PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    a_dir = enrolled(tmp_path / "a", service.url, "cara")
    with Profile.open(a_dir, LAPTOP_PASSWORD, backup=False) as profile:
        work = Casework(profile)
        ref = work.create_case("housing_repair", "Lee Fenwick", {"summary": "Leak"})
        work.get_case(ref)  # cara views it: an audit event, sent with the sync
        online.sync(profile, options=QUICK)
    m_dir = enrolled(tmp_path / "m", service.url, "mona")
    window = make_window(m_dir, gate=CoreGate(m_dir, client_options=QUICK))
    unlock(qtbot, window, LAPTOP_PASSWORD)
    history = _open_history(qtbot, window, ref)
    qtbot.waitUntil(_says(history, online.HISTORY_FROM_SERVICE), timeout=20_000)
    rows = history.history.rows()
    who = {r.actor for r in rows}
    actions = {(r.actor, r.action) for r in rows}
    assert "cara" in who, actions  # another laptop's user: only the service knew of them
    assert ("cara", "viewed") in actions and ("cara", "changed") in actions
    assert problems(history) == []
    window.close()

    b_dir = enrolled(tmp_path / "b", service.url, "dan")
    window = make_window(b_dir, gate=CoreGate(b_dir, client_options=QUICK))
    unlock(qtbot, window, LAPTOP_PASSWORD)
    history = _open_history(qtbot, window, ref)
    qtbot.waitUntil(_says(history, online.HISTORY_LOCAL_ROLE), timeout=20_000)
    assert {r.actor for r in history.history.rows()} == {"dan"}  # this laptop's own record
    window.close()
