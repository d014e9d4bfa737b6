"""The idle watcher sees input on any of the application's windows, and only input."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest

from app.ui.idle import IdleWatcher
from app.ui.qt import QApplication, Qt, QTimer, QWidget
from sync.clock import ManualClock


def _shown(qtbot: Any) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.resize(200, 120)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_input_on_any_window_counts_and_other_events_do_not(qtbot: Any) -> None:
    clock = ManualClock()
    main = _shown(qtbot)
    watcher = IdleWatcher(clock)
    watcher.arm(1)
    started = watcher.last

    clock.advance(30)
    QTest.keyClick(main.windowHandle(), Qt.Key.Key_A)
    assert watcher.last == started + 30

    clock.advance(20)
    fired: list[bool] = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired))
    main.update()
    QApplication.processEvents()
    assert watcher.last == started + 30  # timers and paints are not input

    dialog = _shown(qtbot)  # a window opened after arming
    watcher.check()
    clock.advance(5)
    QTest.mouseClick(dialog.windowHandle(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert watcher.last == started + 55

    clock.advance(60)
    with qtbot.waitSignal(watcher.idle, timeout=1000):
        watcher.check()
