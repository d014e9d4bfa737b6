"""Locks the window before the laptop sleeps (the lid closed, the sleep button, a low
battery), so a laptop that wakes in someone else's hands shows the lock screen, not a case.

On Linux, systemd-logind announces ``PrepareForSleep(true)`` on the system bus just before the
computer suspends; only logind may send it there. Where there is no such bus (Windows, a
desktop without logind) nothing is heard, and waking is caught instead by the idle watcher
(:mod:`app.ui.idle`), which locks on a gap in time and on a jump of the clock.
"""

from __future__ import annotations

import logging

from PySide6.QtDBus import QDBusConnection

from app.ui.qt import QObject, Signal, Slot

log = logging.getLogger("fieldcase.ui.sleep")

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"


class SleepWatcher(QObject):
    """Says (:attr:`going_to_sleep`) when the computer is about to suspend."""

    going_to_sleep = Signal()

    def __init__(self, bus: QDBusConnection | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus if bus is not None else QDBusConnection.systemBus()
        self.listening = bool(self.bus.isConnected()) and self.bus.connect(  # type: ignore[call-overload]  # PySide6 takes the slot's text as str
            LOGIND,
            LOGIND_PATH,
            LOGIND_MANAGER,
            "PrepareForSleep",
            self,
            "2_prepare_for_sleep(bool)",  # Qt's SLOT() text for the slot below
        )
        if not self.listening:
            log.info("no announcement of sleep to listen for: waking is caught instead")

    @Slot(bool)
    def _prepare_for_sleep(self, going: bool) -> None:
        if going:
            log.info("the computer is going to sleep: locking")
            self.going_to_sleep.emit()
