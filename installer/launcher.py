"""Entry point of the built Fieldcase bundle (PyInstaller runs this file).

With no command the desktop window opens (``fieldcase`` or ``fieldcase --profile DIR``); with
a command (``fieldcase init``, ``fieldcase doctor``...) the command line runs, exactly as
``python -m app.cli.main`` would.

Two switches exist for the packaging tests and the benchmark. They are read from the
environment so that they can never collide with a command-line option, and they go through
the real start-up path (application, theme, site policy, profile gate, main window):

* ``FIELDCASE_SMOKE_UNLOCK_PNG=PATH``: start the window, wait until its unlock (or, with no
  profile yet, enrol) screen is showing, save the window as a PNG at PATH and exit 0.
* ``FIELDCASE_EXIT_WHEN_SHOWN=1``: the same without the PNG: exit as soon as that screen is
  on screen (the cold-start benchmark times this).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from typing import Any

SMOKE_PNG = "FIELDCASE_SMOKE_UNLOCK_PNG"
EXIT_WHEN_SHOWN = "FIELDCASE_EXIT_WHEN_SHOWN"
SMOKE_TIMEOUT_SECONDS = 60.0
#: The screens that count as "the app is ready for the person" (app/ui/start.py).
FIRST_SCREENS = ("UnlockScreen", "EnrolScreen")

#: Where the window's entry point may live, most likely first.
UI_ENTRY_POINTS: tuple[tuple[str, str], ...] = (
    ("app.ui.app", "main"),
    ("app.ui.main", "main"),
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


def _window_profile(args: list[str]) -> str | None:
    """The profile of ``fieldcase --profile DIR`` with no command; '' for plain ``fieldcase``;
    None when the arguments are a command for the CLI."""
    if not args:
        return ""
    if len(args) == 2 and args[0] == "--profile":
        return args[1]
    if len(args) == 1 and args[0].startswith("--profile="):
        return args[0].split("=", 1)[1]
    return None


def run_window(profile: str) -> int:
    if profile:
        os.environ["FIELDCASE_PROFILE"] = profile
    entry = _find(UI_ENTRY_POINTS)
    if entry is None:
        print(
            "This build of Fieldcase has no window. Run `fieldcase --help` to see the commands.",
            file=sys.stderr,
        )
        return 2
    sys.argv = sys.argv[:1]  # the window reads its profile from FIELDCASE_PROFILE
    takes_args = bool(inspect.signature(entry).parameters)
    return int((entry([]) if takes_args else entry()) or 0)


def smoke_first_screen(png_path: str | None) -> int:
    """Start the window the normal way; once its first screen shows, save it and exit."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from app.logs import setup_logging
    from app.paths import resolve_profile_dir
    from app.site import load_site_config
    from app.ui.app import application, run

    qapp = application()
    outcome = {"code": 1}
    deadline = time.monotonic() + SMOKE_TIMEOUT_SECONDS

    def ready_screen() -> Any:
        for widget in QApplication.topLevelWidgets():
            if not widget.isVisible():
                continue
            for child in widget.findChildren(QWidget):
                if type(child).__name__ in FIRST_SCREENS and child.isVisible():
                    return widget
        return None

    def poll() -> None:
        window = ready_screen()
        if window is None:
            if time.monotonic() > deadline:
                print("The window did not show its first screen in time.", file=sys.stderr)
                qapp.exit(1)
            return
        timer.stop()
        if png_path is None:
            outcome["code"] = 0
        else:
            outcome["code"] = 0 if window.grab().save(png_path, "PNG") else 1
        window.close()
        qapp.quit()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(poll)
    timer.start()
    setup_logging()
    run(resolve_profile_dir(None), site=load_site_config())
    return outcome["code"]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get(SMOKE_PNG) or os.environ.get(EXIT_WHEN_SHOWN) == "1":
        profile = _window_profile(args)
        if profile:
            os.environ["FIELDCASE_PROFILE"] = profile
        return smoke_first_screen(os.environ.get(SMOKE_PNG) or None)
    profile = _window_profile(args)
    if profile is not None:
        return run_window(profile)
    from app.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
