"""My day is the worker's own day (the team's on request), at the visit's real address; the
case list shows warnings in words and flags overdue reviews; the keyboard path from the
search box: Enter opens the only or first case, Down goes to the list; a confirmation that
promises the next sync goes once a sync has run (issue 12)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.core import Casework
from app.store.profile import Profile
from app.ui.models import CaseListModel, VisitModel
from app.ui.qt import Qt
from app.ui.window import PAGE_CASE, PAGE_CASES
from sync.clock import ManualClock
from tests.ui.conftest import PASSWORD, unlock, wait_idle


def _column(model: Any, col: int) -> list[str]:
    """A column's cells, each by its first line (a folded list puts more under it)."""
    return [model.data(model.index(r, col)).split("\n")[0] for r in range(model.rowCount())]


def _someone_elses_case(folder: Path, clock: ManualClock) -> str:
    with Profile.open(folder, PASSWORD, clock=clock, backup=False) as profile:
        work = Casework(profile)
        ref = work.create_case(
            "housing_repair",
            "Kim Ode",
            {"summary": "Roof leak", "person.address": "7 Mill Lane, Ashby"},
        )
        work.edit_case(ref, {"assigned_to": "someone.else"})
        work.add_visit(ref, clock.now() + timedelta(hours=2), "Home address", "Roof check")
        work.add_warning(
            ref, "Lone-worker risk: visit in pairs, and phone the office when you leave", "risk"
        )
        # a review date that has passed on a case still open
        work.edit_case(ref, {"next_review": (clock.local_today() - timedelta(days=3)).isoformat()})
    return ref


def _text_at(window: Any, size: int) -> None:
    """The person's text size (the flows below run at 100% and at 200%) in a window the size
    of the smallest screen the window is made for (the test screen is smaller)."""
    from dataclasses import replace

    window.resize(1366, 768)
    if size != 100:
        window.apply_prefs(replace(window.prefs, text_size=size))


def _in_sight(button: Any) -> bool:
    """Shown whole: not hidden, not cut by the window's edge or scrolled away."""
    return bool(button.isVisible()) and button.visibleRegion().boundingRect().size() == (
        button.size()
    )


def _first_case(
    qtbot: Any, folder: Path, make_window: Any, tab: str | None = None, size: int = 100
) -> Any:
    """An unlocked window at ``size`` text showing the case of My day's first visit (at
    ``tab``)."""
    window = make_window(folder)
    unlock(qtbot, window)
    _text_at(window, size)
    main = window.main
    main.open_case(main.my_day.model.row_at(0).case_id, tab)
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=10_000)
    return window


@pytest.mark.parametrize("size", [100, 200])
def test_my_day_is_mine_and_the_teams_on_request(
    qtbot: Any, local_profile: Path, make_window: Any, clock: ManualClock, size: int
) -> None:
    ref = _someone_elses_case(local_profile, clock)
    window = make_window(local_profile)
    unlock(qtbot, window)
    _text_at(window, size)
    day = window.main.my_day
    assert ref not in _column(day.model, VisitModel.COL_REF)
    assert "on your cases" in day.summary.text()
    # 23:00 today is still to come at 09:05; the visit two days ago is overdue
    assert day.summary.text().startswith("1 visit or task to come today, 1 overdue")
    assert day.team.accessibleName()
    day.team.setChecked(True)
    qtbot.waitUntil(lambda: ref in _column(day.model, VisitModel.COL_REF), timeout=10_000)
    row = _column(day.model, VisitModel.COL_REF).index(ref)
    model = day.model
    assert model.data(model.index(row, VisitModel.COL_PLACE)) == "7 Mill Lane, Ashby"
    assert "someone.else's case" in model.data(model.index(row, VisitModel.COL_WHAT))
    warning = model.data(model.index(row, VisitModel.COL_WARN))
    assert warning.endswith("phone the office when you leave")
    # the row is tall enough for the whole warning: no line of it is cut off
    view = day.view
    needed = view.sizeHintForRow(row)
    assert view.rowHeight(row) >= needed
    day.team.setChecked(False)
    qtbot.waitUntil(lambda: ref not in _column(day.model, VisitModel.COL_REF), timeout=10_000)


