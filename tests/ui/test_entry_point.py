"""``fieldcase`` with no command opens the window, in a source install as in the bundle; with
no screen it says so in one line (exit code 1); the commands never load Qt."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main as cli_main
from app.ui import app as window_app
from app.ui.qt import QApplication, QTimer
from app.ui.screen import NO_SCREEN, has_screen
from app.ui.start import EnrolScreen
from app.ui.window import FieldcaseWindow

ROOT = Path(__file__).resolve().parents[2]
DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def no_screen_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARS}
    env["PYTHONPATH"] = str(ROOT)
    env["FIELDCASE_LOG_DIR"] = str(tmp_path / "logs")
    env["FIELDCASE_PROFILE"] = str(tmp_path / "profile")
    env.pop("FIELDCASE_SITE_CONFIG", None)
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux desktop's variables")
@pytest.mark.parametrize(
    "command",
    [["-m", "app.cli.main"], ["-m", "app.cli.main", "--profile", "elsewhere"], ["-m", "app.ui"]],
    ids=["fieldcase", "fieldcase --profile", "python -m app.ui"],
)
def test_with_no_screen_one_line_and_exit_code_1(tmp_path: Path, command: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, *command],
        env=no_screen_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [NO_SCREEN]
    assert "fieldcase --help" in NO_SCREEN
    assert not (tmp_path / "profile").exists()


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["doctor", "--help"]])
def test_the_commands_never_load_qt(tmp_path: Path, argv: list[str]) -> None:
    script = (
        "import sys\n"
        "from app.cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('Qt loaded' if any(m.startswith('PySide6') for m in sys.modules) else 'no Qt')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=no_screen_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "no Qt"


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen:size=800x600"}, "linux", True),
        ({"QT_QPA_PLATFORM": "vnc"}, "linux", True),
        ({"QT_QPA_PLATFORM": ""}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland-egl"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({}, "freebsd14", False),
        ({}, "win32", True),
        ({}, "darwin", True),
    ],
)
def test_which_systems_have_a_screen(env: dict[str, str], platform: str, expected: bool) -> None:
    assert has_screen(env, platform) is expected


def test_no_command_opens_the_real_window_for_the_profile(
    qapp: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("FIELDCASE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("FIELDCASE_PROFILE", str(tmp_path / "not-this-one"))
    monkeypatch.delenv("FIELDCASE_SITE_CONFIG", raising=False)
    folder = tmp_path / "chosen"
    runs: list[Path] = []
    left: list[int] = []
    real_run = window_app.run

    def run(profile_dir: Path, **kwargs: Any) -> int:
        runs.append(profile_dir)
        return real_run(profile_dir, **kwargs)

    monkeypatch.setattr(window_app, "run", run)
    monkeypatch.setattr(window_app, "leave", left.append)
    seen: dict[str, Any] = {}
    tries = iter(range(3000))

    def close_when_shown() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, FieldcaseWindow) and widget.isVisible():
                seen["profile"] = Path(widget.gate.profile_dir)
                seen["screen"] = widget.stack.currentWidget()
                widget.close()  # the last window closing ends the event loop...
                break
        else:
            if next(tries, None) is not None:
                QTimer.singleShot(10, close_when_shown)
                return
        if any(w.isVisible() for w in QApplication.topLevelWidgets()):
            QApplication.quit()  # ...unless another test left one open (quit only once)

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    QTimer.singleShot(0, close_when_shown)
    try:
        code = cli_main(["--profile", str(folder)])
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
    assert code == 0
    assert runs == [folder]
    assert seen["profile"] == folder
    assert isinstance(seen["screen"], EnrolScreen)  # no profile there yet: set up first
    assert left == [0]  # the process ends once the window has closed
