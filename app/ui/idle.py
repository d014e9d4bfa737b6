"""Auto-lock's clock: notices input anywhere in the window and says when the person has
been away for the idle time (the window then locks itself)."""

from __future__ import annotations

from app.ui.qt import QApplication, QEvent, QGuiApplication, QObject, QTimer, QWindow, Signal
from sync.clock import Clock


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
        self.last = clock.monotonic()
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
        self.last = self.clock.monotonic()
        self.armed = True
        self._watch()
        self.timer.start()

    def disarm(self) -> None:
        self.armed = False
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.INPUT:
            self.last = self.clock.monotonic()
        return False

    def check(self) -> None:
        self._watch()
        if self.armed and self.clock.monotonic() - self.last >= self.minutes * 60:
            self.disarm()
            self.idle.emit()
