"""Every screen: each visible control has a name a person would understand, and the main
actions can be reached with Tab alone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAccessible

from app.ui.qt import QAbstractButton as Button
from app.ui.qt import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    Qt,
    QTabBar,
    QTextEdit,
    QWidget,
)
from app.ui.window import PAGE_CASES, PAGE_CLASHES, PAGE_MY_DAY, PAGE_SETTINGS, FieldcaseWindow
from tests.ui.conftest import unlock, wait_idle

INTERACTIVE = (
    Button,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
    QPlainTextEdit,
    QTextEdit,
    QTabBar,
)
#: parts of composite controls that Qt names through their owner
INNER_PARTS = (QComboBox, QAbstractSpinBox, QAbstractItemView, QTabBar, QLineEdit)


def accessible_name(widget: QWidget) -> str:
    """The name a screen reader announces: the explicit accessible name when set (on Linux
    Qt reports a combo box's current text as its name and relies on label relations),
    else what Qt derives (a button's text)."""
    if widget.accessibleName().strip():
        return widget.accessibleName().strip()
    iface = QAccessible.queryAccessibleInterface(widget)
    return (iface.text(QAccessible.Text.Name) if iface is not None else "").strip()


def visible_controls(root: QWidget) -> list[QWidget]:
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisible():
            continue
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        parent = widget.parentWidget()
        inner = False
        while parent is not None and parent is not root:
            if isinstance(parent, INNER_PARTS):
                inner = True
                break
            parent = parent.parentWidget()
        if not inner:
            found.append(widget)
    return found


def problems(root: QWidget) -> list[str]:
    bad = []
    for widget in visible_controls(root):
        name = accessible_name(widget)
        cls = type(widget).__name__
        if (
            not name
            or name == widget.objectName()
            or name == cls
            or not re.search(r"[A-Za-z]{2}", name)
        ):
            bad.append(f"{cls} {widget.objectName()!r} named {name!r}")
    return bad


def tab_reach(qtbot: Any, window: FieldcaseWindow, start: QWidget, steps: int = 80) -> set[int]:
    """Widgets focused by pressing Tab from ``start`` (ids)."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    top = start.window()
    seen: set[int] = set()
    for _ in range(steps):
        current = top.focusWidget()
        if current is None:
            break
        seen.add(id(current))
        qtbot.keyClick(current, Qt.Key.Key_Tab)
    return seen


def test_start_screens_are_named_and_tabbable(qtbot: Any, tmp_path: Path, make_window) -> None:
    window = make_window(tmp_path / "fresh")
    assert window.stack.currentWidget() is window.enrol_screen
    assert problems(window) == []
    enrol = window.enrol_screen
    reached = tab_reach(qtbot, window, enrol.server)
    for control in (enrol.username, enrol.password, enrol.new_password, enrol.confirm, enrol.go):
        assert id(control) in reached, accessible_name(control)


def test_every_screen_of_an_open_profile(qtbot: Any, local_profile, make_window) -> None:
    window = make_window(local_profile, demo_login="Demo: the password is on the sticker")
    assert problems(window) == []  # the unlock screen
    unlock_screen = window.unlock_screen
    reached = tab_reach(qtbot, window, unlock_screen.password)
    assert {id(unlock_screen.go), id(unlock_screen.forgot_button)} <= reached
    unlock_screen.forgot_button.click()
    assert window.stack.currentWidget() is window.recovery_screen
    assert problems(window) == []
    window.recovery_screen.back_button.click()

    strays = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not window]
    assert strays == []  # no control escaped its screen as a window of its own
    unlock(qtbot, window)
    main = window.main
    assert main is not None and window.sync_line is not None
    for page in (PAGE_MY_DAY, PAGE_CASES, PAGE_CLASHES, PAGE_SETTINGS):
        main.go(page)
        wait_idle(qtbot, window)
        assert problems(window) == [], page
    main.go(PAGE_MY_DAY)
    wait_idle(qtbot, window)
    reached = tab_reach(qtbot, window, main.nav)
    day = main.my_day
    for control in (
        main.search,
        main.lock_button,
        day.team,
        day.view,
        day.open_button,
        day.done_button,
        window.sync_line.sync_button,
    ):
        assert id(control) in reached, accessible_name(control)
    # recording what came of a visit: its panel's controls are named and reached in turn
    day.view.setCurrentIndex(day.model.index(0, 0))
    day.done_button.click()
    wait_idle(qtbot, window)
    assert problems(window) == []
    reached = tab_reach(qtbot, window, day.outcome)
    for control in (day.outcome, day.done_note, day.save_done, day.cancel_done):
        assert id(control) in reached, accessible_name(control)
    day.cancel_done.click()

    main.go(PAGE_CASES)
    wait_idle(qtbot, window)
    cases = main.cases
    reached = tab_reach(qtbot, window, main.nav)
    for control in (
        cases.new_button,
        cases.search,
        cases.status,
        cases.mine,
        cases.view,
        cases.open_button,
    ):
        assert id(control) in reached, accessible_name(control)

    main.open_case(cases.model.row_at(0).case_id, "summary")
    wait_idle(qtbot, window)
    view = main.case_view
    for tab in range(view.tabs.count()):
        view.tabs.setCurrentIndex(tab)
        wait_idle(qtbot, window)
        assert problems(window) == [], view.tabs.tabText(tab)
    view.tabs.setCurrentIndex(1)
    reached = tab_reach(qtbot, window, view.header.back_button)
    notes = view.notes_tab
    for control in (view.tabs.tabBar(), notes.notes_view, notes.note_box, notes.save_note):
        assert id(control) in reached, accessible_name(control)
    view.tabs.setCurrentIndex(0)  # the person's details with the case's
    reached = tab_reach(qtbot, window, view.header.back_button)
    summary = view.summary_tab
    for control in (
        summary.name,
        summary.birth,
        summary.contact,
        summary.language,
        summary.access,
        summary.save_summary,
    ):
        assert id(control) in reached, accessible_name(control)
    view.tabs.setCurrentIndex(4)  # warnings added and retired
    reached = tab_reach(qtbot, window, view.header.back_button)
    warnings = view.warnings_tab
    for control in (
        warnings.list,
        warnings.text,
        warnings.category,
        warnings.add_button,
        warnings.retire_button,
    ):
        assert id(control) in reached, accessible_name(control)

    window.new_case()
    dialog = window._new_case_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    assert problems(dialog) == []
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)


def test_the_walker_catches_unnamed_and_class_named_controls(qtbot: Any) -> None:
    root = QWidget()
    qtbot.addWidget(root)
    box = QLineEdit(root)
    box.setObjectName("searchBox")
    combo = QComboBox(root)
    combo.setAccessibleName("QComboBox")
    root.show()
    found = problems(root)
    assert len(found) == 2
    box.setAccessibleName("searchBox")
    assert len(problems(root)) == 2
    box.setAccessibleName("Search cases")
    combo.setAccessibleName("Status filter")
    assert problems(root) == []
