"""Start the window: the application object, theme and logging, then the event loop."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from app.logs import LOG_FILE
from app.paths import log_dir
from app.ui import prefs as prefs_file
from app.ui import theme
from app.ui.core_backend import CoreGate
from app.ui.crash import CrashReporter
from app.ui.qt import QApplication
from app.ui.single import SingleInstance
from app.ui.window import FieldcaseWindow
from sync.clock import SystemClock

log = logging.getLogger("fieldcase.ui")


def application(argv: Sequence[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("Fieldcase")
    app.setApplicationDisplayName("Fieldcase")
    return app


def run(
    profile_dir: Path,
    *,
    site: Any = None,
    demo_login: str = "",
    server_url: str = "",
    on_close: Callable[[], None] | None = None,
) -> int:
    """Show the window for ``profile_dir`` and run until it closes; if it is open already
    (another launch), bring that one to the front instead and return 0."""
    app = application()
    instance = SingleInstance(profile_dir)
    if not instance.claim():
        print("Fieldcase is open already for this profile: its window was brought to the front.")
        return 0
    saved = prefs_file.load(profile_dir)
    theme.apply(app, saved.text_size, saved.high_contrast)
    clock = SystemClock()  # the window's one clock: the profile it opens reads time from it too
    gate = CoreGate(profile_dir, site=site, server_url=server_url, clock=clock)
    window = FieldcaseWindow(gate, site=site, demo_login=demo_login, clock=clock)
    crashes = CrashReporter(log_dir() / LOG_FILE, window)
    crashes.install()
    window.show()
    instance.raise_requested.connect(lambda: _to_front(window))
    try:
        return app.exec()
    finally:
        instance.release()
        if on_close is not None:
            on_close()
        logging.shutdown()


def _to_front(window: FieldcaseWindow) -> None:
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.ui [PROFILE_DIR]`` and ``fieldcase [--profile DIR]`` with no command:
    the window for that profile (else env FIELDCASE_PROFILE, else the user data folder), or
    one line on stderr and exit code 1 when there is no screen to show it on."""
    from app.logs import setup_logging
    from app.paths import resolve_profile_dir
    from app.site import load_site_config
    from app.ui.screen import NO_SCREEN, has_screen

    args = list(sys.argv[1:] if argv is None else argv)
    if not has_screen():
        print(NO_SCREEN, file=sys.stderr)
        return 1
    setup_logging()
    site = load_site_config()
    profile = resolve_profile_dir(args[0] if args else None)
    return run(profile, site=site)


def leave(code: int) -> NoReturn:
    """Exit without Python tearing down Qt objects one by one (PySide6 6.12 can crash there
    after everything is saved and closed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
