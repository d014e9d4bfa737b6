"""Locks the window before the laptop sleeps (the lid closed, the sleep button, a low
battery), so a laptop that wakes in someone else's hands shows the lock screen, not a case.

On Linux, systemd-logind announces ``PrepareForSleep(true)`` on the system bus just before the
computer suspends; only logind may send it there. On Windows, every top-level window gets
``WM_POWERBROADCAST`` with ``PBT_APMSUSPEND`` before the computer suspends; a native event
filter on the application hears it. Where neither comes (a desktop without logind) waking is
caught instead by the idle watcher (:mod:`app.ui.idle`), which locks on a gap in time and on
a jump of the clock.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtDBus import QDBusConnection

from app.ui.qt import QAbstractNativeEventFilter, QCoreApplication, QObject, Signal, Slot

log = logging.getLogger("fieldcase.ui.sleep")

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"


WINDOWS_MESSAGE = b"windows_generic_MSG"  # Qt's name for a native Windows message
WM_POWERBROADCAST = 0x0218
PBT_APMSUSPEND = 0x0004


class _Msg(ctypes.Structure):
    """The start of Windows' MSG structure, as it lies in memory (64-bit and 32-bit)."""

    _fields_ = (
        ("hwnd", ctypes.c_void_p),
        ("message", ctypes.c_uint),
        ("wParam", ctypes.c_size_t),
        ("lParam", ctypes.c_ssize_t),
    )


class PowerFilter(QAbstractNativeEventFilter):
    """Hears Windows say it is about to suspend, among the messages Qt dispatches."""

    def __init__(self, on_suspend: Callable[[], None]) -> None:
        super().__init__()
        self._on_suspend = on_suspend

    def nativeEventFilter(self, eventType: Any, message: Any) -> tuple[bool, int]:
        kind = bytes(eventType.data()) if hasattr(eventType, "data") else bytes(eventType)
        if kind == WINDOWS_MESSAGE and message:
            msg = _Msg.from_address(int(message))
            if msg.message == WM_POWERBROADCAST and msg.wParam == PBT_APMSUSPEND:
                log.info("Windows is going to sleep: locking")
                self._on_suspend()
        return False, 0  # never swallowed: Qt and Windows carry on as usual


class SleepWatcher(QObject):
    """Says (:attr:`going_to_sleep`) when the computer is about to suspend."""

    going_to_sleep = Signal()

    def __init__(self, bus: QDBusConnection | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.power_filter: PowerFilter | None = None
        app = QCoreApplication.instance()
        if sys.platform == "win32" and app is not None:
            power = self.power_filter = PowerFilter(self.going_to_sleep.emit)
            app.installNativeEventFilter(power)
            # a window closed while the program goes on must not be called on any more
            self.destroyed.connect(lambda: app.removeNativeEventFilter(power))
        self.bus = bus if bus is not None else QDBusConnection.systemBus()
        self.listening = bool(self.bus.isConnected()) and self.bus.connect(  # type: ignore[call-overload]  # PySide6 takes the slot's text as str
            LOGIND,
            LOGIND_PATH,
            LOGIND_MANAGER,
            "PrepareForSleep",
            self,
            "2_prepare_for_sleep(bool)",  # Qt's SLOT() text for the slot below
        )
        if not self.listening and self.power_filter is None:
            log.info("no announcement of sleep to listen for: waking is caught instead")

    @Slot(bool)
    def _prepare_for_sleep(self, going: bool) -> None:
        if going:
            log.info("the computer is going to sleep: locking")
            self.going_to_sleep.emit()