@pytest.mark.parametrize("size", [100, 200])
def test_the_case_list_says_warnings_and_overdue_reviews_in_words(
    qtbot: Any, local_profile: Path, make_window: Any, clock: ManualClock, size: int
) -> None:
    ref = _someone_elses_case(local_profile, clock)
    window = make_window(local_profile)
    unlock(qtbot, window)
    _text_at(window, size)
    main = window.main
    main.go(PAGE_CASES)
    model = main.cases.model
    qtbot.waitUntil(lambda: ref in _column(model, CaseListModel.COL_REF), timeout=10_000)
    # a narrow list (200% text) folds its columns, once the new text size has gone round
    qtbot.waitUntil(lambda: model.compact == (size == 200), timeout=10_000)
    row = _column(model, CaseListModel.COL_REF).index(ref)
    warning = model.data(model.index(row, CaseListModel.COL_WARN))
    assert "Lone-worker risk: visit in pairs" in warning
    review = model.data(model.index(row, CaseListModel.COL_REVIEW))
    assert review.startswith("Review overdue: " if model.compact else "Overdue: ")
    # a narrow list (200% text) folds its columns, so nothing needs scrolling sideways
    assert model.compact == (size == 200)
    view = main.cases.view
    assert all(view.isColumnHidden(c) == model.compact for c in CaseListModel.FOLDED)
    shown = [c for c in range(model.columnCount()) if not view.isColumnHidden(c)]
    last = max(shown)
    right = view.columnViewportPosition(last) + view.columnWidth(last)
    assert right <= view.viewport().width() + 1
    assert model.data(model.index(row, CaseListModel.COL_REVIEW), Qt.ItemDataRole.ForegroundRole)
    view = main.cases.view
    assert view.rowHeight(row) >= view.sizeHintForRow(row)
    others = [r for r in range(model.rowCount()) if r != row]
    assert all("verdue" not in model.data(model.index(r, CaseListModel.COL_REVIEW)) for r in others)


def _searched(qtbot: Any, folder: Path, make_window: Any, text: str) -> Any:
    """An unlocked window with ``text`` typed into its search after Ctrl+F."""
    window = make_window(folder)
    unlock(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.main.cases.search.hasFocus()
    qtbot.keyClicks(window.main.cases.search, text)
    return window


def test_enter_in_search_opens_the_only_match_even_typed_quickly(
    qtbot: Any, local_profile: Path, make_window: Any
) -> None:
    window = _searched(qtbot, local_profile, make_window, "robin")
    main = window.main
    # Enter at once: the search is still to be answered when it comes
    qtbot.keyClick(main.cases.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=10_000)
    assert main.pages.currentIndex() == PAGE_CASE
    assert main.case_view.detail.person["name"] == "Robin Hughes"


def test_down_in_search_goes_to_the_first_case(
    qtbot: Any, local_profile: Path, make_window: Any
) -> None:
    window = _searched(qtbot, local_profile, make_window, "hughes")
    cases = window.main.cases
    qtbot.waitUntil(lambda: cases.model.rowCount() >= 1 and not cases._debounce.isActive())
    wait_idle(qtbot, window)
    qtbot.keyClick(cases.search, Qt.Key.Key_Down)
    assert cases.view.hasFocus()
    assert cases.view.currentIndex().row() == 0


def test_enter_on_a_search_with_no_match_says_so(
    qtbot: Any, local_profile: Path, make_window: Any
) -> None:
    window = _searched(qtbot, local_profile, make_window, "zzqx")
    main = window.main
    qtbot.keyClick(main.cases.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "No case matches" in main.messages.text.text(), timeout=10_000)
    assert main.pages.currentIndex() == PAGE_CASES
    assert main.case_view.detail is None


def test_ctrl_k_searches_from_anywhere_and_ctrl_l_locks(
    qtbot: Any, local_profile: Path, make_window: Any
) -> None:
    window = make_window(local_profile)
    unlock(qtbot, window)
    main = window.main
    assert main.pages.currentIndex() != PAGE_CASES  # My day
    main.my_day.view.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert main.search.hasFocus()
    assert main.search.accessibleName() and main.lock_button.accessibleName()
    qtbot.keyClicks(main.search, "sam")
    assert main.pages.currentIndex() == PAGE_CASES
    qtbot.keyClick(main.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=10_000)
    assert main.case_view.detail.person["name"] == "Sam Lee"
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.is_locked and window.main is None
    unlock(qtbot, window)
    assert not window.is_locked
    assert window.main.pages.currentIndex() == PAGE_CASE  # back where the person was
    window.main.lock_button.click()
    assert window.is_locked


def test_a_promise_of_the_next_sync_goes_once_a_sync_has_run(qtbot: Any) -> None:
    from app.errors import UsageError
    from app.ui.widgets import MessageBar

    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show_message("Note saved on this laptop. It will be sent at the next sync.")
    assert bar.isVisibleTo(bar.parentWidget() or bar) or not bar.isHidden()
    bar.synced()
    assert bar.isHidden() and bar.text.text() == ""
    bar.show_message("Settings saved.")
    bar.synced()
    assert not bar.isHidden()  # not about the sync: it stays (and fades)
    bar.show_error(UsageError("That reference is not on this laptop. Check it and try again."))
    bar.synced()
    assert not bar.isHidden()  # a problem stays until dismissed


@pytest.mark.parametrize("size", [100, 200])
def test_a_new_visit_starts_tomorrow_morning_at_the_persons_home(
    qtbot: Any, local_profile: Path, make_window: Any, clock: ManualClock, size: int
) -> None:
    window = make_window(local_profile)
    unlock(qtbot, window)
    _text_at(window, size)
    main = window.main
    first = main.my_day.model.row_at(0)
    main.open_case(first.case_id, tab="visits")
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=10_000)
    tab = main.case_view.visits_tab
    home = main.case_view.detail.person["address"]
    assert home and home in tab.visit_place.placeholderText()
    chosen = tab.visit_when.dateTime().toPython()
    tomorrow = clock.local_today() + timedelta(days=1)
    assert (chosen.date(), chosen.hour, chosen.minute) == (tomorrow, 10, 0)
    before = main.case_view.visits_tab.visits.rowCount()
    tab.visit_title.setText("Check the damp again")
    assert _in_sight(tab.add_visit_button)
    tab.add_visit_button.click()
    qtbot.waitUntil(lambda: tab.visits.rowCount() == before + 1, timeout=10_000)
    made = [v for v in main.case_view.detail.visits if v.title == "Check the damp again"]
    assert len(made) == 1 and made[0].place == home
    assert made[0].due.astimezone(clock.local_zone()).date() == tomorrow


