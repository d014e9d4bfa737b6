"""The window locks before the laptop sleeps (issue 15): systemd-logind's PrepareForSleep on
a bus, here a private D-Bus daemon (Debian's dbus) where the test owns logind's name and
announces a sleep as logind does. A sender that is not logind is not believed."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtDBus import QDBusConnection, QDBusMessage

from app.ui import sleep
from app.ui.qt import QByteArray, QCoreApplication, QObject
from app.ui.sleep import (
    LOGIND,
    LOGIND_MANAGER,
    LOGIND_PATH,
    PBT_APMSUSPEND,
    WINDOWS_MESSAGE,
    WM_POWERBROADCAST,
    PowerFilter,
    SleepWatcher,
    _Msg,
)


@pytest.fixture
def bus_address() -> Iterator[str]:
    daemon = shutil.which("dbus-daemon")
    assert daemon, "dbus-daemon is missing: .ci/run installs it (Debian's dbus)"
    process = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    try:
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def _announce(bus: QDBusConnection, going: bool) -> None:
    message = QDBusMessage.createSignal(LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep")
    message.setArguments([going])
    assert bus.send(message)


def test_the_window_is_told_before_the_computer_sleeps(qtbot: Any, bus_address: str) -> None:
    listener = QDBusConnection.connectToBus(bus_address, "fieldcase-listener")
    watcher = SleepWatcher(listener)
    assert watcher.listening
    stranger = QDBusConnection.connectToBus(bus_address, "stranger")
    told: list[bool] = []
    watcher.going_to_sleep.connect(lambda: told.append(True))
    _announce(stranger, True)  # not logind: not believed
    qtbot.wait(300)
    assert told == []

    logind = QDBusConnection.connectToBus(bus_address, "logind")
    assert logind.registerService(LOGIND)
    with qtbot.waitSignal(watcher.going_to_sleep, timeout=5000):
        _announce(logind, True)
    _announce(logind, False)  # waking up: nothing to do here (the lock screen is up)
    qtbot.wait(300)
    assert told == [True]
    for name in ("fieldcase-listener", "stranger", "logind"):
        QDBusConnection.disconnectFromBus(name)


def test_without_a_bus_nothing_is_heard_and_nothing_breaks(qtbot: Any) -> None:
    nowhere = QDBusConnection.connectToBus("unix:path=/nonexistent/bus", "nowhere")
    watcher = SleepWatcher(nowhere)
    assert not watcher.listening
    QDBusConnection.disconnectFromBus("nowhere")


def test_the_window_locks_when_told(qtbot: Any, local_profile: Any, make_window: Any) -> None:
    from tests.ui.conftest import unlock, wait_idle

    window = make_window(local_profile)
    unlock(qtbot, window)
    wait_idle(qtbot, window)
    assert not window.is_locked
    with qtbot.waitSignal(window.locked, timeout=5000):
        window.sleep.going_to_sleep.emit()
    assert window.is_locked and window.main is None


def _message(kind: int, wparam: int) -> _Msg:
    return _Msg(hwnd=None, message=kind, wParam=wparam, lParam=0)


def test_windows_suspend_message_is_heard_and_nothing_else() -> None:
    """Windows' WM_POWERBROADCAST(PBT_APMSUSPEND), laid out in memory as Windows lays out its
    MSG, is read by the filter Qt hands native messages to; nothing is swallowed."""
    heard: list[str] = []
    power = PowerFilter(lambda: heard.append("sleep"))
    suspend = _message(WM_POWERBROADCAST, PBT_APMSUSPEND)
    resume = _message(WM_POWERBROADCAST, 0x0012)  # PBT_APMRESUMEAUTOMATIC
    paint = _message(0x000F, PBT_APMSUSPEND)  # WM_PAINT, whatever its wParam
    assert power.nativeEventFilter(QByteArray(WINDOWS_MESSAGE), ctypes.addressof(suspend)) == (
        False,
        0,
    )
    assert heard == ["sleep"]
    for other in (resume, paint):
        power.nativeEventFilter(WINDOWS_MESSAGE, ctypes.addressof(other))
    power.nativeEventFilter(b"xcb_generic_event_t", ctypes.addressof(suspend))  # not Windows'
    power.nativeEventFilter(WINDOWS_MESSAGE, 0)  # no message at all
    assert heard == ["sleep"]
    assert ctypes.sizeof(_Msg) >= 4 * ctypes.sizeof(ctypes.c_void_p)  # hwnd..lParam


def test_on_windows_the_watcher_installs_the_filter_and_removes_it_with_the_window(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed: list[object] = []
    app = QCoreApplication.instance()
    assert app is not None
    monkeypatch.setattr(sleep.sys, "platform", "win32")
    monkeypatch.setattr(type(app), "installNativeEventFilter", lambda s, f: installed.append(f))
    monkeypatch.setattr(type(app), "removeNativeEventFilter", lambda s, f: installed.remove(f))
    owner = QObject()
    watcher = SleepWatcher(bus=QDBusConnection("nobody"), parent=owner)
    assert installed == [watcher.power_filter]
    told: list[bool] = []
    watcher.going_to_sleep.connect(lambda: told.append(True))
    suspend = _message(WM_POWERBROADCAST, PBT_APMSUSPEND)
    assert watcher.power_filter is not None
    watcher.power_filter.nativeEventFilter(WINDOWS_MESSAGE, ctypes.addressof(suspend))
    assert told == [True]
    owner.deleteLater()
    qtbot.waitUntil(lambda: installed == [])
