"""The window (offscreen) in a process of its own, for the crash test: unlock, open the first
case's notes, type, wait until the draft is saved, say so, then keep running until killed.

    python -m tests.ui.draft_crash_child PROFILE_DIR PASSWORD TEXT

Prints ``saved <case id>`` once the draft has reached the profile, then nothing more: the
test kills it with SIGKILL, so no clean-up code of the window or the store gets to run.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtTest import QTest

from app.ui.core_backend import CoreGate
from app.ui.qt import QApplication
from app.ui.window import PAGE_CASES, FieldcaseWindow
from sync.clock import ManualClock
from tests.ui.conftest import ScriptedDialogs


def wait_until(app: QApplication, done: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def main(folder: Path, password: str, text: str) -> None:
    app = QApplication.instance() or QApplication([])
    window = FieldcaseWindow(
        CoreGate(folder), clock=ManualClock(datetime.now(UTC)), dialogs=ScriptedDialogs()
    )
    window.show()
    idle = lambda: window.work.pending == 0  # noqa: E731
    window.unlock_screen.password.setText(password)
    window.unlock_screen.go.click()
    wait_until(app, lambda: window.main is not None and idle(), "the unlock")
    main_view = window.main
    assert main_view is not None
    main_view.go(PAGE_CASES)
    wait_until(app, idle, "the case list")
    case_id = main_view.cases.model.row_at(0).case_id
    main_view.open_case(case_id, "notes")
    wait_until(app, idle, "the case")
    QTest.keyClicks(main_view.case_view.note_box, text)
    wait_until(app, lambda: idle() and not window.drafts._dirty, "the draft to be saved")
    print(f"saved {case_id}", flush=True)
    while True:  # as a window does: alive, handling events, until the battery dies
        app.processEvents()
        time.sleep(0.05)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
