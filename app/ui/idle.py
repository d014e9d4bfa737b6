"""Auto-lock's clock: notices input anywhere in the window and says when the person has
been away for the idle time (the window then locks itself).

Idle time counts while the laptop sleeps (:meth:`sync.clock.Clock.awake_or_asleep`): a lid
closed for an hour is an hour idle. Waking from sleep locks at once, whatever the idle time,
and so does a jump of the wall clock (set back or forward by hand, or by a time server after
a long sleep): the person at the laptop now may not be the one who left it."""

from __future__ import annotations

import logging
from datetime import datetime

from app.ui.qt import QApplication, QEvent, QGuiApplication, QObject, QTimer, QWindow, Signal
from sync.clock import Clock

log = logging.getLogger("fieldcase.ui.idle")

#: The computer slept at least this long between two checks (its sleep-counting clock moved
#: on this much more than the clock that stops while asleep): the window locks. (Where both
#: count sleep, as on Windows, a long sleep still shows as idle time.)
SLEPT_AFTER_SECONDS = 20.0
#: The wall clock moving this much more (or less) than the time that passed: it jumped.
JUMP_SECONDS = 120.0


class IdleWatcher(QObject):
    """Notices input anywhere in the application; says when the idle time has passed.

    It watches the application's top-level windows (every input event reaches its window
    before any widget), not the whole application: an application-wide Python filter is
    called for every timer, paint and queued-call event too, and each call has to take
    Python's lock from the busy sync workers, which made the window stall for ~100 ms at a
    time during a large sync.
    """

    idle = Signal()
    INPUT = frozenset(
        {
            QEvent.Type.KeyPress,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.Wheel,
            QEvent.Type.TouchBegin,
        }
    )

    def __init__(self, clock: Clock, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.minutes = 10
        self.last = clock.awake_or_asleep()
        self.ticked = self._readings()  # the clocks when check last ran
        self.armed = False
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.check)
        app = QApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self._watch)

    def _watch(self, window: QWindow | None = None) -> None:
        """Filter input on ``window``, or on every top-level window (new dialogs and popups
        are picked up when they take focus, or within a second by :meth:`check`)."""
        windows = QGuiApplication.topLevelWindows() if window is None else [window]
        for each in windows:
            each.installEventFilter(self)  # installing again does not add a second filter

    def arm(self, minutes: int) -> None:
        self.minutes = minutes
        self.last = self.clock.awake_or_asleep()
        self.ticked = self._readings()
        self.armed = True
        self._watch()
        self.timer.start()

    def disarm(self) -> None:
        self.armed = False
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.INPUT:
            self.last = self.clock.awake_or_asleep()
        return False

    def _readings(self) -> tuple[float, float, datetime]:
        """The clock that counts sleep, the one that does not, and the wall clock."""
        return self.clock.awake_or_asleep(), self.clock.monotonic(), self.clock.now()

    def check(self) -> None:
        self._watch()
        if not self.armed:
            return
        before, now = self.ticked, self._readings()
        self.ticked = now
        passed = now[0] - before[0]
        reason = None
        if now[0] - self.last >= self.minutes * 60:
            reason = "idle"
        elif passed - (now[1] - before[1]) >= SLEPT_AFTER_SECONDS:
            reason = "the laptop was asleep"
        elif abs((now[2] - before[2]).total_seconds() - passed) >= JUMP_SECONDS:
            reason = "the clock jumped"
        if reason is not None:
            log.info("locking: %s", reason)
            self.disarm()
            self.idle.emit()
