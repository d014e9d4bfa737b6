"""The window never blocks: a GUI-thread timer keeps firing while 5,000 cases arrive."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app import online
from app.ui.core_backend import CoreGate
from app.ui.qt import QTimer
from app.ui.window import PAGE_CASES
from tests.support.server import TEST_PASSWORD, admin, running_server, sqlite_url
from tests.ui.conftest import unlock, wait_idle
from tests.ui.test_flows_service import QUICK

ROOT = Path(__file__).resolve().parents[2]
CASES = 5000


class GapMeter:
    """A 20 ms timer on the GUI thread; remembers the longest wait between two ticks."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.largest = 0.0
        self.ticks = 0

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.largest = max(self.largest, now - self.last)
        self.last = now
        self.ticks += 1

    def stop(self) -> None:
        self.timer.stop()
        self._tick()


@pytest.mark.slow
def test_gui_thread_keeps_running_during_a_5000_case_sync(
    qtbot: Any, tmp_path: Path, make_window
) -> None:
    db = sqlite_url(tmp_path)
    assert admin(db, "add-team", "South").returncode == 0
    made = admin(db, "add-user", "zoe", "--team", "South", password=TEST_PASSWORD)
    assert made.returncode == 0, made.stderr
    with running_server(db) as srv:
        folder = tmp_path / "laptop"
        online.enrol(folder, srv.url, "zoe", TEST_PASSWORD, options=QUICK)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.ui.seed_server",
                db,
                "South",
                "zoe",
                TEST_PASSWORD,
                str(CASES),
            ],
            check=True,
            cwd=ROOT,
        )
        window = make_window(folder, gate=CoreGate(folder, client_options=QUICK))
        unlock(qtbot, window, TEST_PASSWORD)
        assert window.sync is not None and window.main is not None
        meter = GapMeter()
        meter.start()
        with qtbot.waitSignal(window.sync.finished, timeout=600_000) as finished:
            window.sync_now()
        meter.stop()
        report = finished.args[0]
        assert getattr(report, "received", 0) >= CASES, report
        assert meter.ticks > 10
        assert meter.largest < 1.0, f"the GUI thread stalled for {meter.largest:.2f} s"
        window.main.go(PAGE_CASES)
        wait_idle(qtbot, window)
        assert window.main.cases.model.total == CASES
