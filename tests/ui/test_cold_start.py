"""Cold start: the unlock screen must not wait for the store, the core or the sync client.

SQLAlchemy, SQLModel, Alembic and requests take more than a second to load on a council
laptop, and nothing on the unlock screen needs them; they are loaded on the DB worker once the
password is accepted. Each check runs in a fresh Python process, so that nothing this test
session already imported can hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.profile import make_profile

ROOT = Path(__file__).resolve().parents[2]

#: Modules the unlock screen must not load (they are only needed after unlock).
AFTER_UNLOCK = ("alembic", "sqlalchemy", "sqlmodel", "requests", "app.core", "app.store")

IMPORT_ONLY = f"""
import json, sys
import app.ui.app
print(json.dumps([name for name in {AFTER_UNLOCK!r} if name in sys.modules]))
"""

#: Start the window the way ``app.ui.app.main`` does and report, the moment the unlock screen
#: is on screen, which of the modules above are loaded.
SHOW_UNLOCK = f"""
import json, os, sys, time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.app import application, run

qapp = application()
outcome = {{"shown": False, "loaded": None}}
deadline = time.monotonic() + 45.0

def poll() -> None:
    for window in QApplication.topLevelWidgets():
        for child in window.findChildren(QWidget):
            if type(child).__name__ == "UnlockScreen" and child.isVisible():
                outcome["shown"] = True
                outcome["loaded"] = [n for n in {AFTER_UNLOCK!r} if n in sys.modules]
                timer.stop()
                window.close()
                qapp.quit()
                return
    if time.monotonic() > deadline:
        timer.stop()
        qapp.quit()

timer = QTimer()
timer.setInterval(10)
timer.timeout.connect(poll)
timer.start()
run(__import__("pathlib").Path(sys.argv[1]))
print(json.dumps(outcome), flush=True)
os._exit(0)
"""


def _child_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["FIELDCASE_LOG_DIR"] = str(tmp_path / "logs")
    env["PYTHONPATH"] = str(ROOT)
    for name in ("FIELDCASE_SITE_CONFIG", "FIELDCASE_PROFILE", "FIELDCASE_PASSWORD"):
        env.pop(name, None)
    return env


def _run(code: str, tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=_child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_importing_the_window_loads_no_store_or_sync_client(tmp_path: Path) -> None:
    loaded = json.loads(_run(IMPORT_ONLY, tmp_path))
    assert loaded == [], f"importing app.ui.app loaded {loaded}"


def test_the_unlock_screen_shows_without_loading_the_store(tmp_path: Path) -> None:
    folder = tmp_path / "profile"
    make_profile(folder).close()  # a real profile, so the window opens on its unlock screen
    outcome = json.loads(_run(SHOW_UNLOCK, tmp_path, str(folder)))
    assert outcome["shown"], "the unlock screen did not show"
    assert outcome["loaded"] == [], f"showing the unlock screen loaded {outcome['loaded']}"
