"""Flows on one laptop without a service: unlock, search, notes, drafts, auto-lock."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from app.core import Casework
from app.store.profile import Profile
from app.ui.models import CaseListModel, NoteModel, VisitModel
from app.ui.qt import Qt
from app.ui.window import PAGE_CASE, PAGE_CASES
from tests.support.profile import ROOT
from tests.ui.conftest import PASSWORD, unlock, wait_idle


def test_unlock_wrong_then_right(qtbot: Any, local_profile, make_window) -> None:
    window = make_window(local_profile)
    screen = window.unlock_screen
    assert window.stack.currentWidget() is screen
    screen.password.setText("not the password")
    screen.go.click()
    qtbot.waitUntil(lambda: screen.error.isVisible(), timeout=20_000)
    assert "does not unlock this profile" in screen.error.text()
    assert "Caps Lock" in screen.error.text()
    assert window.is_locked
    unlock(qtbot, window)
    assert not window.is_locked
    assert window.main is not None
    # My day shows today's visit and the overdue one, in words
    visits = window.main.my_day.model
    states = {visits.data(visits.index(r, VisitModel.COL_STATE)) for r in range(visits.rowCount())}
    assert states == {"Overdue", "Today"}
    warned = [visits.data(visits.index(r, VisitModel.COL_WARN)) for r in range(visits.rowCount())]
    assert "Dog on premises" in warned


def test_repeated_wrong_passwords_show_a_countdown(qtbot: Any, local_profile, make_window) -> None:
    window = make_window(local_profile)
    screen = window.unlock_screen
    for _ in range(3):
        screen.password.setText("wrong password here")
        qtbot.waitUntil(screen.go.isEnabled, timeout=20_000)
        screen.go.click()
        qtbot.waitUntil(lambda: window.work.pending == 0, timeout=20_000)
    assert screen.wait_label.isVisible()
    assert "You can try again in" in screen.wait_label.text()
    assert not screen.go.isEnabled()


def test_find_a_case_by_search_and_add_a_note(qtbot: Any, local_profile, make_window) -> None:
    window = make_window(local_profile)
    unlock(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    main = window.main
    assert main is not None
    assert main.search.hasFocus() and main.cases.search is main.search  # the header's
    qtbot.keyClicks(main.cases.search, "robin")
    assert main.pages.currentIndex() == PAGE_CASES  # typing shows the list it filters
    qtbot.waitUntil(lambda: main.cases.model.rowCount() == 1, timeout=5000)
    model = main.cases.model
    # (the first line: a narrow list folds the type under the person)
    assert model.data(model.index(0, CaseListModel.COL_PERSON)).split("\n")[0] == "Robin Hughes"
    qtbot.keyClick(main.cases.search, Qt.Key.Key_Return)
    qtbot.keyClick(main.cases.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=5000)
    assert main.pages.currentIndex() == PAGE_CASE
    view = main.case_view
    view.tabs.setCurrentIndex(1)
    notes = view.notes_tab
    notes.note_box.setFocus()
    qtbot.keyClicks(notes.note_box, "Visited at home. Damp in back bedroom.")
    qtbot.keyClick(notes.note_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: notes.notes.rowCount() == 1, timeout=5000)
    assert notes.notes.data(notes.notes.index(0, NoteModel.COL_SENT)) == "Waiting to send"
    assert notes.note_box.toPlainText() == ""
    assert window.sync is not None
    qtbot.waitUntil(lambda: window.sync.state.pending >= 1, timeout=5000)
    # the summary is validated in plain words, then Esc goes back to the list
    view.tabs.setCurrentIndex(0)
    summary = view.summary_tab
    summary.summary.setPlainText("   ")
    summary.save_summary.click()
    wait_idle(qtbot, window)
    # the core's rule, in its words, by the summary
    line = summary.fields["summary"][1]
    assert line.isVisible()
    assert line.text() == "Write a short summary of the case. It cannot be empty."
    assert summary.summary.property("invalid") is True
    summary.summary.setPlainText("Damp in the back bedroom; landlord told.")
    summary.phone.setText("01308 555 0101")
    summary.save_summary.click()
    wait_idle(qtbot, window)
    assert view.detail is not None and view.detail.summary.endswith("landlord told.")
    assert view.detail.person["phone"] == "01308 555 0101"
    assert view.header.person_line.text().startswith("Robin Hughes")
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert main.pages.currentIndex() == PAGE_CASES


def test_auto_lock_returns_to_the_same_place_with_the_draft(
    qtbot: Any, local_profile, make_window, clock
) -> None:
    window = make_window(local_profile)
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    main.go(PAGE_CASES)
    wait_idle(qtbot, window)
    main.cases.view.setCurrentIndex(main.cases.model.index(0, 1))
    case_id = main.cases.model.row_at(0).case_id
    main.open_case(case_id, "notes")
    wait_idle(qtbot, window)
    main.case_view.note_box.setFocus()
    qtbot.keyClicks(main.case_view.note_box, "Half-written note")
    clock.advance(window.prefs.auto_lock_minutes * 60 + 1)
    with qtbot.waitSignal(window.locked, timeout=5000):
        pass
    assert window.is_locked
    assert window.main is None  # the contents are gone, not just hidden
    assert window.stack.currentWidget() is window.unlock_screen
    wait_idle(qtbot, window)
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    assert main.pages.currentIndex() == PAGE_CASE
    assert main.case_view.case_id == case_id
    assert main.case_view.current_tab() == "notes"
    assert main.case_view.note_box.toPlainText() == "Half-written note"


def test_a_draft_survives_a_crash(qtbot: Any, local_profile: Path, make_window) -> None:
    """The draft reaches the encrypted profile while typing, so a killed window loses nothing:
    a real window in a child process types a note and is killed with SIGKILL once the draft is
    saved; a new window, in this process, unlocks the profile and finds the note half-written."""
    typed = "Typed before the battery died"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ui.draft_crash_child", str(local_profile), PASSWORD, typed],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.startswith("saved "), f"the child said {line!r}: {child.stderr.read()}"
        assert child.poll() is None  # still running: the draft was saved while typing
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    case_id = UUID(line.split()[1])
    raw = b"".join(p.read_bytes() for p in local_profile.glob("fieldcase.db*"))
    assert typed.encode() not in raw  # saved encrypted, data file and write-ahead log alike

    window = make_window(local_profile)
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    main.open_case(case_id, "notes")
    wait_idle(qtbot, window)
    assert main.case_view.note_box.toPlainText() == typed


def main_is_quiet(window: Any) -> bool:
    return window.main is None or not window.main.messages.isVisible()


def test_new_case_with_ctrl_n(qtbot: Any, local_profile, make_window) -> None:
    window = make_window(local_profile)
    unlock(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = window._new_case_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.create_button.click()
    wait_idle(qtbot, window)
    # the core refuses; its words show in the dialog, by the field, and the dialog stays
    assert dialog.isVisible()
    name_line = dialog.field_lines["person.name"][1]
    assert name_line.isVisible() and "full name" in name_line.text()
    assert dialog.person.hasFocus()
    assert not dialog.error.isVisible()
    assert main_is_quiet(window)
    qtbot.keyClicks(dialog.person, "Chris Wood")
    dialog.create_button.click()
    wait_idle(qtbot, window)
    summary_line = dialog.field_lines["summary"][1]
    assert dialog.isVisible() and not name_line.isVisible()
    assert summary_line.text() == "Write a short summary of the case. It cannot be empty."
    dialog.summary.setPlainText("Needs a grab rail in the bathroom.")
    dialog.warning.setText("Lone-worker risk: visit in pairs")
    dialog.create_button.click()
    main = window.main
    assert main is not None
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=5000)
    detail = main.case_view.detail
    assert detail.person_name == "Chris Wood"
    banner = main.case_view.header.banner
    assert banner.isVisible()
    assert "Lone-worker risk" in banner.text.text()
    assert window.sync is not None
    qtbot.waitUntil(lambda: window.sync.state.pending >= 3, timeout=5000)  # case, person, warning


def test_mark_a_visit_done_with_its_note(qtbot: Any, local_profile, make_window) -> None:
    window = make_window(local_profile)
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    day = main.my_day
    assert day.model.rowCount() == 2
    day.view.setCurrentIndex(day.model.index(0, 0))
    day.done_button.click()
    assert day.done_panel.isVisible()
    qtbot.keyClicks(day.done_note, "Seen at home; all well.")
    qtbot.keyClick(day.done_note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: day.model.rowCount() == 1, timeout=5000)
    assert not day.done_panel.isVisible()
    window.close()
    with Profile.open(local_profile, PASSWORD, backup=False) as profile:
        core = Casework(profile)
        details = [core.get_case(ref, record_view=False) for ref in core.refs()]
        done = [d for d in details if any(v.status == "done" for v in d.visits)]
        assert len(done) == 1
        assert [n.text for n in done[0].notes] == ["Seen at home; all well."]


def test_add_and_open_a_document_kept_encrypted(
    qtbot: Any, tmp_path, local_profile, make_window, dialogs
) -> None:
    from app.ui.case_documents import DocumentViewer
    from app.ui.qt import QColor, QPixmap

    picture = QPixmap(40, 30)
    picture.fill(QColor("#1d70b8"))
    photo = tmp_path / "damp-wall.png"
    assert picture.save(str(photo))
    dialogs.files_to_add.append(photo)
    window = make_window(local_profile)
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    main.go(PAGE_CASES)
    wait_idle(qtbot, window)
    main.open_case(main.cases.model.row_at(0).case_id, "documents")
    wait_idle(qtbot, window)
    view = main.case_view.documents_tab
    view.add_document_button.click()
    qtbot.waitUntil(lambda: view.documents.rowCount() == 1, timeout=10_000)
    assert view.documents.row_at(0).name == "damp-wall.png"
    assert not view.documents.row_at(0).sent
    stored = list((local_profile / "documents").iterdir())
    assert stored and photo.read_bytes() not in stored[0].read_bytes()
    view.documents_view.setCurrentIndex(view.documents.index(0, 0))
    view.open_document_button.click()
    qtbot.waitUntil(lambda: bool(view.findChildren(DocumentViewer)), timeout=10_000)
    viewer = view.findChildren(DocumentViewer)[0]
    assert viewer.windowTitle() == "damp-wall.png"
    viewer.reject()


def _open_case(qtbot: Any, window: Any, person: str) -> tuple[Any, Any]:
    """Unlock, and open the case of ``person`` on its summary; (main area, case view)."""
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    main.go(PAGE_CASES)
    wait_idle(qtbot, window)
    row = next(r for r in main.cases.model.rows() if r.person_name == person)
    main.open_case(row.case_id, "summary")
    wait_idle(qtbot, window)
    return main, main.case_view


def test_print_or_save_a_case_as_pdf_with_what_was_ticked(
    qtbot: Any, tmp_path, local_profile, make_window, dialogs
) -> None:
    import re

    from pypdf import PdfReader

    from app.ui.case_print import PrintChoice
    from tests.ui.test_accessibility import problems

    with Profile.open(local_profile, PASSWORD, backup=False) as profile:
        core = Casework(profile)
        ref = next(c.ref for c in core.list_cases() if c.person_name == "Pat Morgan")
        core.add_note(ref, "Spoke to the landlord about the damp.")
        core.add_note(ref, "Neighbour says the tenant is often away.")
    window = make_window(local_profile)
    main, view = _open_case(qtbot, window, "Pat Morgan")
    detail = view.case.detail
    assert detail is not None and detail.notes and detail.warnings
    view.header.print_button.click()
    qtbot.waitUntil(lambda: bool(view.findChildren(PrintChoice)), timeout=10_000)
    dialog = view.findChildren(PrintChoice)[0]
    assert problems(dialog) == []
    assert not dialog.warnings.isChecked()  # nothing beyond the basics unless ticked
    assert not any(check.isChecked() for check in dialog.notes.values())
    dialog.warnings.setChecked(True)
    first = detail.notes[0]
    dialog.notes[first.id].setChecked(True)
    target = tmp_path / "handout"
    dialogs.save_targets.append(target)
    dialog.save.click()
    made = tmp_path / "handout.pdf"
    qtbot.waitUntil(made.exists, timeout=20_000)
    wait_idle(qtbot, window)
    assert "printed record was saved" in main.messages.text.text()
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(made).pages))
    assert "Pat Morgan" in text and detail.warnings[0].text in text
    assert " ".join(first.text.split()) in text
    for other in detail.notes[1:]:
        assert " ".join(other.text.split()) not in text


def test_print_sends_the_pages_to_the_chosen_printer(
    qtbot: Any, tmp_path, local_profile, make_window, dialogs
) -> None:
    from pypdf import PdfReader

    from app.ui.case_print import PrintChoice
    from app.ui.qt import QPrinter

    window = make_window(local_profile)
    main, view = _open_case(qtbot, window, "Pat Morgan")
    paper = tmp_path / "paper.pdf"  # the "printer": Qt writing what it was sent to a file
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(paper))
    dialogs.printers.append(printer)
    view.header.print_button.click()
    qtbot.waitUntil(lambda: bool(view.findChildren(PrintChoice)), timeout=10_000)
    dialog = view.findChildren(PrintChoice)[0]
    dialog.print.click()
    qtbot.waitUntil(lambda: "sent to the printer" in main.messages.text.text(), timeout=20_000)
    assert "printer" in dialogs.asked
    assert paper.exists() and len(PdfReader(paper).pages) == 1
    view.reload()  # the history now says it was printed
    wait_idle(qtbot, window)
    detail = view.case.detail
    assert detail is not None
    assert [r.action for r in detail.history].count("printed") == 1
