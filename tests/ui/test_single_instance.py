"""One window per profile (issue 15): a second launch brings the first window to the front
and ends; another profile opens its own; a lock left by a launch that was killed is taken
over. In-process with two claims, and with two real launches of the window."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.ui.single import SingleInstance, instance_name, private_folder

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_claim_raises_the_first_and_another_profile_has_its_own(
    qtbot: Any, tmp_path: Path
) -> None:
    short = Path(tempfile.mkdtemp(prefix="fc-"))  # a Unix socket's path must be short
    first = SingleInstance(tmp_path / "profile", short)
    assert first.name.startswith(str(short))
    assert first.claim()
    second = SingleInstance(tmp_path / "profile", short)
    with qtbot.waitSignal(first.raise_requested, timeout=5000):
        assert not second.claim()
    other = SingleInstance(tmp_path / "another", short)
    assert other.claim()
    assert instance_name(tmp_path / "profile") != instance_name(tmp_path / "another")
    first.release()
    other.release()
    again = SingleInstance(tmp_path / "profile", short)
    assert again.claim()  # the window closed: the next launch opens it
    again.release()
    deep = SingleInstance(tmp_path / "profile", tmp_path / ("x" * 120))  # too long a path
    assert deep.name == instance_name(tmp_path / "profile")  # Qt's own folder instead
    shutil.rmtree(short, ignore_errors=True)


def _window(profile: Path, logs: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FIELDCASE_LOG_DIR": str(logs),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app.ui", str(profile)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_two_launches_of_the_window_make_one_window_even_after_a_kill(tmp_path: Path) -> None:
    profile, logs = tmp_path / "profile", tmp_path / "logs"
    log = logs / "fieldcase.log"
    first = _window(profile, logs)
    try:
        lock = private_folder() / f"{instance_name(profile)}.lock"
        _wait_for(lock.exists, 60, "the first window never took its lock")
        second = _window(profile, logs)
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 0, out
        assert "open already for this profile" in out
        _wait_for(
            lambda: log.exists() and "a later launch asked for the window" in log.read_text(),
            30,
            "the first window was not asked to come to the front",
        )
        assert first.poll() is None  # the first window is still open
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # killed outright: its lock is left behind
        first.wait(timeout=30)
    third = _window(profile, logs)  # takes the dead launch's lock over and opens the window
    try:
        _wait_for(
            lambda: log.read_text().count("a later launch") == 1 and third.poll() is None,
            5,
            "the third launch did not stay open",
        )
        time.sleep(3)
        assert third.poll() is None, third.stdout.read() if third.stdout else ""
    finally:
        os.killpg(third.pid, signal.SIGKILL)
        third.wait(timeout=30)
