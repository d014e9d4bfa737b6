"""The window fits the screen (issue 12): shown as the app shows it, on a 1280x720 screen, a
1366x768 laptop and a 1920x1080 screen at 150% display scaling (1280x720 of room), at 100%,
150% and 200% text, in both themes, the window stays inside the screen's free area and each
primary button (Save changes, Save note, Sync now, New case, Lock) is wholly on screen and
not scrolled away. Each screen runs in a process of its own (``fit_child.py``): Qt's offscreen
screen is chosen when the application starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.profile import ROOT

CHILD = Path(__file__).with_name("fit_child.py")


@pytest.mark.parametrize(
    ("width", "height", "dpr"),
    [(1280, 720, "1.0"), (1366, 768, "1.0"), (1280, 720, "1.5")],
    ids=["1280x720", "1366x768", "1920x1080 at 150%"],
)
def test_the_window_and_its_main_buttons_fit_the_screen(
    tmp_path: Path, width: int, height: int, dpr: str
) -> None:
    ran = subprocess.run(
        [sys.executable, str(CHILD), str(width), str(height), dpr, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    lines = [line for line in ran.stdout.splitlines() if line.startswith("[")]
    assert lines, ran.stderr[-3000:]
    problems = json.loads(lines[-1])
    assert problems == [], "\n".join(problems)
