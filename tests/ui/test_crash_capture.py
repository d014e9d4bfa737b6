"""An error nobody expected, in the window's code or a worker thread (issue 15): written to
the log under an incident id with no case content, and shown as one plain message with that
id; the window carries on."""

from __future__ import annotations

import faulthandler
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from app.ui.crash import CrashReporter
from app.ui.qt import QTimer, QWidget


@pytest.mark.qt_no_exception_capture
def test_an_unexpected_error_is_logged_and_said_plainly(
    qtbot: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    was = faulthandler.is_enabled()
    request.addfinalizer(lambda: faulthandler.enable(sys.__stderr__) if was else None)
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    reporter = CrashReporter(tmp_path / "fieldcase.log", window)
    reporter.install()

    content = "Mrs Jones at 4 " + "Mill Lane"  # case content: never in the log

    def broken_slot() -> None:
        raise ValueError(content)

    with caplog.at_level(logging.ERROR, logger="fieldcase.ui.crash"):
        with qtbot.waitSignal(reporter.happened, timeout=5000) as seen:
            QTimer.singleShot(0, broken_slot)
        incident = seen.args[0]
        qtbot.waitUntil(lambda: reporter.shown is not None and reporter.shown.isVisible())
        assert reporter.shown is not None
        text = reporter.shown.text()
        assert f"incident number {incident}." in text and text.endswith("fieldcase.log")
        assert "What you saved is safe" in text
        assert window.isVisible()  # the window carries on

        worker = threading.Thread(target=broken_slot)
        with qtbot.waitSignal(reporter.happened, timeout=5000) as again:
            worker.start()
            worker.join()
    logged = caplog.text
    assert f"incident {incident}: unexpected ValueError" in logged
    assert f"incident {again.args[0]}: unexpected ValueError" in logged
    assert "Mill Lane" not in logged
    assert (tmp_path / "crash.log").exists()  # where a hard crash would be written
