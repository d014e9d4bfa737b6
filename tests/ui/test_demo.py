"""``make run``: the demo seeds and starts a service, enrols a laptop, shows the demo
sign-in, and stops the service when the window closes."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.ui.qt import QApplication, QTimer
from app.ui.window import FieldcaseWindow
from tools import demo


@pytest.mark.slow
def test_make_run_end_to_end(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("FIELDCASE_DEMO_DIR", str(tmp_path))  # the demo's folder, not the user's
    seen: dict[str, Any] = {}

    def look_and_close() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, FieldcaseWindow)]
        if not windows:
            QTimer.singleShot(100, look_and_close)
            return
        window = windows[0]
        seen["screen"] = window.stack.currentWidget() is window.unlock_screen
        seen["hint"] = window.unlock_screen.demo_hint.text()
        window.close()

    QTimer.singleShot(100, look_and_close)
    assert demo.main() == 0
    assert seen["screen"] is True
    assert "ben.carter" in seen["hint"] and demo.DEMO_PASSWORD in seen["hint"]
    assert (tmp_path / demo.SEEDED_MARKER).exists()
    assert (tmp_path / "laptop" / "key.json").exists()
    url = re.search(r"http://127\.0\.0\.1:\d+", capsys.readouterr().out)
    assert url is not None
    with pytest.raises((urllib.error.URLError, OSError)):
        urllib.request.urlopen(url.group(0) + "/health", timeout=2)  # noqa: S310 - stopped