def test_the_focus_frame_stays_inside_the_band_it_is_in(
    qtbot: Any, local_profile: Path, make_window: Any
) -> None:
    """It never paints over the header or the sync line (issue 12)."""
    from app.ui.qt import QPoint, QRect

    window = make_window(local_profile)
    unlock(qtbot, window)
    main = window.main
    ring = window.focus_ring

    def inside(control: Any, band: Any) -> bool:
        control.setFocus()
        qtbot.waitUntil(lambda: ring.isVisible(), timeout=5000)
        area = QRect(band.mapTo(window, QPoint(0, 0)), band.size())
        return area.contains(ring.geometry())

    top = main.search.parentWidget()
    assert inside(main.search, top) and inside(main.lock_button, top)
    # the list right under the header: its frame keeps out of the header
    assert inside(main.my_day.view, main.pages)
    line = window.sync_line
    assert line is not None and inside(line.sync_button, line)


def test_the_focus_frame_of_a_control_scrolled_half_away_stays_in_its_scroll_area(
    qtbot: Any, local_profile: Path, make_window: Any
) -> None:
    from app.ui.qt import QPoint, QRect

    window = _first_case(qtbot, local_profile, make_window)
    main = window.main
    window.resize(1000, 520)  # small enough that the summary scrolls
    summary = main.case_view.page_scroll
    status = main.case_view.summary_tab.status
    window.activateWindow()  # focus moves (and the frame follows) only in the active window
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    summary.ensureWidgetVisible(status)  # a control out of sight has no frame to show
    status.setFocus()
    qtbot.waitUntil(lambda: status.hasFocus() and window.focus_ring.isVisible(), timeout=5000)
    # scroll so that the control's top half is above the visible part
    at = status.mapTo(summary.widget(), QPoint(0, 0)).y()
    summary.verticalScrollBar().setValue(at + status.height() // 2)
    viewport = summary.viewport()
    area = QRect(viewport.mapTo(window, QPoint(0, 0)), viewport.size())
    ring = window.focus_ring
    # the frame follows within a few of its looks (four a second), however busy the machine
    qtbot.waitUntil(lambda: not ring.isVisible() or area.contains(ring.geometry()), timeout=5_000)


@pytest.mark.parametrize("size", [100, 200])
def test_the_person_is_edited_in_the_window_with_the_cores_checks(
    qtbot: Any, local_profile: Path, make_window: Any, size: int
) -> None:
    window = _first_case(qtbot, local_profile, make_window, "summary", size)
    main = window.main
    tab = main.case_view.summary_tab
    for control in (tab.name, tab.birth, tab.contact, tab.language, tab.access):
        assert control.accessibleName()
    # a date that is not one: refused by the field it names, nothing saved
    tab.birth.setText("31/02/1950")
    tab.save_summary.click()
    line = tab.fields["person.date_of_birth"][1]
    qtbot.waitUntil(line.isVisible, timeout=10_000)
    assert "day first" in line.text()
    tab.name.setText("Patricia Morgan")
    tab.birth.setText("30/04/1950")
    tab.contact.setCurrentIndex(tab.contact.findData("letter"))
    tab.language.setText("Welsh")
    tab.access.setText("Hard of hearing: face her when speaking")
    assert _in_sight(tab.save_summary)
    tab.save_summary.click()
    qtbot.waitUntil(
        lambda: (
            main.case_view.detail is not None
            and main.case_view.detail.person_name == "Patricia Morgan"
        ),
        timeout=10_000,
    )
    person = main.case_view.detail.person
    assert str(person["date_of_birth"]) == "1950-04-30"
    assert (person["preferred_contact"], person["language"]) == ("letter", "Welsh")
    assert person["access_needs"] == "Hard of hearing: face her when speaking"
    assert tab.birth.text() == "30 Apr 1950"  # shown back the one way dates are shown


@pytest.mark.parametrize("size", [100, 200])
def test_warnings_are_added_and_retired_on_an_existing_case(
    qtbot: Any, local_profile: Path, make_window: Any, size: int
) -> None:
    window = _first_case(qtbot, local_profile, make_window, "warnings", size)
    main = window.main
    view = main.case_view
    tab = view.warnings_tab
    assert view.current_tab() == "warnings" and tab.add_button.isVisible()
    before = [w.text for w in view.detail.warnings]
    tab.text.setText("Dog on premises: keep the gate shut")
    tab.category.setCurrentIndex(tab.category.findData("access"))
    assert _in_sight(tab.add_button)
    tab.add_button.click()
    qtbot.waitUntil(lambda: len(view.detail.warnings) == len(before) + 1, timeout=10_000)
    assert "Dog on premises: keep the gate shut" in view.header.banner.text.text()
    shown = [tab.list.item(i).text() for i in range(tab.list.count())]
    row = next(i for i, text in enumerate(shown) if "gate" in text)
    assert "Access, added by ajones" in shown[row]
    tab.list.setCurrentRow(row)
    assert _in_sight(tab.retire_button)
    tab.retire_button.click()
    qtbot.waitUntil(lambda: len(view.detail.warnings) == len(before), timeout=10_000)
    assert "gate" not in view.header.banner.text.text()
    retired = [
        h for h in view.detail.history if h.record_kind == "warning" and h.action == "changed"
    ]
    assert retired and retired[-1].actor == "ajones"


@pytest.mark.parametrize("size", [100, 200])
def test_a_visit_where_nobody_was_in_is_recorded_from_my_day(
    qtbot: Any, local_profile: Path, make_window: Any, size: int
) -> None:
    window = make_window(local_profile)
    unlock(qtbot, window)
    _text_at(window, size)
    main = window.main
    day = main.my_day
    first = day.model.row_at(0)
    day.view.setCurrentIndex(day.model.index(0, 0))
    assert _in_sight(day.done_button)
    day.done_button.click()
    assert day.done_panel.isVisible() and day.outcome.accessibleName()
    assert day.outcome.currentData() == "done"  # unless the person says otherwise
    day.outcome.setCurrentIndex(day.outcome.findData("not_in"))
    qtbot.keyClicks(day.done_note, "No answer; card left.")
    qtbot.waitUntil(lambda: _in_sight(day.save_done), timeout=5000)
    day.save_done.click()
    qtbot.waitUntil(
        lambda: first.visit_id not in [r.visit_id for r in day.model.rows()], timeout=10_000
    )
    assert "not in" in main.messages.text.text()
    main.open_case(first.case_id, "visits")
    qtbot.waitUntil(lambda: main.case_view.detail is not None, timeout=10_000)
    visits = main.case_view.visits_tab.visits
    states = [visits.data(visits.index(r, VisitModel.COL_STATE)) for r in range(visits.rowCount())]
    assert "Not in" in states


def test_my_day_folds_its_columns_at_large_text_so_the_warnings_stay_in_sight(
    qtbot: Any, local_profile: Path, make_window: Any
) -> None:
    from dataclasses import replace

    window = make_window(local_profile)
    unlock(qtbot, window)
    window.resize(1600, 900)
    day = window.main.my_day
    qtbot.waitUntil(lambda: not day.model.compact, timeout=5000)
    assert not any(day.view.isColumnHidden(c) for c in VisitModel.FOLDED)
    window.apply_prefs(replace(window.prefs, text_size=200))
    qtbot.waitUntil(lambda: day.model.compact, timeout=5000)
    assert all(day.view.isColumnHidden(c) for c in VisitModel.FOLDED)
    view = day.view
    warn = VisitModel.COL_WARN
    right = view.columnViewportPosition(warn) + view.columnWidth(warn)
    assert view.columnViewportPosition(warn) >= 0 and right <= view.viewport().width() + 1
    model = day.model
    rows = range(model.rowCount())
    assert any(
        model.data(model.index(r, VisitModel.COL_WHEN)).startswith("Overdue\n") for r in rows
    )
    person = model.data(model.index(0, VisitModel.COL_PERSON))
    assert model.row_at(0).ref in person  # the case's reference folded under the person
