"""Start the window: the application object, theme and logging, then the event loop."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.ui import prefs as prefs_file
from app.ui import theme
from app.ui.core_backend import CoreGate
from app.ui.qt import QApplication
from app.ui.window import FieldcaseWindow

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
    """Show the window for ``profile_dir`` and run until it closes."""
    app = application()
    saved = prefs_file.load(profile_dir)
    theme.apply(app, saved.text_size, saved.high_contrast)
    gate = CoreGate(profile_dir, site=site, server_url=server_url)
    window = FieldcaseWindow(gate, site=site, demo_login=demo_login)
    window.show()
    try:
        return app.exec()
    finally:
        if on_close is not None:
            on_close()
        logging.shutdown()


def main() -> int:
    from app.logs import setup_logging
    from app.paths import resolve_profile_dir
    from app.site import load_site_config

    setup_logging()
    site = load_site_config()
    profile = resolve_profile_dir(sys.argv[1] if len(sys.argv) > 1 else None)
    return run(profile, site=site)


def leave(code: int) -> None:
    """Exit without Python tearing down Qt objects one by one (PySide6 6.12 can crash there
    after everything is saved and closed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
