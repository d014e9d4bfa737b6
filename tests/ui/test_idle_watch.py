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


def test_waking_from_sleep_or_a_jump_of_the_clock_locks_and_sleep_counts_as_idle(
    qtbot: Any,
) -> None:
    from datetime import timedelta

    clock = ManualClock()
    watcher = IdleWatcher(clock)

    def locks_after(move: Any) -> bool:
        watcher.arm(15)
        fired: list[bool] = []
        watcher.idle.connect(lambda: fired.append(True))
        move()
        watcher.check()
        watcher.idle.disconnect()
        return bool(fired)

    assert not locks_after(lambda: clock.advance(1))  # an ordinary second
    assert not locks_after(lambda: clock.advance(14 * 60))  # busy: checks were late, not asleep
    assert locks_after(lambda: clock.suspend(30))  # lid closed half a minute: locked on waking
    assert not locks_after(lambda: clock.suspend(5))  # a blink is not a sleep
    assert locks_after(lambda: clock.set(clock.now() + timedelta(hours=3)))  # set forward
    assert locks_after(lambda: clock.set(clock.now() - timedelta(minutes=10)))  # set back


def test_the_systems_idle_clock_counts_the_time_asleep_on_linux() -> None:
    import sys
    import time

    from sync.clock import SystemClock

    clock = SystemClock()
    if sys.platform.startswith("linux"):  # boot time: the monotonic clock plus every sleep
        asleep_so_far = clock.awake_or_asleep() - clock.monotonic()
        assert asleep_so_far >= -0.01  # (read a moment apart)
        assert abs(clock.awake_or_asleep() - time.clock_gettime(time.CLOCK_BOOTTIME)) < 1
