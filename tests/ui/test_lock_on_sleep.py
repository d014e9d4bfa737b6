"""The window locks before the laptop sleeps (issue 15): systemd-logind's PrepareForSleep on
a bus, here a private D-Bus daemon (Debian's dbus) where the test owns logind's name and
announces a sleep as logind does. A sender that is not logind is not believed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtDBus import QDBusConnection, QDBusMessage

from app.ui.sleep import LOGIND, LOGIND_MANAGER, LOGIND_PATH, SleepWatcher


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
