"""The background-work API, the message bar, settings under site policy, and the layering
of the window's own modules."""

from __future__ import annotations

import ast
import threading
from pathlib import Path
from typing import Any

from app.errors import FieldcaseError
from app.site import SiteConfig
from app.ui import prefs as prefs_file
from app.ui.qt import QWidget
from app.ui.widgets import MessageBar
from app.ui.window import PAGE_SETTINGS
from app.ui.work import Work
from tests.ui.conftest import unlock, wait_idle

ROOT = Path(__file__).resolve().parents[2]


def test_results_arrive_on_the_gui_thread(qtbot: Any) -> None:
    work = Work()
    owner = QWidget()
    qtbot.addWidget(owner)
    seen: list[tuple[Any, bool]] = []
    work.run_db(
        owner,
        lambda: threading.current_thread().name,
        lambda name: seen.append((name, threading.current_thread() is threading.main_thread())),
    )
    qtbot.waitUntil(lambda: work.pending == 0)
    assert seen[0][0].startswith("fieldcase-db")
    assert seen[0][1] is True
    work.shutdown()


def test_a_closed_widget_gets_no_stale_callback(qtbot: Any) -> None:
    work = Work()
    gate = threading.Event()
    owner = QWidget()
    called: list[object] = []
    work.run_db(owner, gate.wait, called.append, called.append)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner))
    gate.set()
    qtbot.waitUntil(lambda: work.pending == 0)
    assert called == []
    work.shutdown()


def _alive(obj: Any) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)


def test_failures_without_a_handler_go_to_the_shared_display(qtbot: Any) -> None:
    work = Work()
    bar = MessageBar()
    qtbot.addWidget(bar)
    work.on_error = bar.show_error
    owner = QWidget()
    qtbot.addWidget(owner)

    def fail() -> None:
        raise FieldcaseError("That case is no longer on this laptop.", detail="case abc")

    work.run_db(owner, fail)
    qtbot.waitUntil(lambda: work.pending == 0)
    assert not bar.isHidden()
    assert bar.text.text() == "That case is no longer on this laptop."
    assert bar.details.toPlainText() == "case abc"
    assert bar.details.isHidden()
    bar.details_button.click()
    assert not bar.details.isHidden()

    work.run_db(owner, lambda: 1 / 0)
    qtbot.waitUntil(lambda: work.pending == 0)
    assert "Nothing you saved has been lost" in bar.text.text()
    assert "ZeroDivisionError" in bar.details.toPlainText()
    work.shutdown()


def test_settings_follow_site_policy(qtbot: Any, local_profile: Path, make_window) -> None:
    site = SiteConfig(
        server_url="https://fieldcase.example.gov.uk",
        max_auto_lock_minutes=5,
        sync_interval_minutes=7,
    )
    window = make_window(local_profile, site=site)
    unlock(qtbot, window)
    main = window.main
    assert main is not None
    main.go(PAGE_SETTINGS)
    wait_idle(qtbot, window)
    assert window.sync is not None
    assert window.sync.timer.isActive() and window.sync.timer.interval() == 7 * 60_000
    screen = main.settings
    assert screen.server.isReadOnly()
    assert screen.server.text() == "https://fieldcase.example.gov.uk"
    assert screen.auto_lock.maximum() == 5
    screen.auto_lock.setValue(99)
    assert screen.auto_lock.value() == 5
    screen.text_size.setCurrentIndex(screen.text_size.findData(150))
    screen.high_contrast.setChecked(True)
    screen.save.click()
    saved = prefs_file.load(local_profile)
    assert (saved.text_size, saved.high_contrast, saved.auto_lock_minutes) == (150, True, 5)
    assert window.idle.minutes == 5
    window.apply_prefs(prefs_file.Prefs())  # back to normal for the other tests
    # the screen shows what now applies, however it was set
    assert screen.text_size.currentData() == 100 and not screen.high_contrast.isChecked()
    assert screen.server.text() == "https://fieldcase.example.gov.uk"


def test_only_the_qt_module_imports_widgets_and_the_backend_imports_no_qt() -> None:
    offenders = {}
    for path in sorted((ROOT / "app" / "ui").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        qt = {n for n in names if n.startswith("PySide6")}
        if (path.name == "core_backend.py" and qt) or (
            path.name != "qt.py" and qt & {"PySide6.QtWidgets", "PySide6.QtGui"}
        ):
            offenders[path.name] = qt
    assert offenders == {}
