"""Entry point of the built Fieldcase bundle (PyInstaller runs this file).

With no command the desktop window opens; with a command (``fieldcase init``, ``fieldcase
doctor``...) the command line runs, exactly as ``python -m app.cli.main`` would.

Two switches exist for the packaging tests and the benchmark; they are read from the
environment so that they can never collide with a command-line option:

* ``FIELDCASE_SMOKE_UNLOCK_PNG=PATH``: build the unlock window, show it, save it as a PNG at
  PATH and exit (0 when the PNG was written).
* ``FIELDCASE_EXIT_WHEN_SHOWN=1``: the same, without writing a file: exit as soon as the
  unlock window is on screen (the cold-start benchmark measures this).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

SMOKE_PNG = "FIELDCASE_SMOKE_UNLOCK_PNG"
EXIT_WHEN_SHOWN = "FIELDCASE_EXIT_WHEN_SHOWN"

#: Where the window's entry point and unlock window may live, most likely first.
UI_ENTRY_POINTS: tuple[tuple[str, str], ...] = (
    ("app.ui.main", "main"),
    ("app.ui.app", "main"),
    ("app.ui", "main"),
)
UNLOCK_WINDOWS: tuple[tuple[str, str], ...] = (
    ("app.ui.unlock", "UnlockWindow"),
    ("app.ui.unlock", "UnlockDialog"),
    ("app.ui.unlock_window", "UnlockWindow"),
    ("app.ui.windows.unlock", "UnlockWindow"),
)


def _find(candidates: tuple[tuple[str, str], ...]) -> Callable[..., Any] | None:
    for module_name, attr in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            # Only "this candidate does not exist" is skipped; a missing dependency inside
            # an existing module is a real fault and must surface.
            if err.name and module_name.startswith(err.name):
                continue
            raise
        found = getattr(module, attr, None)
        if callable(found):
            return found
    return None


def _call_with_optional_argv(func: Callable[..., Any], argv: list[str]) -> int:
    try:
        takes_args = bool(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        takes_args = False
    result = func(argv) if takes_args else func()
    return int(result or 0)


def run_window(argv: list[str]) -> int:
    entry = _find(UI_ENTRY_POINTS)
    if entry is None:
        print(
            "This build of Fieldcase has no window. Run `fieldcase --help` to see the commands.",
            file=sys.stderr,
        )
        return 2
    return _call_with_optional_argv(entry, argv)


def smoke_unlock(png_path: str | None) -> int:
    """Show the unlock window, optionally save it as a PNG, and exit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    factory = _find(UNLOCK_WINDOWS)
    if factory is None:
        print("This build of Fieldcase has no unlock window.", file=sys.stderr)
        return 2
    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    window = _make_unlock_window(factory)
    window.show()
    outcome: dict[str, int] = {"code": 1}

    def capture() -> None:
        if png_path is None:
            outcome["code"] = 0
        else:
            pixmap = window.grab()
            outcome["code"] = 0 if pixmap.save(png_path, "PNG") else 1
        window.close()
        qapp.quit()

    QTimer.singleShot(0, capture)
    qapp.exec()
    return outcome["code"]


def _make_unlock_window(factory: Callable[..., Any]) -> Any:
    """Build the unlock window with whatever its constructor needs that has a default."""
    try:
        return factory()
    except TypeError:
        pass
    from pathlib import Path

    profile = Path(os.environ.get("FIELDCASE_PROFILE") or Path.cwd() / "fieldcase-smoke-profile")
    return factory(profile)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get(SMOKE_PNG) or os.environ.get(EXIT_WHEN_SHOWN) == "1":
        return smoke_unlock(os.environ.get(SMOKE_PNG) or None)
    if not args:
        return run_window(args)
    from app.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
